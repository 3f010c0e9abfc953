"""ScriptedSessions: the Sessions port (jobs.sessions.port) without any CLI, for unit tests of
the conversation's ordering, follow-ups, /stop and outages, which then run in milliseconds.

    sessions = ScriptedSessions()
    sessions.hold()                        # turns wait until released
    ...                                    # a message starts a turn
    await sessions.started(1)              # the first turn is running
    sessions.release(text="done")          # it answers
    sessions.fail(CliCrashed("gone"))      # the next turn raises instead

Without `hold`, a turn answers at once, echoing its prompt (and follow-ups). Every turn is
recorded in `turns` with its key, role, prompt, taint, and the follow-ups injected into it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from jobs.sessions.charges import Charge
from jobs.sessions.keys import SessionKey
from jobs.sessions.replies import Reply, Usage
from jobs.sessions.roles import RoleSpec
from jobs.sessions.stream import ReplyStream
from jobs.sessions.taint import Taint, TaintSource


@dataclass
class ScriptedTurn:
    key: SessionKey
    role: str
    prompt: str
    taint: Taint | TaintSource | None
    follow_ups_allowed: bool
    follow_ups: list[str] = field(default_factory=list)
    interrupted: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    """Set to let a held turn answer."""
    answer: Reply | BaseException | None = None
    charge: Charge | None = None


class ScriptedSessions:
    """Implements jobs.sessions.port.Sessions from a script (see the module docstring)."""

    def __init__(self) -> None:
        self.turns: list[ScriptedTurn] = []
        self.resets: list[SessionKey] = []
        self.discarded: list[SessionKey] = []
        self.flushes = 0
        self._held = False
        self._next: deque[Reply | BaseException] = deque()
        self._running: dict[SessionKey, ScriptedTurn] = {}
        self._started = asyncio.Condition()

    # -- scripting ---------------------------------------------------------------------------

    def hold(self, on: bool = True) -> None:
        """From now on turns wait for `release` (or `/stop`)."""
        self._held = on

    def answer(self, text: str, *, tainted: bool = False) -> None:
        """The next turn's reply (instead of the echo)."""
        self._next.append(Reply(text, "sid", Usage(), tainted=tainted))

    def fail(self, error: BaseException) -> None:
        """The next turn raises `error` (a SessionError: the model or the CLI is down)."""
        self._next.append(error)

    def release(self, key: SessionKey | None = None) -> None:
        """Let the running turn (of `key`, or the only one running) answer."""
        turn = self._running[key] if key is not None else next(iter(self._running.values()))
        turn.done.set()

    async def started(self, count: int, *, within: float = 5.0) -> ScriptedTurn:
        """Wait until `count` turns have started; the newest."""
        async with asyncio.timeout(within), self._started:
            await self._started.wait_for(lambda: len(self.turns) >= count)
        return self.turns[count - 1]

    async def followed(self, turn: ScriptedTurn, count: int, *, within: float = 5.0) -> None:
        """Wait until `turn` took `count` follow-ups."""
        async with asyncio.timeout(within), self._started:
            await self._started.wait_for(lambda: len(turn.follow_ups) >= count)

    # -- the port ---------------------------------------------------------------------------

    async def run_turn(
        self,
        key: SessionKey,
        role: RoleSpec,
        prompt: str,
        *,
        person_id: int | None = None,
        taint: Taint | TaintSource | None = None,
        follow_ups: bool = True,
        record_later: bool = False,
        stream: ReplyStream | None = None,
        charge: Charge | None = None,
    ) -> Reply:
        turn = ScriptedTurn(key, role.name, prompt, taint, follow_ups, charge=charge)
        turn.answer = self._next.popleft() if self._next else None
        self._running[key] = turn
        async with self._started:
            self.turns.append(turn)
            self._started.notify_all()
        try:
            if self._held:
                if stream is not None and not isinstance(turn.answer, BaseException):
                    # A held turn is one still being written: its words so far are on show.
                    stream.text(turn.answer.text if turn.answer else f"echo: {prompt}")
                await turn.done.wait()
            else:
                await asyncio.sleep(0)
        finally:
            self._running.pop(key, None)
        if isinstance(turn.answer, BaseException):
            raise turn.answer
        reply = turn.answer or Reply(
            "echo: " + " + ".join([prompt, *turn.follow_ups]), "sid", Usage()
        )
        if stream is not None:  # as the model would have written it, all at once
            stream.text(reply.text)
        tainted = reply.tainted or taint is not None
        return Reply(
            reply.text, reply.session_id, reply.usage, interrupted=turn.interrupted, tainted=tainted
        )

    def running(self, key: SessionKey, /) -> bool:
        turn = self._running.get(key)
        return turn is not None and turn.follow_ups_allowed and not turn.interrupted

    async def follow_up(self, key: SessionKey, text: str, /, *, taint: Taint | None = None) -> bool:
        if not self.running(key):
            return False
        async with self._started:
            self._running[key].follow_ups.append(text)
            self._started.notify_all()
        return True

    async def interrupt(self, key: SessionKey, /) -> bool:
        turn = self._running.get(key)
        if turn is None:
            return False
        turn.interrupted = True
        turn.done.set()
        return True

    async def reset(self, key: SessionKey, /) -> None:
        self.resets.append(key)

    async def discard(self, key: SessionKey, /) -> None:
        self.discarded.append(key)

    async def flush(self, key: SessionKey | None = None, /) -> None:
        self.flushes += 1
