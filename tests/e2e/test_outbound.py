"""Outbound: long Markdown in chunks with entities, flood waits, every reply exactly once."""

from __future__ import annotations

from typing import Any

from telethon.tl import functions, types

from tests.e2e.conftest import OWNER_ID, Jobs, MakeJobs
from tests.fakes.anthropic import text
from tests.fakes.tl import utf16_len

ALICE, BOB = 111, 222
SendMessage = functions.messages.SendMessageRequest


def _long_markdown() -> str:
    para = "Paragraph {n} has **bold words** and `inline code`, then plain text to fill it up. "
    parts = ["# Weekly report", ""]
    parts += [para.format(n=n) * 6 for n in range(12)]
    parts += ["```python", *[f"print('line {n}')  # keep going" for n in range(60)], "```"]
    parts += [para.format(n=n) * 6 for n in range(12, 20)]
    return "\n\n".join(parts[:2]) + "\n".join(parts[2:])


def _to(chat_id: int) -> Any:
    return lambda request: getattr(request.peer, "user_id", None) == chat_id


async def test_a_long_markdown_reply_arrives_in_formatted_chunks(jobs: Jobs) -> None:
    markdown = _long_markdown()
    assert len(markdown) > 10_000
    jobs.model.push(text(markdown))
    await jobs.start()
    note = jobs.tg.outgoing(OWNER_ID, "the weekly report, please")
    await jobs.replies_to(OWNER_ID)
    await jobs.settled()

    chunks = jobs.delivered(OWNER_ID)
    assert len(chunks) >= 3
    assert all(utf16_len(c.message) <= 4096 for c in chunks)
    entities = [type(e) for c in chunks for e in c.entities or ()]
    assert types.MessageEntityBold in entities
    assert types.MessageEntityCode in entities
    assert types.MessageEntityPre in entities
    whole = "".join(c.message for c in chunks)
    assert "**" not in whole and "```" not in whole  # rendered, not shown as Markdown
    assert "print('line 59')" in whole
    assert jobs.answered(OWNER_ID) == [note.id]
    assert all(c.reply_to is None for c in chunks)  # nothing came in between: no quote
    # One outbox row for the whole reply; every chunk's id remembered as Jobs' own.
    [row] = jobs.query("SELECT state FROM outbox")
    assert row["state"] == "sent"
    remembered = {r["msg_id"] for r in jobs.query("SELECT msg_id FROM sent_messages")}
    assert remembered == {c.id for c in chunks}
    jobs.assert_sent_once()


async def test_a_flood_wait_delays_one_chat_but_not_the_others(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    jobs.tg.fail(SendMessage, "FLOOD_WAIT_3", code=420, when=_to(ALICE))
    await jobs.start()
    jobs.tg.incoming(ALICE, "alice asks")
    await jobs.tg.wait_for(SendMessage, _to(ALICE), timeout=30)  # refused: wait 3 s
    jobs.tg.incoming(BOB, "bob asks")
    assert await jobs.replies_to(BOB) == ["echo: bob asks"]
    assert jobs.sent_texts(ALICE) == []  # still waiting out the flood

    assert await jobs.replies_to(ALICE, within=15) == ["echo: alice asks"]
    await jobs.settled()
    first, again = jobs.send_requests(ALICE)
    assert first.random_id == again.random_id  # the same row resent, safe to repeat
    [row] = jobs.query("SELECT state, attempts FROM outbox WHERE chat_id = ?", (ALICE,))
    assert (row["state"], row["attempts"]) == ("sent", 2)
    jobs.assert_sent_once()


async def test_refused_formatting_is_resent_as_plain_text(jobs: Jobs) -> None:
    jobs.tg.fail(SendMessage, "ENTITY_BOUNDS_INVALID")
    jobs.model.push(text("This is **important**."))
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "anything important?")
    [reply] = await jobs.replies_to(OWNER_ID)
    await jobs.settled()

    assert reply == "This is important."
    formatted, plain = jobs.send_requests(OWNER_ID)
    assert formatted.entities and not plain.entities
    assert formatted.random_id == plain.random_id  # the same chunk, so never both delivered
    jobs.assert_sent_once()


async def test_an_hour_long_flood_wait_on_one_chat_blocks_no_other(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    jobs.tg.fail(SendMessage, "FLOOD_WAIT_3600", code=420, when=_to(ALICE))
    await jobs.start()
    jobs.tg.incoming(ALICE, "alice asks")
    await jobs.tg.wait_for(SendMessage, _to(ALICE), timeout=30)  # refused: wait an hour
    jobs.tg.incoming(BOB, "bob asks")
    jobs.tg.outgoing(OWNER_ID, "owner asks")
    assert await jobs.replies_to(BOB, within=30) == ["echo: bob asks"]
    replies = await jobs.replies_to(OWNER_ID, 2, within=30)  # the flood notice, the echo
    assert "echo: owner asks" in replies
    [row] = jobs.query("SELECT state, error, not_before FROM outbox WHERE chat_id = ?", (ALICE,))
    assert row["state"] == "pending" and row["not_before"] is not None
    assert "3600" in str(row["error"]) or "flood" in str(row["error"]).lower(), row["error"]
    assert jobs.sent_texts(ALICE) == []
