"""LivePool: the running CLI processes by key, least recently used first, at most `max_live`
(idle ones are closed to make room); each is in the CliPids record while it runs."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from jobs.sessions.agent import AgentSession
from jobs.sessions.clipids import CliPids
from jobs.sessions.keys import SessionKey

logger = logging.getLogger(__name__)


def _never(_key: SessionKey) -> bool:
    return False


def _nothing(_key: SessionKey) -> None:
    return None


def _yield_cpu(pid: int, nice: int) -> None:
    """Lower the CLI's priority by `nice` (best effort: a lower one is never refused)."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, pid) + nice)
    except OSError as exc:
        logger.debug("could not lower the priority of CLI %s: %s", pid, exc)


class LivePool:
    """Live sessions: one is idle when no turn of its key runs or waits (`in_use`)."""

    def __init__(
        self,
        *,
        max_live: int,
        pids: CliPids | None = None,
        in_use: Callable[[SessionKey], bool] = _never,
        on_closed: Callable[[SessionKey], None] = _nothing,
    ) -> None:
        """`in_use(key)`: a turn of `key` runs or waits (never closed then); `on_closed(key)`:
        told after `key`'s process was closed."""
        self._max_live = max_live
        self._pids = pids
        self._in_use = in_use
        self._on_closed = on_closed
        self._live: OrderedDict[SessionKey, AgentSession] = OrderedDict()
        self._room = asyncio.Condition()
        self._opening = 0
        self._closing = 0

    @property
    def keys(self) -> tuple[SessionKey, ...]:
        """Keys with a running CLI process, least recently used first."""
        return tuple(self._live)

    def get(self, key: SessionKey, /) -> AgentSession | None:
        return self._live.get(key)

    def touch(self, key: SessionKey, /) -> None:
        """`key` was just used: it is the last one closed to make room."""
        self._live.move_to_end(key)

    def idle(self, session: AgentSession, /) -> bool:
        return not session.busy and not self._in_use(session.key)

    async def open(
        self, key: SessionKey, make: Callable[[], Awaitable[AgentSession]], /
    ) -> AgentSession:
        """Once one more process fits, make `key`'s session and start it (may raise)."""
        await self._make_room()
        self._opening += 1
        try:
            session = await make()
            await session.start()
        finally:
            self._opening -= 1
        self._live[key] = session
        if self._pids is not None and session.pid is not None:
            self._pids.add(session.pid, str(key))
        if session.pid is not None and session.role.nice:
            _yield_cpu(session.pid, session.role.nice)
        return session

    async def discard(self, key: SessionKey, /) -> None:
        """Close `key`'s process, if it has one."""
        session = self._live.pop(key, None)
        if session is None:
            return
        self._closing += 1
        try:
            await self._close(session)
        finally:
            self._closing -= 1
            await self.notify()

    async def close_idle(self, older_than: float, /) -> list[SessionKey]:
        """Close sessions unused for `older_than` seconds; return their keys."""
        now = time.monotonic()
        idle = [
            s.key for s in self._live.values() if self.idle(s) and now - s.last_used > older_than
        ]
        for key in idle:
            await self.discard(key)
        return idle

    async def aclose(self) -> None:
        """Close every process (shutdown)."""
        sessions = list(self._live.values())
        self._live.clear()
        await asyncio.gather(*(self._close(s) for s in sessions))

    async def notify(self) -> None:
        """Wake the turns waiting for room (a session may have become idle)."""
        async with self._room:
            self._room.notify_all()

    async def _make_room(self) -> None:
        """Wait until one more process fits under max_live, closing idle sessions (LRU first;
        a warm one — the owner's — only when no other is idle: twenty strangers writing
        must not make the owner wait for a cold start)."""
        while len(self._live) + self._opening + self._closing >= self._max_live:
            idle = [s for s in self._live.values() if self.idle(s)]
            victim = next((s for s in idle if not s.role.keep_warm), None) or next(iter(idle), None)
            if victim is not None:
                logger.info("closing idle session %s to make room", victim.key)
                await self.discard(victim.key)
                continue
            async with self._room:
                await self._room.wait()

    async def _close(self, session: AgentSession) -> None:
        pid = session.pid  # gone from the session once it is closed
        try:
            await session.close()
        finally:
            if self._pids is not None and pid is not None:
                self._pids.remove(pid)
            self._on_closed(session.key)
