"""SessionManager: a turn of a key's session, started or resumed as needed (fresh from its
summary when resuming fails), with the session's taint and the turn's follow-up rules; /stop
and /clear.

Taint is sticky: once a session took in text the owner did not type (a turn that brings it,
or a call that reads it), it stays tainted, in SessionRepo, across restarts, resumes and fresh
starts from its summary, until /clear.

What it leans on: LivePool (the processes, LRU cap), SessionBuilder (making a session),
TurnRecords (usage and summaries)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from claude_agent_sdk import RateLimitInfo, ResultMessage

from jobs.clock import Clock, utc_now
from jobs.errors import ResumeFailed, RoleViolation, SessionError
from jobs.sessions import summary
from jobs.sessions.agent import AgentSession
from jobs.sessions.builder import SessionBuilder
from jobs.sessions.clipids import CliPids
from jobs.sessions.options import ExtensionsSource, PromptContext, SkillSource
from jobs.sessions.pool import LivePool
from jobs.sessions.records import TurnRecords
from jobs.sessions.replies import Reply, Usage
from jobs.sessions.roles import RoleSpec
from jobs.sessions.settings import SessionSettings
from jobs.sessions.taint import (
    READ_ONLY_BUILTINS,
    Approver,
    OutsideReads,
    Taint,
    TaintRule,
    TaintSource,
)
from jobs.storage import AuditRepo, SessionRepo, UsageRepo
from jobs.tools.registry import ToolServers

__all__ = ["OnRateLimit", "SessionManager", "SessionSettings"]

logger = logging.getLogger(__name__)


class OnRateLimit(Protocol):
    """Told each rate-limit report Claude Code sends (conversation.status.RateLimitBoard.note)."""

    def __call__(
        self, *, window: str | None, status: str, utilization: float | None, resets_at: int | None
    ) -> None: ...


class SessionManager:
    """At most `max_live` CLI processes; an idle person costs a row in SessionRepo, not one."""

    def __init__(  # noqa: PLR0913 - the last seven are optional feature hooks
        self,
        *,
        config: SessionSettings,
        sessions: SessionRepo,
        usage: UsageRepo,
        audit: AuditRepo,
        tools: ToolServers,
        read_only_tools: Iterable[str] = (),
        extensions: ExtensionsSource | None = None,
        approver: Approver | None = None,
        context: PromptContext | None = None,
        on_rate_limit: OnRateLimit | None = None,
        outside: OutsideReads | None = None,
        skills: SkillSource | None = None,
        clock: Clock = utc_now,
    ) -> None:
        """`read_only_tools`: qualified MCP tool names a tainted session may still use.
        `extensions`: the owner's MCP servers and plugins, for roles with `extensions`.
        `approver`: asks the owner about the other calls of a tainted session (else denied).
        `context`: MEMORY.md for the prompt of roles that get it.
        `outside`: which calls read outside text (they taint the session) and where a
        tainted session may never write. `skills`: the owner's skills as a plugin."""
        self._repo = sessions
        self._audit = audit
        self._on_rate_limit = on_rate_limit
        pids = CliPids(path=config.cli_pids) if config.cli_pids is not None else None
        self._pool = LivePool(max_live=config.max_live, pids=pids)
        self._records = TurnRecords(sessions=sessions, usage=usage)
        self._builder = SessionBuilder(
            config=config,
            tools=tools,
            audit=audit,
            observer=self,
            taint_for=self._taint_rule,
            extensions=extensions,
            context=context,
            skills=skills,
        )
        self._read_only = READ_ONLY_BUILTINS | frozenset(read_only_tools)
        self._approver = approver
        self._outside = outside
        self._clock = clock
        self._taints: dict[str, Taint] = {}  # tainted sessions (sticky, also in SessionRepo)
        self._sources: dict[str, TaintSource] = {}  # the running turn's own taint rules
        self._sealed: set[str] = set()  # keys whose running turn takes no follow-ups
        self._starting: set[str] = set()  # keys whose turn waits for its session to start
        self._stops: set[str] = set()  # keys /stop was sent to while starting

    @property
    def live_keys(self) -> tuple[str, ...]:
        """Keys with a running CLI process, least recently used first."""
        return self._pool.keys

    async def run_turn(
        self,
        key: str,
        role: RoleSpec,
        prompt: str,
        *,
        person_id: int | None = None,
        taint: Taint | TaintSource | None = None,
        follow_ups: bool = True,
        record_later: bool = False,
    ) -> Reply:
        """One turn of `key`'s session (started or resumed as needed). Raises SessionError.

        Turns of one key run one at a time: a turn waits until the running one has ended.
        `taint`: the prompt carries text nobody trusted typed (a counterpart's message, a
        forwarded one): the session is tainted from now on. A Taint says whose text it is; a
        TaintSource also says what the session may do without asking the owner in this turn
        (else its role's rules apply).
        `follow_ups=False` (a trigger's turn): what the person sends meanwhile is not
        injected into it but waits for a turn of its own.
        `record_later`: the turn's usage rows and summary are kept in memory, so the reply is
        not delayed by writing them; the caller calls `flush()` once the reply is on its way
        (`aclose()` flushes what is left).
        """
        try:
            async with self._pool.lock_for(key):
                rules = taint if isinstance(taint, TaintSource) else None
                with self._marked(key, rules, not follow_ups, record_later):
                    self._starting.add(key)
                    session, prime = await self._session_for(key, role, person_id)
                    self._starting.discard(key)
                    if taint is not None:
                        await self._mark(key, _taint_of(taint, self._clock))
                    if key in self._stops:  # /stop came while the process was starting
                        return Reply("", session.session_id, Usage(), interrupted=True)
                    try:
                        reply = await self._run(session, prompt, prime)
                    except ResumeFailed as exc:
                        session, prime = await self._fresh_after(key, role, person_id, exc)
                        reply = await self._run(session, prompt, prime)
                    return dataclasses.replace(reply, tainted=key in self._taints)
        finally:
            # After the lock is released: a turn waiting for room may now evict this session.
            await self._pool.notify()

    def running(self, key: str, /) -> bool:
        """True while `key` has a turn running that follow_up() would inject into."""
        session = self._pool.get(key)
        return session is not None and session.busy and key not in self._sealed

    async def follow_up(self, key: str, text: str, /, *, taint: Taint | None = None) -> bool:
        """Inject `text` into `key`'s running turn; False if none runs (make it a turn).
        `taint`: the text is someone else's (a forwarded message): the session is tainted
        before it reads it."""
        session = self._pool.get(key)
        if not self.running(key) or session is None:
            return False
        if taint is not None:
            await self._mark(key, _taint_of(taint, self._clock))
        return await session.follow_up(text)

    def tainted(self, key: str, /) -> Taint | None:
        """Why `key`'s session is tainted, if it is (known once it ran in this process)."""
        return self._taints.get(key)

    async def discard(self, key: str, /) -> None:
        """Close and forget a throwaway session (a channel post's) after its turn: its
        process, its row and its summary; its folder and transcript are the caller's."""
        async with self._pool.lock_for(key):
            await self.flush()
            await self._pool.discard(key)
            await self._repo.delete(key)
            self._records.forget(key)
            self._taints.pop(key, None)
        folder = self._builder.forget(key)
        self._pool.forget_lock(key)
        if folder is not None:
            transcripts = self._builder.transcripts(folder)
            await asyncio.to_thread(_remove, folder, transcripts)

    async def interrupt(self, key: str, /) -> bool:
        """Stop `key`'s running turn (/stop); its run_turn returns a Reply marked interrupted.
        A turn whose session is still starting (launching, waiting for room) ends unrun."""
        session = self._pool.get(key)
        if session is not None and await session.interrupt():
            return True
        if key in self._starting:
            self._stops.add(key)
            return True
        return False

    async def reset(self, key: str, /) -> None:
        """Start `key` afresh (/clear): stop its process, forget its SDK session and summary."""
        await self.interrupt(key)
        async with self._pool.lock_for(key):
            await self.flush()  # else a held summary could outlive the clear
            await self._pool.discard(key)
            await self._repo.clear(key)
            self._records.forget(key)
            self._taints.pop(key, None)

    async def close_idle(self, older_than: float, /) -> int:
        """Close sessions unused for `older_than` seconds; they resume on their next message."""
        return await self._pool.close_idle(older_than)

    async def aclose(self) -> None:
        """Close every live session (shutdown) and write the records still held."""
        await self._pool.aclose()
        await self.flush()

    async def flush(self) -> None:
        """Write the usage rows and summaries that `run_turn(record_later=True)` held back.
        A failure is logged (they are bookkeeping: the reply is already on its way)."""
        await self._records.flush()

    # -- SessionObserver ---------------------------------------------------------------------

    async def session_id_changed(self, session: AgentSession, session_id: str, /) -> None:
        await self._repo.set_sdk_session_id(session.key, session_id)

    def rate_limit_changed(self, session: AgentSession, info: RateLimitInfo, /) -> None:
        if self._on_rate_limit is not None:
            self._on_rate_limit(
                window=info.rate_limit_type,
                status=info.status,
                utilization=info.utilization,
                resets_at=info.resets_at,
            )

    async def result_received(self, session: AgentSession, result: ResultMessage, /) -> None:
        await self._records.result(session, result)

    # -- internals ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _marked(
        self, key: str, source: TaintSource | None, sealed: bool, later: bool
    ) -> Iterator[None]:
        """Flags of the turn `key` is running (read by its hooks, `running`, the records)."""
        if source is not None:
            self._sources[key] = source
        if sealed:
            self._sealed.add(key)
        if later:
            self._records.hold(key)
        try:
            yield
        finally:
            self._sources.pop(key, None)
            self._records.release(key)
            for marks in (self._sealed, self._starting, self._stops):
                marks.discard(key)

    def _taint_rule(self, key: str) -> TaintRule:
        """What the hooks of `key`'s session let it do once it is tainted."""

        async def mark(taint: Taint) -> None:
            await self._mark(key, taint)

        return TaintRule(
            is_tainted=lambda: key in self._taints,
            read_only=self._read_only,
            source=lambda: self._source_of(key),
            approver=self._approver,
            mark=mark,
            outside=self._outside,
            taint=lambda: self._taints.get(key),
        )

    def _source_of(self, key: str) -> TaintSource | None:
        """The running turn's own rules, else the role's; the cause is the session's own."""
        source = self._sources.get(key) or self._builder.confinement(key)
        taint = self._taints.get(key)
        if taint is None or key in self._sources:
            return source
        return dataclasses.replace(source, caused_by=taint.caused_by, person_id=taint.person_id)

    async def _mark(self, key: str, taint: Taint) -> None:
        """`key`'s session takes in outside text: tainted from now on (kept in SessionRepo)."""
        if key in self._taints:
            return
        self._taints[key] = taint
        if not await self._repo.set_tainted(key, taint.to_json()):
            logger.warning("%s: its taint could not be stored (no session row yet)", key)

    async def _run(self, session: AgentSession, prompt: str, prime: str | None) -> Reply:
        try:
            reply = await session.run_turn(summary.primed(prime, prompt) if prime else prompt)
        except RoleViolation as exc:
            await self._refuse(session, exc)
            raise
        except SessionError:
            if not session.usable:
                await self._pool.discard(session.key)
            raise
        await self._records.remember(session.key, prompt, reply)
        return reply

    async def _session_for(
        self, key: str, role: RoleSpec, person_id: int | None
    ) -> tuple[AgentSession, str | None]:
        session = self._pool.get(key)
        current = self._builder.current(key, role)
        if session is not None and session.usable and session.role == role and current:
            self._pool.touch(key)
            return session, None
        await self._pool.discard(key)
        cwd = self._builder.cwd(key, role, person_id)
        cwd.mkdir(parents=True, exist_ok=True)
        await self.flush()  # the row read below must hold the newest summary
        record = await self._repo.upsert(key, role=role.name, cwd=str(cwd))
        self._records.load(key, record.summary)
        if record.tainted_by and key not in self._taints:
            self._taints[key] = Taint.from_json(record.tainted_by)
        try:
            return await self._start(key, role, person_id, cwd, record.sdk_session_id), None
        except ResumeFailed as exc:
            return await self._fresh_after(key, role, person_id, exc)

    async def _fresh_after(
        self, key: str, role: RoleSpec, person_id: int | None, exc: ResumeFailed
    ) -> tuple[AgentSession, str | None]:
        """Resuming failed: start a new session primed with the summary; the person sees nothing."""
        logger.warning("%s: %s; starting a fresh session from its summary", key, exc)
        await self._pool.discard(key)
        await self._repo.set_sdk_session_id(key, None)
        cwd = self._builder.cwd(key, role, person_id)
        session = await self._start(key, role, person_id, cwd, None)
        return session, self._records.summary_of(key)

    async def _start(
        self, key: str, role: RoleSpec, person_id: int | None, cwd: Path, resume: str | None
    ) -> AgentSession:
        return await self._pool.open(
            key, lambda: self._builder.make(key, role, person_id, cwd, resume)
        )

    async def _refuse(self, session: AgentSession, exc: RoleViolation) -> None:
        logger.error("%s: %s", session.key, exc)
        await self._pool.discard(session.key)
        await self._audit.record(
            "role_violation",
            session_key=session.key,
            role=session.role.name,
            person_id=session.person_id,
            detail={"extra_tools": sorted(exc.extra)},
            decision="refused",
        )


def _taint_of(source: Taint | TaintSource, clock: Clock) -> Taint:
    return Taint(caused_by=source.caused_by, person_id=source.person_id, since=clock())


def _remove(*folders: Path | None) -> None:
    """A throwaway session's folder and transcripts: what it read is gone with it."""
    for folder in folders:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
