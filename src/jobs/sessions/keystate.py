"""KeyStates: what is kept per session key while it is in use — its turn lock, its taint, the
running turn's flags — in one object per key, dropped once the key is idle (no turn running
or waiting, no live process). Nothing here grows with the number of people who ever wrote:
an idle key costs its database row, nothing in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from jobs.errors import TurnRefused
from jobs.sessions.charges import Charge
from jobs.sessions.keys import SessionKey
from jobs.sessions.taint import Taint, TaintSource


@dataclass(eq=False, slots=True)
class KeyState:
    """One key's state while it is in use."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0
    """Turns running or waiting for the lock."""
    taint: Taint | None = None
    """Why the session is tainted (sticky; also in SessionRepo)."""
    loaded: bool = False
    """The taint was read from SessionRepo (once per process start of the key's session)."""
    source: TaintSource | None = None
    """The running turn's own rules for a tainted session (a task's folder and free calls)."""
    sealed: bool = False
    """The running turn takes no follow-ups (a trigger's)."""
    early: bool = False
    """The running turn may give a plain answer back before the CLI reports its usage."""
    starting: bool = False
    """The running turn waits for its process to start."""
    stop: bool = False
    """/stop came while the process was starting."""
    charge: Charge | None = None
    """Who the running turn's spend counts against."""
    refused: TurnRefused | None = None
    """/pause stopped the running turn: it ends by raising this."""

    def turn_ended(self) -> None:
        self.source, self.sealed, self.starting, self.stop = None, False, False, False
        self.early = False
        self.charge, self.refused = None, None


class KeyStates:
    """The states of the keys in use; `live(key)` says whether a key has a process."""

    def __init__(self, *, live: Callable[[SessionKey], bool]) -> None:
        self._states: dict[SessionKey, KeyState] = {}
        self._live = live

    def __len__(self) -> int:
        return len(self._states)

    def items(self) -> list[tuple[SessionKey, KeyState]]:
        """The keys in use and their states (a copy: safe to await while going through)."""
        return list(self._states.items())

    def get(self, key: SessionKey, /) -> KeyState | None:
        return self._states.get(key)

    def of(self, key: SessionKey, /) -> KeyState:
        """`key`'s state, made if it has none yet."""
        return self._states.setdefault(key, KeyState())

    def in_use(self, key: SessionKey, /) -> bool:
        state = self._states.get(key)
        return state is not None and (state.users > 0 or state.lock.locked())

    @contextlib.asynccontextmanager
    async def turn(self, key: SessionKey, /) -> AsyncIterator[KeyState]:
        """Hold `key`'s lock for one turn (turns of a key run one at a time)."""
        state = self.of(key)
        state.users += 1
        try:
            async with state.lock:
                try:
                    yield state
                finally:
                    state.turn_ended()
        finally:
            state.users -= 1
            self.prune(key)

    def prune(self, key: SessionKey, /) -> None:
        """Drop `key`'s state if nothing uses it and it has no process (its taint is in
        SessionRepo and is read again when its session next starts)."""
        state = self._states.get(key)
        if state is not None and not self.in_use(key) and not self._live(key):
            del self._states[key]
