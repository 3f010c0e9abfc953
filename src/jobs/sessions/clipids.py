"""The record of the Claude Code processes Jobs runs (DATA_DIR/run/cli-pids.json) and the sweep at
start that ends those a killed Jobs left behind.

Killing `jobs run` alone with SIGKILL (the OOM killer, `kill -9 <pid>`) leaves its CLIs running
under init, each holding memory and maybe still calling the model and tools. Each entry names a
process by pid and start time (/proc/<pid>/stat), so a pid since reused is never touched.

Why no PR_SET_PDEATHSIG on the CLI: the SDK spawns it with anyio.open_process, which has no
preexec hook; the alternatives are a custom Transport (a copy of the SDK's subprocess code) or a
wrapper as `cli_path` (the SDK then no longer sees its bundled CLI and turns off what depends on
it). The sweep covers the same case, CLI children included, with neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from jobs.sessions.process import PROC, descendants, proc_stat, running

logger = logging.getLogger(__name__)

TERM_GRACE_SECONDS: Final = 3.0
"""How long an orphaned CLI gets to end after SIGTERM before it and its children get SIGKILL."""


def cli_pids_path(data_dir: Path, /) -> Path:
    """Where the CLIs of the Jobs using `data_dir` are recorded."""
    return data_dir / "run" / "cli-pids.json"


@dataclass(frozen=True, slots=True)
class CliProcess:
    """One CLI Jobs started: `pid` and `start` (its start time) name it for good."""

    pid: int
    start: int
    key: str = ""


class CliPids:
    """The file of running CLIs: an entry from start to close, rewritten atomically on each
    change (read first, so entries a sweep has not handled yet are never lost)."""

    def __init__(self, *, path: Path, proc: Path = PROC) -> None:
        self.path = path
        self._proc = proc

    def add(self, pid: int, key: str, /) -> None:
        """Record the running process `pid` (the CLI of session `key`)."""
        stat = proc_stat(pid, proc=self._proc)
        if stat is None or stat.ended:
            return  # already gone: nothing to end later
        entries = [e for e in read_record(self.path) if e.pid != pid]
        self._write([*entries, CliProcess(pid, stat.start, key)])

    def remove(self, pid: int, /) -> None:
        """Forget `pid` (its CLI ended); the file goes with the last entry."""
        entries = read_record(self.path)
        kept = [e for e in entries if e.pid != pid]
        if len(kept) != len(entries):
            self._write(kept)

    def _write(self, entries: list[CliProcess]) -> None:
        try:
            if not entries:
                self.path.unlink(missing_ok=True)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            staging = self.path.with_name(self.path.name + ".tmp")
            staging.write_text(json.dumps([asdict(e) for e in entries]))
            staging.replace(self.path)  # a crash leaves the old file or the new one, never half
        except OSError as exc:  # a full disk must not stop a session: the sweep then misses it
            logger.warning("could not update %s: %s", self.path, exc)


def read_record(path: Path, /) -> list[CliProcess]:
    """The entries of `path`; none when it is missing or unreadable (logged)."""
    try:
        raw = json.loads(path.read_text())
        return [CliProcess(int(e["pid"]), int(e["start"]), str(e.get("key", ""))) for e in raw]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError, KeyError) as exc:
        logger.warning("ignoring unreadable %s: %s", path, exc)
        return []


async def end_orphaned_clis(
    data_dir: Path, /, *, grace: float = TERM_GRACE_SECONDS, proc: Path = PROC
) -> int:
    """End the CLIs an earlier Jobs on `data_dir` started and left running; return how many.

    Call at start, holding the RunLock (never while another Jobs may use the CLIs), before any
    session starts. Each recorded CLI still running with its start time gets SIGTERM; after
    `grace` seconds it and the processes that were below it get SIGKILL. A process that is this
    process's own child is left alone (a session of this very run). The record is then removed.
    """
    path = cli_pids_path(data_dir)
    orphans = [e for e in read_record(path) if _orphan(e, proc)]
    victims = [*orphans, *(below for e in orphans for below in _below(e, proc))]
    for entry in orphans:  # the CLI ends its own children when it can
        _signal(entry, signal.SIGTERM, proc)
    stubborn = await _ended(victims, grace, proc)
    for victim in stubborn:
        _signal(victim, signal.SIGKILL, proc)
    await _ended(stubborn, grace, proc)
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
    if orphans:
        logger.warning(
            "ended %d Claude Code process(es) left running by an earlier Jobs: %s "
            "(%d process(es) below them; %d needed SIGKILL)",
            len(orphans),
            ", ".join(f"{e.pid} ({e.key})" for e in orphans),
            len(victims) - len(orphans),
            len(stubborn),
        )
    return len(orphans)


def _orphan(entry: CliProcess, proc: Path) -> bool:
    stat = proc_stat(entry.pid, proc=proc)
    ours = stat is not None and stat.ppid == os.getpid()
    return running(entry.pid, entry.start, proc=proc) and not ours


def _below(entry: CliProcess, proc: Path) -> list[CliProcess]:
    """The processes below `entry` now (its Bash tool's shells, MCP servers), by start time."""
    found = []
    for pid in descendants(entry.pid, proc=proc):
        stat = proc_stat(pid, proc=proc)
        if stat is not None and not stat.ended:
            found.append(CliProcess(pid, stat.start, entry.key))
    return found


def _signal(entry: CliProcess, sig: signal.Signals, proc: Path) -> None:
    if running(entry.pid, entry.start, proc=proc):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(entry.pid, sig)


async def _ended(entries: list[CliProcess], within: float, proc: Path) -> list[CliProcess]:
    """Wait up to `within` seconds for every one of `entries` to end; those still running."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while left := [e for e in entries if running(e.pid, e.start, proc=proc)]:
        if loop.time() >= end:
            return left
        await asyncio.sleep(0.05)  # not our children: no wait() or exit event to await
    return []
