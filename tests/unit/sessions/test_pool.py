"""LivePool's choice of which idle CLI to close for room: least recently used first, the
owner's (a warm role) only when nobody else's is idle."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import cast

from jobs.sessions.agent import AgentSession
from jobs.sessions.keys import OWNER_KEY, SessionKey
from jobs.sessions.pool import LivePool
from jobs.sessions.roles import EXTERNAL, OWNER, RoleSpec


@dataclass
class Stub:
    key: SessionKey
    role: RoleSpec
    busy: bool = False
    pid: int | None = None
    last_used: float = 0.0
    closed: list[SessionKey] = field(default_factory=list)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self.closed.append(self.key)


async def fill(pool: LivePool, *stubs: Stub) -> None:
    for stub in stubs:

        async def make(stub: Stub = stub) -> AgentSession:
            return cast(AgentSession, stub)

        await pool.open(stub.key, make)


async def test_a_stranger_is_closed_before_the_owner_even_when_the_owner_was_idle_longer() -> None:
    closed: list[SessionKey] = []
    pool = LivePool(max_live=2, on_closed=closed.append)
    owner, anna = Stub(OWNER_KEY, OWNER), Stub(SessionKey.person(7), EXTERNAL)
    await fill(pool, owner, anna)
    await fill(pool, Stub(SessionKey.person(8), EXTERNAL))
    assert closed == [anna.key]
    assert OWNER_KEY in pool.keys


async def test_the_owner_is_closed_for_room_only_when_nobody_else_is_idle() -> None:
    closed: list[SessionKey] = []
    pool = LivePool(max_live=2, on_closed=closed.append)
    anna = Stub(SessionKey.person(7), EXTERNAL, busy=True)
    await fill(pool, Stub(OWNER_KEY, OWNER), anna)
    await fill(pool, Stub(SessionKey.task(3), EXTERNAL))
    assert closed == [OWNER_KEY]


async def test_least_recently_used_among_the_others() -> None:
    closed: list[SessionKey] = []
    pool = LivePool(max_live=3, on_closed=closed.append)
    a, b = Stub(SessionKey.person(1), EXTERNAL), Stub(SessionKey.person(2), EXTERNAL)
    await fill(pool, Stub(OWNER_KEY, OWNER), a, b)
    pool.touch(a.key)
    await fill(pool, Stub(SessionKey.person(3), EXTERNAL))
    assert closed == [b.key]


async def test_everyone_elses_cli_yields_the_cpu_to_the_owners() -> None:
    procs = [await asyncio.create_subprocess_exec("sleep", "30") for _ in range(2)]
    try:
        pool = LivePool(max_live=4)
        owner = Stub(OWNER_KEY, OWNER, pid=procs[0].pid)
        anna = Stub(SessionKey.person(7), EXTERNAL, pid=procs[1].pid)
        base = os.getpriority(os.PRIO_PROCESS, procs[0].pid)
        await fill(pool, owner, anna)
        assert os.getpriority(os.PRIO_PROCESS, procs[0].pid) == base
        assert os.getpriority(os.PRIO_PROCESS, procs[1].pid) == base + EXTERNAL.nice
    finally:
        for proc in procs:
            proc.kill()
            await proc.wait()
