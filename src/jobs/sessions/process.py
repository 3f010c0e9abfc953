"""Killing a stuck Claude Code CLI together with every process it started."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from pathlib import Path

logger = logging.getLogger(__name__)

_PROC = Path("/proc")


def descendants(pid: int, /, *, proc: Path = _PROC) -> list[int]:
    """Every process below `pid` (children first found, breadth-first). Empty without /proc."""
    children: dict[int, list[int]] = {}
    for entry in proc.glob("[0-9]*/stat"):
        try:
            stat = entry.read_text()
        except OSError:  # the process ended while we looked
            continue
        # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after it.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(int(entry.parent.name))
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
