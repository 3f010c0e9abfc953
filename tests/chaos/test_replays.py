"""Telegram hands a message out again after kill -9 of a real `jobs run`: the update state in
the session file is saved at a clean stop, so a crash makes the next start catch up from an
older point and replay what was already answered. It is answered once, not twice."""

from __future__ import annotations

import signal
from typing import Any

from telethon.tl import functions, types

from tests.chaos.conftest import OWNER_ID, Child, Rig, wait_until
from tests.fakes.anthropic import Call, Turn, text

ANSWERS = {"what is the answer?": "Here is your answer.", "and now?": "Still here."}
GetDifference = functions.updates.GetDifferenceRequest


def answer(call: Call) -> Turn:
    for question, reply in ANSWERS.items():
        if question in call.last_user_text:
            return text(reply)
    return text(f"unexpected prompt: {call.last_user_text[-200:]}")


def handed_out(rig: Rig) -> list[int]:
    """Ids of the messages every getDifference hands out, in order."""
    original = rig.tg._handlers[GetDifference]
    ids: list[int] = []

    def recording(request: Any) -> Any:
        diff = original(request)
        if isinstance(diff, types.updates.Difference):
            ids.extend(m.id for m in diff.new_messages)
        return diff

    rig.tg.handle(GetDifference, recording)
    return ids


async def stop(rig: Rig, child: Child) -> None:
    await rig.settled()
    child.signal(signal.SIGTERM)
    assert await child.exit_code() == 0, child.log()[-3000:]


async def test_a_message_answered_before_kill_9_is_not_answered_again_when_replayed(
    rig: Rig,
) -> None:
    rig.model.default = answer
    await stop(rig, await rig.start_jobs())  # Telethon saves its update state: pts P
    second = await rig.start_jobs()
    question = rig.tg.outgoing(OWNER_ID, "what is the answer?")
    await wait_until(lambda: rig.created("Here is your answer."), what="the answer")
    await rig.settled()
    second.kill_group()  # the file still says P: the question is handed out again
    assert await second.exit_code() == -signal.SIGKILL

    replayed = handed_out(rig)
    third = await rig.start_jobs()
    await wait_until(lambda: question.id in replayed, what="the question replayed")
    rig.tg.outgoing(OWNER_ID, "and now?")
    await wait_until(lambda: rig.created("Still here."), what="the next answer")
    await stop(rig, third)

    assert len(rig.created("Here is your answer.")) == 1
    assert len(rig.sends("Here is your answer.")) == 1
    assert sum("what is the answer?" in c.last_user_text for c in rig.model.calls) == 1
    assert await rig.inbox_states() == {"answered": 2}
    assert await rig.outbox_states() == ["sent", "sent"]
