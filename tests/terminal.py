"""A `jobs` command on a pseudo-terminal (pexpect), driven as a person at a keyboard drives it:
typed lines, Ctrl-C, Ctrl-D, a bracketed paste. Everything it printed is kept in `output`.

    term = Terminal.spawn("login", env=env, cwd=tmp_path)
    await term.expect("api_id (a number): ")
    term.line("123456")
    assert await term.exit_code() == 0
"""

from __future__ import annotations

import asyncio
import io
import re
import sys
from pathlib import Path
from typing import Final

import pexpect

CTRL_C: Final = "\x03"
CTRL_D: Final = "\x04"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
_ANYTHING: Final = re.compile(".+", re.DOTALL)
_ESCAPES: Final = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[=>]|\r")


class Terminal:
    def __init__(self, child: pexpect.spawn[str], log: io.StringIO) -> None:
        self.child = child
        self._log = log
        self._seen = 0

    @classmethod
    def spawn(cls, *args: str, env: dict[str, str], cwd: Path) -> Terminal:
        env = {
            **env,
            "TERM": "xterm-256color",
            # pexpect answers no cursor-position requests: prompt_toolkit would wait for one.
            "PROMPT_TOOLKIT_NO_CPR": "1",
        }
        log = io.StringIO()
        child = pexpect.spawn(
            sys.executable,
            ["-m", "jobs", *args],
            env=env,
            cwd=str(cwd),
            encoding="utf-8",
            codec_errors="replace",
            dimensions=(40, 200),
            timeout=30,
        )
        child.logfile_read = log
        return cls(child, log)

    @property
    def output(self) -> str:
        """Everything printed so far, without terminal escape sequences."""
        return _ESCAPES.sub("", self._log.getvalue())

    async def expect(self, text: str, *, within: float = 30) -> None:
        """Until `text` is printed after what the last expect matched, escape sequences left
        out (TimeoutError, with the screen so far, if it never is). Trailing blanks are not
        compared: a line editor draws them as cursor moves."""
        text = text.rstrip()
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while (found := self.output.find(text, self._seen)) < 0:
            try:
                await self.child.expect(_ANYTHING, timeout=end - loop.time(), async_=True)
            except (pexpect.TIMEOUT, pexpect.EOF) as exc:
                ended = "ended" if isinstance(exc, pexpect.EOF) else "timed out"
                raise TimeoutError(
                    f"{ended} before printing {text!r}; printed:\n{self.output[-3000:]}"
                ) from None
        self._seen = found + len(text)

    def type(self, keys: str) -> None:
        self.child.send(keys)

    def line(self, text: str) -> None:
        """Type `text` and Enter."""
        self.child.send(text + "\r")

    def paste(self, text: str) -> None:
        """A bracketed paste, as a terminal sends one."""
        self.child.send(PASTE_START + text + PASTE_END)

    async def exit_code(self, *, within: float = 30) -> int:
        """Until the command ends: its exit code (128 + N for a signal)."""
        try:
            await self.child.expect(pexpect.EOF, timeout=within, async_=True)
        except pexpect.TIMEOUT:
            raise TimeoutError(f"still running; printed:\n{self.output[-3000:]}") from None
        self.child.close()
        if self.child.signalstatus is not None:
            return 128 + int(self.child.signalstatus)
        assert self.child.exitstatus is not None
        return self.child.exitstatus

    def last_line(self) -> str:
        return self.output.strip().splitlines()[-1].strip()

    def close(self) -> None:
        if self.child.isalive():
            self.child.close(force=True)
