"""Real `jobs run` processes on the fake Telegram (over the MTProto loopback) and the fake model.

The test process runs FakeTelegram, its MTProtoLoopback server and FakeAnthropic; the child is
`python -m jobs run` with TG_SESSION = the loopback's StringSession, so it reaches 127.0.0.1 only.
Each child leads its own process group (its Claude Code CLIs are in it too): teardown SIGKILLs
every group it started, so no process outlives a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from telethon.tl import functions

from jobs.storage import Database, InboxRepo
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.loopback import MTProtoLoopback
from tests.fakes.telegram import API_HASH, API_ID, FakeTelegram

OWNER_ID = 1000  # the fake account's own id: Jobs runs in the owner's own account


async def wait_until(predicate: Callable[[], Any], *, what: str, within: float = 20.0) -> Any:
    """Poll `predicate` (every 20 ms) until it is truthy; TimeoutError naming `what`."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not (value := predicate()):
        if loop.time() > end:
            raise TimeoutError(f"no {what} within {within} s")
        await asyncio.sleep(0.02)
    return value


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is `pgid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[-1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                found.append(int(stat.parent.name))
    return found


async def _outliving(pgid: int, within: float = 3.0) -> list[int]:
    """Members of the group still alive `within` s after it was sent SIGKILL (one killed a
    moment ago may not have exited yet)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while True:
        alive = group_members(pgid)
        if not alive or loop.time() >= end:
            return alive
        await asyncio.sleep(0.02)


@dataclass
class Child:
    """One `jobs` process; its stderr (the log) goes to a file."""

    proc: asyncio.subprocess.Process
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    async def crash(self) -> int:
        """kill -9 of Jobs, then of what it left in its group (its CLIs), as when a service
        manager kills the whole unit after the main process died; Jobs' exit code."""
        self.signal(signal.SIGKILL)
        code = await self.exit_code()
        self.kill_group()
        return code

    def kill_group(self) -> None:
        """SIGKILL Jobs and everything in its group (its CLIs), as a crashed service's cgroup."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    async def exit_code(self, within: float = 10.0) -> int:
        try:
            async with asyncio.timeout(within):
                return await self.proc.wait()
        except TimeoutError:
            raise AssertionError(
                f"jobs (pid {self.pid}) still running after {within} s:\n{self.log()[-3000:]}"
            ) from None


@dataclass
class Rig:
    """The fakes, the child's environment and every child started, for one test."""

    tmp_path: Path
    tg: FakeTelegram
    loopback: MTProtoLoopback
    model: FakeAnthropic
    env: dict[str, str]
    children: list[Child] = field(default_factory=list)

    async def spawn(
        self, *args: str, env: dict[str, str] | None = None, wrap: Sequence[str] = ()
    ) -> Child:
        """`jobs ARGS` (default: run); `wrap` goes before it (e.g. `unshare -n`)."""
        log_path = self.tmp_path / f"jobs-{len(self.children) + 1}.log"
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                *wrap,
                sys.executable,
                "-m",
                "jobs",
                *(args or ("run",)),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.tmp_path,  # no .env of the repo is read
                env=self.env if env is None else env,
                start_new_session=True,  # its own process group: teardown kills the CLIs too
            )
        child = Child(proc, log_path)
        self.children.append(child)
        return child

    async def start_jobs(self, env: dict[str, str] | None = None) -> Child:
        """`jobs run`, waited for until it is logged in and serving."""
        child = await self.spawn("run", env=env)
        loop = asyncio.get_running_loop()
        end = loop.time() + 20
        while "Logged in as" not in child.log():
            if child.proc.returncode is not None or loop.time() > end:
                raise AssertionError(f"jobs did not start:\n{child.log()[-3000:]}")
            await asyncio.sleep(0.02)
        return child

    async def logged(self, child: Child, line: str, within: float = 20.0) -> None:
        """Until `child`'s log holds `line`."""
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while line not in child.log():
            if child.proc.returncode is not None or loop.time() > end:
                raise AssertionError(f"never logged {line!r}:\n{child.log()[-3000:]}")
            await asyncio.sleep(0.02)

    def sends(self, text: str | None = None) -> list[Any]:
        """SendMessageRequests to the owner's chat (with this text)."""
        return [
            r
            for r in self.tg.of(functions.messages.SendMessageRequest)
            if getattr(r.peer, "user_id", None) == OWNER_ID and text in (None, r.message)
        ]

    def sends_containing(self, part: str) -> list[str]:
        """Texts sent to the owner's chat that contain `part`."""
        return [req.message for req in self.sends() if part in req.message]

    def created(self, text: str) -> list[Any]:
        """Messages the fake Telegram actually created with this text (sends it accepted)."""
        return [m for m in self.tg.outbox if m.message == text]

    async def outbox_states(self) -> list[str]:
        async with await Database.open(self.tmp_path / "data" / "db.sqlite") as db:
            rows = await db.fetch_all("SELECT state FROM outbox ORDER BY id")
        return [str(row["state"]) for row in rows]

    async def settled(self, within: float = 20.0) -> None:
        """Until every message is finished and every reply's send has come back."""
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while True:
            inbox = await self.inbox_states()
            outbox = await self.outbox_states()
            if not {"pending", "processing"} & set(inbox) and not {"pending", "sending"} & set(
                outbox
            ):
                return
            if loop.time() > end:
                raise TimeoutError(f"not settled within {within} s: {inbox} {outbox}")
            await asyncio.sleep(0.05)

    async def inbox_states(self) -> dict[str, int]:
        async with await Database.open(self.tmp_path / "data" / "db.sqlite") as db:
            states = await InboxRepo(db).count_by_state()
        return {state: n for state, n in states.items() if n}

    async def aclose(self) -> None:
        for child in self.children:
            child.kill_group()
            await child.proc.wait()
            leftovers = await _outliving(child.pid)
            for pid in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            assert not leftovers, f"processes left behind by jobs {child.pid}: {leftovers}"


def run_env(
    tmp: Path,
    loopback: MTProtoLoopback,
    model: FakeAnthropic,
    *,
    model_env: dict[str, str] | None = None,
    **settings: str,
) -> dict[str, str]:
    """The environment of a `jobs run` child on `loopback` and `model`: this process's, less
    its own Anthropic/Claude settings, with the fake account's login and folders under `tmp`.
    `model_env`: more for the CLI (FakeAnthropic.env); `settings`: more of Jobs' settings."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE"))},
        **model.env(home=tmp / "claude-home", IS_SANDBOX="1", **(model_env or {})),
        "TG_API_ID": str(API_ID),
        "TG_API_HASH": API_HASH,
        "TG_USER_ID": str(OWNER_ID),
        "TG_SESSION": loopback.session_string(),
        "DATA_DIR": str(tmp / "data"),
        "WORKSPACE_DIR": str(tmp / "workspace"),
        "PYTHONUNBUFFERED": "1",
        **settings,
    }


@pytest.fixture
async def rig(tmp_path: Path, tg: FakeTelegram, fake_model: FakeAnthropic) -> AsyncIterator[Rig]:
    async with MTProtoLoopback(tg) as loopback:
        env = run_env(
            tmp_path,
            loopback,
            fake_model,
            model_env={
                "ENABLE_TOOL_SEARCH": "false",
                "CLAUDE_CODE_MAX_RETRIES": "1",
                "API_TIMEOUT_MS": "30000",  # a hang() holds the turn for as long as a test needs
            },
            QUERY_TIMEOUT_SECONDS="60",
        )
        running = Rig(tmp_path, tg, loopback, fake_model, env)
        try:
            yield running
        finally:
            await running.aclose()
