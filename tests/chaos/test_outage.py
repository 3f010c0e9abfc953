"""The model failing for minutes under a real `jobs run`: messages are kept (each chat told
once), a restart meanwhile loses nothing, and every message is answered once it is back."""

from __future__ import annotations

import os
import signal
from typing import Any

from telethon.tl import types

from jobs.conversation.outage import NOTICE, notice
from jobs.i18n.translator import english
from tests.chaos.conftest import OWNER_ID, Rig, group_members, wait_until
from tests.fakes.anthropic import Call, Turn, error, hang, text

ALICE = 111
ANSWERS = {
    "first note": "Noted, first.",
    "second note": "Noted, second.",
    "hello from alice": "Hi Alice.",
}


class Model:
    """The fake model's script: 529 to everything while `down`, else the answer to each note."""

    def __init__(self) -> None:
        self.down = True

    def __call__(self, call: Call) -> Turn:
        return error(529) if self.down else self.answer(call.last_user_text)

    @staticmethod
    def answer(said: str) -> Turn:
        for question, answer in ANSWERS.items():
            if question in said:
                return text(answer)
        return text(f"unexpected prompt: {said[-200:]}")


def made(rig: Rig, chat_id: int) -> list[str]:
    """The texts of the messages Telegram made in a private chat, in order."""
    return [
        m.message
        for m in rig.tg.outbox
        if isinstance(m.peer_id, types.PeerUser) and m.peer_id.user_id == chat_id
    ]


def times_said(rig: Rig, chat_id: int, words: str) -> int:
    """How often `words` reached the chat (follow-ups share one reply: counted inside it)."""
    return sum(said.count(words) for said in made(rig, chat_id))


async def open_rows(rig: Rig) -> dict[str, int]:
    states = await rig.inbox_states()
    assert "failed" not in states, states
    return states


async def another_try(rig: Rig, child: Any) -> None:
    """Until the model is asked once more (a probe while it is down)."""
    tried = len(rig.model.calls)
    await rig.model.wait_calls_async(tried + 1, timeout=20)
    assert child.proc.returncode is None, child.log()[-3000:]


async def test_messages_wait_for_the_model_across_a_restart_and_are_answered_once(
    rig: Rig,
) -> None:
    model = Model()
    rig.model.default = model
    rig.env.update(CLAUDE_CODE_MAX_RETRIES="0", MODEL_RETRY_SECONDS="1", EXTERNAL_USERS="all")
    first = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, "first note")
    await wait_until(lambda: NOTICE in made(rig, OWNER_ID), what="the owner's notice")
    rig.tg.outgoing(OWNER_ID, "second note")
    rig.tg.incoming(ALICE, "hello from alice")
    await wait_until(lambda: NOTICE in made(rig, ALICE), what="Alice's notice")
    await another_try(rig, first)

    rig.tg.outgoing(OWNER_ID, "/help")  # commands need no model: answered at once
    await wait_until(
        lambda: any(said.startswith("Commands:") for said in made(rig, OWNER_ID)),
        what="the answer to /help",
    )
    states = await open_rows(rig)
    assert states.get("answered") == 1  # /help; the three notes wait
    assert states.get("pending", 0) + states.get("processing", 0) == 3

    first.signal(signal.SIGTERM)
    assert await first.exit_code() == 0, first.log()[-3000:]
    assert (await open_rows(rig)).get("answered") == 1

    second = await rig.start_jobs()
    await another_try(rig, second)  # still down after the restart: still waiting
    model.down = False
    await wait_until(
        lambda: (
            all(times_said(rig, OWNER_ID, ANSWERS[n]) for n in ("first note", "second note"))
            and times_said(rig, ALICE, ANSWERS["hello from alice"])
        ),
        what="every note answered",
    )
    await rig.settled()
    second.signal(signal.SIGTERM)
    assert await second.exit_code() == 0, second.log()[-3000:]

    assert made(rig, OWNER_ID).count(NOTICE) == 1
    assert made(rig, ALICE).count(NOTICE) == 1
    for note in ("first note", "second note"):
        assert times_said(rig, OWNER_ID, ANSWERS[note]) == 1
    assert times_said(rig, ALICE, ANSWERS["hello from alice"]) == 1
    assert await rig.inbox_states() == {"answered": 4}
    assert set(await rig.outbox_states()) == {"sent"}
    assert "unexpected prompt" not in " ".join(made(rig, OWNER_ID) + made(rig, ALICE))


async def test_a_cli_killed_mid_turn_is_started_again_and_the_message_answered_once(
    rig: Rig,
) -> None:
    """The OOM killer takes Claude Code, not Jobs: the owner hears once that it stopped, and
    the message is answered by a new CLI (after MODEL_RETRY_SECONDS), exactly once."""
    hold = {"first note"}

    def script(call: Call) -> Turn:
        said = call.last_user_text
        return hang() if "first note" in said and hold else Model.answer(said)

    rig.model.default = script
    rig.env.update(MODEL_RETRY_SECONDS="1")
    jobs = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, "first note")
    await rig.model.wait_calls_async(1, timeout=20)  # the CLI is answering, its turn held
    [cli] = [pid for pid in group_members(jobs.pid) if pid != jobs.pid]
    hold.clear()
    os.kill(cli, signal.SIGKILL)

    crashed = notice("cli_crashed", english(), owner=True)
    await wait_until(
        lambda: times_said(rig, OWNER_ID, ANSWERS["first note"]), what="the answer after it"
    )
    await rig.settled()
    jobs.signal(signal.SIGTERM)
    assert await jobs.exit_code() == 0, jobs.log()[-3000:]
    assert made(rig, OWNER_ID) == [crashed, ANSWERS["first note"]]
    assert await rig.inbox_states() == {"answered": 1}
    assert "Traceback" not in jobs.log()


async def test_a_held_message_reaches_the_model_once(rig: Rig) -> None:
    model = Model()
    rig.model.default = model
    rig.env.update(CLAUDE_CODE_MAX_RETRIES="0", MODEL_RETRY_SECONDS="1")
    await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, "first note")
    await wait_until(lambda: NOTICE in made(rig, OWNER_ID), what="the notice")
    model.down = False
    await wait_until(lambda: "Noted, first." in made(rig, OWNER_ID), what="the answer")
    answered = [c for c in rig.model.calls if "first note" in c.last_user_text][-1]
    assert sum(text.count("first note") for text in answered.user_texts) == 1
