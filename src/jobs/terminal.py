"""`jobs chat`: the owner talks to Jobs in a terminal, through the same inbox, sessions, outbox."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

from jobs.messages import InboundMessage, OutboundMessage, SentRef

TERMINAL_CHAT_ID = 0
"""The terminal's chat: no Telegram chat has id 0, so its rows never mix with Telegram's."""


class TerminalChannel:
    """Channel that prints replies; `jobs chat` drains only rows for TERMINAL_CHAT_ID."""

    def __init__(self, *, out: TextIO = sys.stdout) -> None:
        self._out = out
        self._sent = 0
        self.replied = asyncio.Event()

    async def send(self, message: OutboundMessage, /) -> SentRef:
        label = "" if message.kind == "text" else f"[{message.kind}: {message.file_path}]\n"
        print(f"\njobs> {label}{message.text}\n", file=self._out, flush=True)
        self._sent += 1
        self.replied.set()
        return SentRef(chat_id=message.chat_id, msg_id=self._sent)

    async def typing(self, chat_id: int, /) -> None:
        return None

    async def acknowledge(self, chat_id: int, msg_id: int, /) -> None:
        return None


async def read_lines(
    owner_id: int,
    submit: Callable[[InboundMessage], Awaitable[bool]],
    *,
    stream: TextIO = sys.stdin,
    prompt: str = "you> ",
) -> None:
    """Feed each line typed as an owner message until end of input (Ctrl-D) or /quit."""
    loop = asyncio.get_running_loop()
    while True:
        print(prompt, end="", flush=True)
        line = await loop.run_in_executor(None, stream.readline)
        if not line or line.strip() in {"/quit", "/exit"}:
            return
        if not line.strip():
            continue
        # Unique across runs: the inbox keys on (chat id, message id).
        msg_id = time.time_ns() // 1000
        await submit(
            InboundMessage(
                chat_id=TERMINAL_CHAT_ID,
                msg_id=msg_id,
                sender_id=owner_id,
                text=line.rstrip("\n"),
                sender_name="owner (terminal)",
            )
        )
