"""kill -9 of a real `jobs run` at each stage of a turn, then a restart: answered exactly once.

test_crash.py has the turn held at the model and the send held at Telegram; here, the stages
around them: the message committed but the model not called yet (the turn is downloading the
message's file), the model mid-stream (part of the reply streamed into its message in Saved
Messages, then silence), and the reply stored in the outbox but not sent (Telegram answered its
first send with a flood wait).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from telethon.tl import functions, types

from jobs.storage import Database
from tests.chaos.conftest import OWNER_ID, Rig, wait_until
from tests.fakes.anthropic import Call, Turn, stall, text

QUESTION, REPLY = "what does this file say?", "It says the rent is due on Friday."
Check = Callable[[Rig], Awaitable[bool]]


def answer(call: Call) -> Turn:
    if QUESTION in call.last_user_text:
        return text(REPLY)
    return text(f"unexpected prompt: {call.last_user_text[-200:]}")


def hold_first(rig: Rig, request: type) -> asyncio.Event:
    """The first `request` never gets an answer (the connection's end cancels it); set once held;
    later ones are answered as usual."""
    held = asyncio.Event()
    original = rig.tg._handlers[request]

    async def holding(req: Any) -> Any:
        if held.is_set():
            return original(req)
        held.set()
        never: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        return await never

    rig.tg.handle(request, holding)
    return held


def a_document(rig: Rig) -> Any:
    doc = rig.tg._document(
        next(rig.tg._id_seq), 7, "text/plain", [types.DocumentAttributeFilename("rent.txt")]
    )
    data = b"The rent is due on Friday.\n"
    doc.size = len(data)
    rig.tg.files[doc.id] = data
    return types.MessageMediaDocument(document=doc)


async def outbox_rows(rig: Rig) -> list[Any]:
    async with await Database.open(rig.tmp_path / "data" / "db.sqlite") as db:
        return list(await db.fetch_all("SELECT state, not_before, random_id FROM outbox"))


@dataclass(frozen=True)
class Stage:
    """How to reach one stage: arm the fakes, then ask; `reached` says when to kill."""

    arm: Callable[[Rig], Check]
    with_file: bool = False
    model_calls: tuple[int, int] = (1, 1)
    """Model calls when Jobs is killed, and over both runs."""
    send_attempts: int = 1
    """SendMessageRequests of the reply over both runs (refused ones too)."""


def before_the_model(rig: Rig) -> Check:
    """The inbox row is committed and taken; its turn downloads the file, which never comes."""
    held = hold_first(rig, functions.upload.GetFileRequest)

    async def reached(rig: Rig) -> bool:
        return held.is_set()

    return reached


def in_the_outbox(rig: Rig) -> Check:
    """The reply is stored; Telegram refused its first send (wait 2 s), so it waits, unsent."""
    send = functions.messages.SendMessageRequest
    rig.tg.fail(send, "FLOOD_WAIT_2", code=420, when=lambda r: r.message == REPLY)

    async def reached(rig: Rig) -> bool:
        rows = await outbox_rows(rig)
        return bool(rows) and rows[0]["state"] == "pending" and rows[0]["not_before"] is not None

    return reached


STAGES = {
    "after-inbox-commit-before-model": Stage(before_the_model, with_file=True, model_calls=(0, 1)),
    "after-outbox-write-before-send": Stage(in_the_outbox, send_attempts=2),
}


async def poll(rig: Rig, reached: Check, *, what: str, within: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not await reached(rig):
        if loop.time() > end:
            raise TimeoutError(f"never reached {what} within {within} s")
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("name", list(STAGES))
async def test_kill_9_at_a_stage_of_the_turn_then_restart_answers_exactly_once(
    rig: Rig, name: str
) -> None:
    stage = STAGES[name]
    rig.model.default = answer
    reached = stage.arm(rig)
    first = await rig.start_jobs()
    media = a_document(rig) if stage.with_file else None
    rig.tg.outgoing(OWNER_ID, QUESTION, media=media)
    await poll(rig, reached, what=name)
    first.kill_group()  # Jobs and its CLI at once, as a crashed service's cgroup
    assert await first.exit_code() == -signal.SIGKILL
    assert rig.created(REPLY) == []
    calls_before = len(rig.model.calls)

    second = await rig.start_jobs()
    await wait_until(lambda: rig.created(REPLY), what="the reply after the restart")
    await rig.settled()
    second.signal(signal.SIGTERM)
    assert await second.exit_code() == 0, second.log()[-3000:]

    assert len(rig.created(REPLY)) == 1
    assert [m.message for m in rig.tg.outbox] == [REPLY]  # nothing partial, nothing else
    assert not rig.tg.of(functions.messages.EditMessageRequest)
    assert len(rig.sends(REPLY)) == stage.send_attempts
    assert len({r.random_id for r in rig.sends(REPLY)}) == 1  # one outbox row, resent
    assert (calls_before, len(rig.model.calls)) == stage.model_calls
    assert await rig.inbox_states() == {"answered": 1}
    assert await rig.outbox_states() == ["sent"]


async def test_kill_9_mid_stream_leaves_one_message_that_becomes_the_whole_reply(
    rig: Rig,
) -> None:
    """The model streams the start of the reply (4 chars a delta), then goes silent; the owner
    already sees those first words in the message the reply streams into. After the restart
    that same message becomes the whole reply: no second message, nothing half-written left."""
    rig.model.push(stall(text(REPLY, chunk=4), after_events=4))
    rig.model.default = answer
    first = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, QUESTION)

    async def streaming(rig: Rig) -> bool:
        shown = [m for m in rig.tg.outbox if m.message and REPLY.startswith(m.message)]
        return bool(shown) and await preview_recorded(rig)

    await poll(rig, streaming, what="the reply's first words on screen")
    [partial] = rig.tg.outbox
    first.kill_group()
    assert await first.exit_code() == -signal.SIGKILL

    second = await rig.start_jobs()
    await wait_until(lambda: rig.created(REPLY), what="the reply after the restart")
    await rig.settled()
    second.signal(signal.SIGTERM)
    assert await second.exit_code() == 0, second.log()[-3000:]

    assert [m.message for m in rig.tg.outbox] == [REPLY]  # one message, the whole reply
    assert rig.tg.outbox[0].id == partial.id
    assert not rig.sends(REPLY)  # it became the reply by an edit, not a second send
    edits = rig.tg.of(functions.messages.EditMessageRequest)
    assert edits and all(e.id == partial.id for e in edits)
    assert len(rig.model.calls) == 2
    assert await rig.inbox_states() == {"answered": 1}
    assert await rig.outbox_states() == ["sent"]


async def preview_recorded(rig: Rig) -> bool:
    async with await Database.open(rig.tmp_path / "data" / "db.sqlite") as db:
        row = await db.fetch_one("SELECT msg_id FROM previews")
    return row is not None and row["msg_id"] is not None
