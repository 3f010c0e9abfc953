"""`jobs chat`: the owner's session in a terminal, beside Telegram's rows, never touching them."""

from __future__ import annotations

import asyncio
import functools
import io

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from jobs import chat as chat_module
from jobs import modes
from jobs.chat import ChatPrompt
from jobs.messages import OutboundMessage
from jobs.modes import run_terminal
from jobs.storage import Database, OutboxRepo
from jobs.terminal import TERMINAL_CHAT_ID, TerminalChannel
from tests.e2e.conftest import OWNER_ID, Jobs
from tests.fakes.anthropic import text

ALICE = 111


async def _queue_telegram_reply(jobs: Jobs) -> None:
    """A Telegram reply still waiting in the outbox (say, Jobs stopped during a flood wait)."""
    async with await Database.open(jobs.settings.db_path) as db:
        await OutboxRepo(db).enqueue([OutboundMessage(chat_id=ALICE, text="for Telegram")])


async def test_jobs_chat_talks_to_the_same_owner_session_and_leaves_telegram_alone(
    jobs: Jobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs.model.push(text("Nice to meet you, Ada."))
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "my name is Ada")
    await jobs.replies_to(OWNER_ID)
    await jobs.settled()
    await jobs.stop()
    await _queue_telegram_reply(jobs)
    sends_before = len(jobs.send_requests())

    screen = io.StringIO()
    channels: list[TerminalChannel] = []

    def terminal_channel() -> TerminalChannel:
        channels.append(TerminalChannel(out=screen))
        return channels[-1]

    jobs.model.push(text("You are **Ada**."))
    with create_pipe_input() as keyboard:
        # jobs chat loads its prompt (prompt_toolkit) when it starts: patched where it comes from.
        monkeypatch.setattr(
            chat_module,
            "ChatPrompt",
            functools.partial(ChatPrompt, input=keyboard, output=DummyOutput()),
        )
        monkeypatch.setattr(modes, "TerminalChannel", terminal_channel)
        chat = asyncio.create_task(run_terminal(jobs.settings, extra_env=jobs.env))
        try:
            keyboard.send_text("what is my name?\r")
            await jobs.wait_for(lambda: channels and channels[0].replied.is_set(), what="a reply")
        finally:
            keyboard.send_text("\x04")  # Ctrl-D: leave
            await asyncio.wait_for(chat, 30)

    assert "jobs> You are Ada." in screen.getvalue()  # rendered, not raw Markdown
    call = jobs.model.calls[-1]
    assert "what is my name?" in call.last_user_text
    assert any("my name is Ada" in t for t in call.user_texts)  # the owner's own session
    [terminal_row] = jobs.inbox(TERMINAL_CHAT_ID)
    assert (terminal_row["sender_id"], terminal_row["state"]) == (OWNER_ID, "answered")
    rows = jobs.query("SELECT chat_id, state FROM outbox ORDER BY id")
    assert [(r["chat_id"], r["state"]) for r in rows] == [
        (OWNER_ID, "sent"),
        (ALICE, "pending"),  # Telegram's row: not sent, not claimed, not failed
        (TERMINAL_CHAT_ID, "sent"),
    ]
    assert len(jobs.send_requests()) == sends_before
    assert [r["key"] for r in jobs.query("SELECT key FROM sessions")] == ["owner"]
