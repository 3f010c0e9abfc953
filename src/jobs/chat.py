"""The owner's side of `jobs chat`: a prompt_toolkit line editor that sends each line (or pasted
block) to the inbox as the owner's message.

- The prompt stays at the bottom; replies and log lines print above it, never over it.
- Ctrl-C stops the reply being written (/stop); a second Ctrl-C in a row leaves at once, as
  does Ctrl-D (or /quit). Ctrl-C over typed text clears it.
- A bracketed paste is one message, its lines and all; Up/Down walk the history (kept in
  DATA_DIR, private).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Final, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output
from prompt_toolkit.patch_stdout import patch_stdout

from jobs.home import private_file
from jobs.i18n.translator import Translator, english
from jobs.messages import InboundMessage
from jobs.storage.busy import retry_busy

PROMPT: Final = "you> "
LEAVE: Final = frozenset({"/quit", "/exit"})

Submit = Callable[[InboundMessage], Awaitable[bool]]


class ChatPrompt:
    """Reads the owner's messages until they leave; `run` returns then."""

    def __init__(
        self,
        *,
        owner_id: int,
        chat_id: int,
        submit: Submit,
        history: Path | None = None,
        input: Input | None = None,
        output: Output | None = None,
        words: Translator | None = None,
    ) -> None:
        """`history`: the file Up/Down walk (in memory without one); `input`/`output`: the
        terminal (tests pass a pipe); `words`: the owner's language."""
        self._hint = (words or english()).gettext("(Ctrl-C again, or Ctrl-D, leaves)")
        self._owner_id = owner_id
        self._chat_id = chat_id
        self._submit = submit
        self._armed = False  # the last key was Ctrl-C: another one leaves
        self._session: PromptSession[str] = PromptSession(
            PROMPT,
            history=_history(history),
            key_bindings=self._keys(),
            input=input,
            output=output,
        )
        self._session.default_buffer.on_text_changed += lambda _: self._disarm()

    async def run(self) -> None:
        with patch_stdout(raw=True), _logs_follow_stderr():
            while (text := await self._read()) is not None:
                self._disarm()
                if text.strip():
                    await self.send(text)

    async def _read(self) -> str | None:
        """The next message, or None when the owner leaves."""
        try:
            text = await self._session.prompt_async()
        except (EOFError, KeyboardInterrupt):
            return None
        return None if text.strip() in LEAVE else text

    async def send(self, text: str) -> None:
        # Unique across runs: the inbox keys on (chat id, message id).
        message = InboundMessage(
            chat_id=self._chat_id,
            msg_id=time.time_ns() // 1000,
            sender_id=self._owner_id,
            text=text,
            sender_name="owner (terminal)",  # i18n: skip (a stored name, not shown)
        )
        await retry_busy(  # i18n: skip (the log's words)
            functools.partial(self._submit, message), what="Storing your message"
        )

    def _keys(self) -> KeyBindings:
        keys = KeyBindings()
        keys.add("c-c")(self._ctrl_c)
        return keys

    def _ctrl_c(self, event: KeyPressEvent) -> None:
        if self._armed:
            event.app.exit(exception=KeyboardInterrupt())
            return
        buffer = event.app.current_buffer
        if buffer.text:
            buffer.reset()  # clears what was typed; a second Ctrl-C leaves
        else:
            event.app.create_background_task(self.send("/stop"))  # stops the reply, if any
            print(self._hint, file=sys.stdout, flush=True)
        self._armed = True

    def _disarm(self) -> None:
        self._armed = False


def _history(path: Path | None) -> History:
    if path is None:
        return InMemoryHistory()
    return FileHistory(str(private_file(path)))  # what the owner typed: theirs alone


@contextlib.contextmanager
def _logs_follow_stderr() -> Iterator[None]:
    """Point the log handlers at the current sys.stderr (patch_stdout's proxy, which prints
    above the prompt) for the block; they captured the real one when logging was set up."""
    handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and h.stream is sys.__stderr__
    ]
    previous: list[TextIO] = [h.stream for h in handlers]
    for handler in handlers:
        handler.setStream(sys.stderr)
    try:
        yield
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)
