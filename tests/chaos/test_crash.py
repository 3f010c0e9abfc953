"""kill -9 and SIGTERM of a real `jobs run`: every message is answered exactly once afterwards."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from telethon.tl import functions

from jobs.storage import Database
from tests.chaos.conftest import OWNER_ID, Child, Rig, wait_until
from tests.fakes.anthropic import Call, Script, Turn, hang, text

QUESTION, REPLY = "what is the answer?", "Here is your answer."
ANSWERS = {
    QUESTION: REPLY,
    "first note": "Noted, first.",
    "second note": "Noted, second.",
    "third note": "Noted, third.",
}


def scripted(*, hold: set[str]) -> Script:
    """Answer each note from ANSWERS; hang (hold the turn) while its question is in `hold`."""

    def script(call: Call) -> Turn:
        said = call.last_user_text
        for question, answer in ANSWERS.items():
            if question in said:
                return hang() if question in hold else text(answer)
        return text(f"unexpected prompt: {said[-200:]}")

    return script


def hold_send(rig: Rig, reply: str, *, after_creating: bool) -> asyncio.Event:
    """Hold the first send of `reply` forever (the connection's end cancels it). Set once held.

    after_creating: Telegram has made the message but its answer never reaches Jobs (a resend
    then meets RANDOM_ID_DUPLICATE); else the request is lost before Telegram acts on it.
    """
    held = asyncio.Event()
    send = rig.tg._on_messages_send_message

    async def holding(req: Any) -> Any:
        if req.message != reply or held.is_set():
            return send(req)
        if after_creating:
            send(req)
        held.set()
        never: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        return await never  # the connection's end cancels it

    rig.tg.handle(functions.messages.SendMessageRequest, holding)
    return held


async def inbox_texts(rig: Rig) -> list[str]:
    async with await Database.open(rig.tmp_path / "data" / "db.sqlite") as db:
        return [str(row["text"]) for row in await db.fetch_all("SELECT text FROM inbox")]


async def stop(rig: Rig, child: Child) -> None:
    """Once every reply's send has come back (else a row stays `sending`, resent next time)."""
    await rig.settled()
    child.signal(signal.SIGTERM)
    assert await child.exit_code() == 0, child.log()[-3000:]


async def test_kill_9_mid_turn_then_restart_answers_exactly_once(rig: Rig) -> None:
    hold = {QUESTION}
    rig.model.default = scripted(hold=hold)
    first = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, QUESTION)
    await rig.model.wait_calls_async(1, timeout=20)  # the turn is running, its reply held
    assert await first.crash() == -signal.SIGKILL
    hold.clear()

    second = await rig.start_jobs()
    await wait_until(lambda: rig.sends(REPLY), what="the reply after the restart")
    await stop(rig, second)

    assert len(rig.sends(REPLY)) == 1
    assert len(rig.created(REPLY)) == 1
    assert QUESTION in rig.model.calls[-1].last_user_text
    assert await rig.inbox_states() == {"answered": 1}
    assert await rig.outbox_states() == ["sent"]


async def test_kill_9_while_the_reply_is_sent_before_telegram_has_it(rig: Rig) -> None:
    rig.model.default = scripted(hold=set())
    held = hold_send(rig, REPLY, after_creating=False)
    first = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, QUESTION)
    await asyncio.wait_for(held.wait(), 20)
    await first.crash()
    assert rig.created(REPLY) == []

    second = await rig.start_jobs()
    await wait_until(lambda: rig.created(REPLY), what="the reply after the restart")
    await stop(rig, second)

    lost, resent = rig.sends(REPLY)
    assert lost.random_id == resent.random_id  # the same outbox row, sent again
    assert len(rig.created(REPLY)) == 1
    assert len(rig.model.calls) == 1  # the turn is not run again: its reply was stored
    assert await rig.inbox_states() == {"answered": 1}
    assert await rig.outbox_states() == ["sent"]


async def test_kill_9_after_telegram_made_the_reply_is_not_sent_twice(rig: Rig) -> None:
    rig.model.default = scripted(hold=set())
    held = hold_send(rig, REPLY, after_creating=True)
    first = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, QUESTION)
    await asyncio.wait_for(held.wait(), 20)
    await first.crash()
    assert len(rig.created(REPLY)) == 1

    second = await rig.start_jobs()
    await wait_until(lambda: len(rig.sends(REPLY)) == 2, what="the resend after the restart")
    rig.tg.outgoing(OWNER_ID, "third note")  # answered after anything queued before it
    await wait_until(lambda: rig.sends("Noted, third."), what="the reply to the next note")
    await stop(rig, second)

    lost, resent = rig.sends(REPLY)
    assert lost.random_id == resent.random_id  # refused as RANDOM_ID_DUPLICATE
    assert len(rig.created(REPLY)) == 1
    assert await rig.inbox_states() == {"answered": 2}
    assert await rig.outbox_states() == ["sent", "sent"]


async def test_a_reply_made_but_unconfirmed_before_a_crash_is_not_taken_for_a_note(
    rig: Rig,
) -> None:
    """Telegram replays Jobs' own reply after the restart (catch-up from the saved state); it
    must not look like the owner writing in Saved Messages."""
    rig.model.default = scripted(hold=set())
    first = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, "first note")
    await wait_until(lambda: rig.sends("Noted, first."), what="the first reply")
    await stop(rig, first)  # saves Telegram's update state

    held = hold_send(rig, "Noted, second.", after_creating=True)
    second = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, "second note")
    await asyncio.wait_for(held.wait(), 20)
    await second.crash()

    third = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, "third note")
    await wait_until(lambda: rig.sends("Noted, third."), what="the reply to the third note")
    await stop(rig, third)

    assert "Noted, second." not in await inbox_texts(rig)
    assert len(rig.created("Noted, second.")) == 1
    assert await rig.inbox_states() == {"answered": 3}


async def test_sigterm_interrupts_the_turn_and_the_next_start_answers_it(rig: Rig) -> None:
    hold = {QUESTION}
    rig.model.default = scripted(hold=hold)
    first = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, QUESTION)
    await rig.model.wait_calls_async(1, timeout=20)
    loop = asyncio.get_running_loop()
    asked = loop.time()
    first.signal(signal.SIGTERM)
    assert await first.exit_code(within=10) == 0
    assert loop.time() - asked < 10
    assert rig.sends() == []  # no "Stopped." or error reply: the message waits for next time
    assert await rig.inbox_states() == {"processing": 1}
    hold.clear()

    second = await rig.start_jobs()
    await wait_until(lambda: rig.sends(REPLY), what="the reply after the restart")
    await stop(rig, second)
    assert len(rig.sends()) == 1
    assert await rig.inbox_states() == {"answered": 1}
