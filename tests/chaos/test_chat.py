"""`jobs chat` on a pseudo-terminal, with the real SDK and CLI on the scripted model: Ctrl-C stops
the reply and a second one leaves at once, a pasted block is one message, history, and a
message left unanswered is not silently redone at the next start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chaos.conftest import Rig
from tests.fakes.anthropic import hang, text
from tests.terminal import CTRL_C, CTRL_D, Terminal

UP = "\x1b[A"


@pytest.fixture
def chats(rig: Rig) -> Iterator[list[Terminal]]:
    made: list[Terminal] = []
    yield made
    for term in made:
        term.close()


async def chat(rig: Rig, chats: list[Terminal]) -> Terminal:
    term = Terminal.spawn("chat", env=rig.env, cwd=rig.tmp_path)
    chats.append(term)
    await term.expect("you>")
    return term


async def leave(term: Terminal) -> None:
    term.type(CTRL_D)
    assert await term.exit_code() == 0, term.output
    assert "Traceback" not in term.output, term.output


async def test_ctrl_c_stops_the_reply_and_a_second_ctrl_c_leaves(
    rig: Rig, chats: list[Terminal]
) -> None:
    rig.model.push(hang())  # the reply takes as long as it takes
    term = await chat(rig, chats)
    term.line("tell me a very long story")
    await rig.model.wait_calls_async(1)
    term.type(CTRL_C)
    await term.expect("(Ctrl-C again, or Ctrl-D, leaves)")
    await term.expect("jobs> Stopping what I was doing.")
    term.type(CTRL_C)  # no Enter needed
    assert await term.exit_code() == 0, term.output
    assert "Traceback" not in term.output

    rig.model.push(text("Hello again."))
    again = await chat(rig, chats)
    assert "Not answered before you left" not in again.output  # it was stopped, not left
    again.line("hello")
    await again.expect("jobs> Hello again.")
    await leave(again)
    asked = [call.last_user_text for call in rig.model.calls]
    assert len(asked) == 2 and "hello" in asked[1]  # the story was not asked for again


async def test_a_pasted_block_is_one_message(rig: Rig, chats: list[Terminal]) -> None:
    rig.model.push(text("Three lines received."))
    term = await chat(rig, chats)
    term.paste("first line\nsecond line\nthird line")
    term.type("\r")
    await term.expect("jobs> Three lines received.")
    await leave(term)
    [call] = rig.model.calls
    assert "first line\nsecond line\nthird line" in call.last_user_text
    assert term.output.count("jobs>") == 1


async def test_up_brings_back_what_was_sent_before(rig: Rig, chats: list[Terminal]) -> None:
    rig.model.push(text("First answer."), text("Second answer."))
    term = await chat(rig, chats)
    term.line("what is on my list?")
    await term.expect("jobs> First answer.")
    await leave(term)
    again = await chat(rig, chats)  # the history is kept across runs
    again.type(UP)
    again.type("\r")
    await again.expect("jobs> Second answer.")
    await leave(again)
    assert "what is on my list?" in rig.model.calls[1].last_user_text


async def test_a_message_left_unanswered_is_not_redone(rig: Rig, chats: list[Terminal]) -> None:
    rig.model.push(hang())
    term = await chat(rig, chats)
    term.line("book a table for two")
    await rig.model.wait_calls_async(1)
    await leave(term)  # Ctrl-D while the reply is being written

    again = await chat(rig, chats)
    notice = "(Not answered before you left, so not redone: “book a table for two”)"
    assert notice in again.output
    await leave(again)
    assert len(rig.model.calls) == 1
