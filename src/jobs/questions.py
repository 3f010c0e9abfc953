"""Asking a person in a terminal: each answer checked as it is given and asked again until it is
right; Ctrl-C or Ctrl-D leave with Cancelled (the caller has kept what was answered so far).

`Questions` is what setup and login ask through; `TerminalQuestions` is prompt_toolkit (a real
line editor: arrows, Ctrl-A/E, hidden input for passwords) and needs a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TextIO

from jobs.errors import Cancelled
from jobs.i18n.translator import Translator, english

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

Check = Callable[[str], str | None]
"""An answer's problem, said so the person can fix it; None when the answer is fine."""


class Questions(Protocol):
    """Asks one thing at a time. `ask` returns a stripped answer that passed `check`, or raises
    Cancelled when the person leaves; `tell` shows one line between questions. `words` is the
    language the questions are asked in."""

    words: Translator

    async def ask(self, question: str, *, check: Check | None = None, secret: bool = False) -> str:
        """The answer to `question` (typed unseen when `secret`)."""
        ...

    def tell(self, text: str) -> None:
        """Show `text` to the person."""
        ...


def needs_answer(answer: str, t: Translator) -> str | None:
    """The Check for "anything but nothing"."""
    return None if answer else t.gettext("Please type an answer (Ctrl-C leaves).")


class TerminalQuestions:
    """Questions on this terminal (stdin/stdout)."""

    def __init__(self, *, words: Translator | None = None, out: TextIO = sys.stdout) -> None:
        self.words = words or english()
        self._out = out
        self._session: PromptSession[str] | None = None

    @staticmethod
    def available() -> bool:
        """Whether a person is there to answer: stdin and stdout are a terminal."""
        return sys.stdin.isatty() and sys.stdout.isatty()

    async def ask(self, question: str, *, check: Check | None = None, secret: bool = False) -> str:
        while True:
            try:
                answer = (await self._prompt().prompt_async(question, is_password=secret)).strip()
            except KeyboardInterrupt:
                raise Cancelled("stopped at a question (Ctrl-C)") from None
            except EOFError:
                raise Cancelled("stopped at a question (Ctrl-D)") from None
            problem = check(answer) if check else needs_answer(answer, self.words)
            if problem is None:
                return answer
            self.tell(f"  {problem}")

    def tell(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def _prompt(self) -> PromptSession[str]:
        # prompt_toolkit (≈ 7 MB) loads when a question is asked: `jobs run` on a terminal
        # that is already set up asks nothing and never needs it.
        if self._session is None:
            from prompt_toolkit import PromptSession

            self._session = PromptSession()
        return self._session
