"""A flood wait of an hour on one chat: the owner is told once, the reply waits in the outbox
(not failed) while everyone else is answered, and goes out when the hour is over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from telethon.tl import functions

from tests.e2e.conftest import OWNER_ID, MakeJobs

ALICE = 111
SendMessage = functions.messages.SendMessageRequest


def _to(chat_id: int) -> Any:
    return lambda request: getattr(request.peer, "user_id", None) == chat_id


async def test_an_hour_long_flood_is_told_to_the_owner_once_and_the_reply_waits(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(external_users="all")
    jobs.tg.add_user(ALICE, "Alice", username="alice")
    jobs.tg.fail(SendMessage, "FLOOD_WAIT_3600", code=420, when=_to(ALICE))
    await jobs.start()
    jobs.tg.incoming(ALICE, "alice asks")
    [notice] = await jobs.replies_to(OWNER_ID)
    jobs.tg.incoming(ALICE, "alice again")  # waits behind the first reply
    jobs.tg.outgoing(OWNER_ID, "owner asks")
    await jobs.replies_to(OWNER_ID, 2)

    assert notice == (
        "Telegram asked me to wait about 60 min before I write to Alice (@alice) again. "
        "My messages to them are queued, not lost: they go out when the wait is over."
    )
    assert jobs.sent_texts(ALICE) == []
    await jobs.wait_for(
        lambda: len(jobs.query("SELECT 1 FROM outbox WHERE chat_id = ?", (ALICE,))) == 2,
        what="both replies to Alice stored",
    )
    first, second = jobs.query(
        "SELECT state, not_before FROM outbox WHERE chat_id = ? ORDER BY id", (ALICE,)
    )
    assert (first["state"], second["state"]) == ("pending", "pending")  # queued, not failed
    wait = datetime.fromisoformat(first["not_before"]) - datetime.now(UTC)
    assert timedelta(minutes=58) < wait <= timedelta(minutes=60)

    await jobs.due_now(ALICE)
    jobs.tg.outgoing(OWNER_ID, "anything from Alice?")  # its reply wakes the sender
    assert await jobs.replies_to(ALICE, 2) == ["echo: alice asks", "echo: alice again"]
    await jobs.settled()

    assert len(jobs.send_requests(ALICE)) == 3  # the refused one, then each reply once
    owner_texts = jobs.sent_texts(OWNER_ID)
    assert sum("Telegram asked me to wait" in t for t in owner_texts) == 1
    assert [r["state"] for r in jobs.query("SELECT state FROM outbox")] == ["sent"] * 5
