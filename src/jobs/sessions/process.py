"""Claude Code CLI processes as /proc shows them: start times, descendants, killing a tree."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

PROC: Final = Path("/proc")


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of /proc/<pid>/stat Jobs reads."""

    state: str
    ppid: int
    start: int
    """Clock ticks after boot: with the pid, it names one process for good (pids are reused)."""

    @property
    def ended(self) -> bool:
        """A zombie (dead, not yet reaped: in a container pid 1 may never reap it) or dead."""
        return self.state in ("Z", "X")


def proc_stat(pid: int, /, *, proc: Path = PROC) -> ProcStat | None:
    """`pid`'s state, parent and start time; None when no such process (or no /proc)."""
    try:
        return _parse((proc / str(pid) / "stat").read_text())
    except OSError:
        return None


def running(pid: int, start: int, /, *, proc: Path = PROC) -> bool:
    """True while the process `pid` that started at `start` runs (a reused pid does not)."""
    stat = proc_stat(pid, proc=proc)
    return stat is not None and not stat.ended and stat.start == start


def descendants(pid: int, /, *, proc: Path = PROC) -> list[int]:
    """Every process below `pid` (children first found, breadth-first). Empty without /proc."""
    children: dict[int, list[int]] = {}
    for entry in proc.glob("[0-9]*/stat"):
        try:
            stat = _parse(entry.read_text())
        except OSError:  # the process ended while we looked
            continue
        if stat is not None:
            children.setdefault(stat.ppid, []).append(int(entry.parent.name))
    found: list[int] = []
    queue = [pid]
    while queue:
        below = children.get(queue.pop(0), [])
        found.extend(below)
        queue.extend(below)
    return found


def kill_tree(pid: int, /) -> None:
    """SIGKILL the CLI and everything under it (a Bash tool's shell, its children…).

    The SDK starts the CLI in Jobs' own process group, so killing "the group" would kill Jobs;
    when the CLI does lead a group of its own, that whole group goes.
    """
    victims = [pid, *descendants(pid)]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        group = os.getpgid(pid)
        if group == pid and group != os.getpgrp():
            os.killpg(group, signal.SIGKILL)
    for victim in victims:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(victim, signal.SIGKILL)
    logger.warning("killed Claude Code process %d and %d below it", pid, len(victims) - 1)


def _parse(text: str) -> ProcStat | None:
    # "pid (comm) state ppid … starttime(22nd) …": comm may hold spaces and parentheses.
    fields = text.rsplit(")", 1)[-1].split()
    if len(fields) < 2 or not fields[1].isdigit():
        return None
    start = int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else 0
    return ProcStat(state=fields[0], ppid=int(fields[1]), start=start)
