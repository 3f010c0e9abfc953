"""SessionManager: live sessions by key (LRU cap), lazy start and resume, fresh start on failure."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from claude_agent_sdk import RateLimitInfo, ResultMessage

from jobs.config import Settings
from jobs.errors import ResumeFailed, RoleViolation, SessionError, StorageError
from jobs.sessions import summary
from jobs.sessions.agent import INTERRUPT_GRACE_SECONDS, AgentSession
from jobs.sessions.hooks import (
    OUTSIDE_TEXT,
    READ_ONLY_BUILTINS,
    Approver,
    HookScope,
    TaintRule,
    TaintSource,
    session_hooks,
)
from jobs.sessions.options import (
    ExtensionsSource,
    PromptContext,
    build_options,
    cli_env,
    gets_context,
    people_dir,
    session_cwd,
)
from jobs.sessions.replies import Reply, Usage
from jobs.sessions.roles import RoleSpec, task_folder, task_id_of, tool_policy
from jobs.storage import AuditRepo, SessionRepo, UsageRepo
from jobs.tools.registry import ToolServers

logger = logging.getLogger(__name__)


class OnRateLimit(Protocol):
    """Told each rate-limit report Claude Code sends (conversation.status.RateLimitBoard.note)."""

    def __call__(
        self, *, window: str | None, status: str, utilization: float | None, resets_at: int | None
    ) -> None: ...


cli_logger = logging.getLogger("jobs.sessions.cli")


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """The parts of Settings the sessions use; tests pass extra CLI env (the fake model's URL)."""

    workspace_dir: Path
    people_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    max_live: int = 4
    turn_timeout: float = 300.0
    interrupt_grace: float = INTERRUPT_GRACE_SECONDS

    @classmethod
    def from_settings(
        cls, settings: Settings, *, extra_env: Mapping[str, str] | None = None
    ) -> SessionSettings:
        return cls(
            workspace_dir=settings.workspace_dir,
            people_dir=people_dir(settings),
            env=cli_env(settings, extra=extra_env),
            max_live=settings.max_live_sessions,
            turn_timeout=settings.query_timeout_seconds,
        )


@dataclass(frozen=True, slots=True)
class _UsageRow:
    """One CLI turn's usage, as UsageRepo.record takes it."""

    key: str
    role: str
    person_id: int | None
    model: str | None
    usage: Usage


class SessionManager:
    """At most `max_live` CLI processes; an idle person costs a row in SessionRepo, not one."""

    def __init__(  # noqa: PLR0913 - the last four are optional feature hooks
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
    ) -> None:
        """`read_only_tools`: qualified MCP tool names a tainted turn may still use.
        `extensions`: the owner's MCP servers and plugins, for roles with `extensions`.
        `approver`: asks the owner about the other calls of a tainted turn (else denied).
        `context`: MEMORY.md for the prompt of roles that may use the memory server."""
        self._config = config
        self._repo = sessions
        self._usage = usage
        self._audit = audit
        self._tools = tools
        self._extensions = extensions
        self._built_with: dict[str, int | None] = {}  # key → extensions version of its process
        self._context = context
        self._on_rate_limit = on_rate_limit
        self._context_of: dict[str, str | None] = {}  # key → context version of its process
        self._live: OrderedDict[str, AgentSession] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._summaries: dict[str, str] = {}
        self._room = asyncio.Condition()
        self._opening = 0
        self._closing = 0
        self._read_only = READ_ONLY_BUILTINS | frozenset(read_only_tools)
        self._approver = approver
        self._tainted: dict[str, TaintSource] = {}  # keys whose running turn is tainted
        self._sealed: set[str] = set()  # keys whose running turn takes no follow-ups
        self._starting: set[str] = set()  # keys whose turn waits for its session to start
        self._stops: set[str] = set()  # keys /stop was sent to while starting
        self._later: set[str] = set()  # keys whose running turn holds its records back
        self._held_usage: list[_UsageRow] = []
        self._held_summaries: set[str] = set()  # keys whose summary is newer than its row
        self._flushing = asyncio.Lock()  # so held records are written in the order they came

    @property
    def live_keys(self) -> tuple[str, ...]:
        """Keys with a running CLI process, least recently used first."""
        return tuple(self._live)

    async def run_turn(
        self,
        key: str,
        role: RoleSpec,
        prompt: str,
        *,
        person_id: int | None = None,
        tainted: bool | TaintSource = False,
        follow_ups: bool = True,
        record_later: bool = False,
    ) -> Reply:
        """One turn of `key`'s session (started or resumed as needed). Raises SessionError.

        Turns of one key run one at a time: a turn waits until the running one has ended.
        `tainted`: the prompt carries text nobody trusted typed (a channel post), so only
        read-only tools may run in this turn; a TaintSource also says whose text it is and
        what the turn may do without asking the owner. `follow_ups=False` (a trigger's turn): what
        the person sends meanwhile is not injected into it but waits for a turn of its own.
        `record_later`: the turn's usage rows and summary are kept in memory, so the reply is
        not delayed by writing them; the caller calls `flush()` once the reply is on its way
        (`aclose()` flushes what is left).
        """
        try:
            async with self._lock_for(key):
                with self._marked(key, tainted, not follow_ups, record_later):
                    self._starting.add(key)
                    session, prime = await self._session_for(key, role, person_id)
                    self._starting.discard(key)
                    if key in self._stops:  # /stop came while the process was starting
                        return Reply("", session.session_id, Usage(), interrupted=True)
                    try:
                        return await self._run(session, prompt, prime)
                    except ResumeFailed as exc:
                        session, prime = await self._fresh_after(key, role, person_id, exc)
                        return await self._run(session, prompt, prime)
        finally:
            # After the lock is released: a turn waiting for room may now evict this session.
            await self._notify_room()

    def running(self, key: str, /) -> bool:
        """True while `key` has a turn running that follow_up() would inject into."""
        session = self._live.get(key)
        return session is not None and session.busy and key not in self._sealed

    async def follow_up(self, key: str, text: str, /) -> bool:
        """Inject `text` into `key`'s running turn; False if none runs (make it a turn)."""
        return self.running(key) and await self._live[key].follow_up(text)

    async def interrupt(self, key: str, /) -> bool:
        """Stop `key`'s running turn (/stop); its run_turn returns a Reply marked interrupted.
        A turn whose session is still starting (launching, waiting for room) ends unrun."""
        session = self._live.get(key)
        if session is not None and await session.interrupt():
            return True
        if key in self._starting:
            self._stops.add(key)
            return True
        return False

    async def reset(self, key: str, /) -> None:
        """Start `key` afresh (/clear): stop its process, forget its SDK session and summary."""
        await self.interrupt(key)
        async with self._lock_for(key):
            await self.flush()  # else a held summary could outlive the clear
            await self._discard(key)
            await self._repo.clear(key)
            self._summaries.pop(key, None)

    async def close_idle(self, older_than: float, /) -> int:
        """Close sessions unused for `older_than` seconds; they resume on their next message."""
        now = time.monotonic()
        idle = [
            s.key for s in self._live.values() if self._idle(s) and now - s.last_used > older_than
        ]
        for key in idle:
            await self._discard(key)
        return len(idle)

    async def aclose(self) -> None:
        """Close every live session (shutdown) and write the records still held."""
        sessions = list(self._live.values())
        self._live.clear()
        await asyncio.gather(*(s.close() for s in sessions))
        await self.flush()

    async def flush(self) -> None:
        """Write the usage rows and summaries that `run_turn(record_later=True)` held back.
        A failure is logged (they are bookkeeping: the reply is already on its way)."""
        async with self._flushing:
            rows, self._held_usage = self._held_usage, []
            keys, self._held_summaries = self._held_summaries, set()
            try:
                for row in rows:
                    await self._record_usage(row)
                for key in keys:  # the newest summary: a later turn may have rolled it on
                    if key in self._summaries:
                        await self._repo.set_summary(key, self._summaries[key])
            except StorageError:
                logger.exception("could not write %d usage rows and summaries", len(rows))

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
        model = next(iter(result.model_usage or {}), None)
        row = _UsageRow(session.key, session.role.name, session.person_id, model, Usage.of(result))
        if session.key in self._later:
            self._held_usage.append(row)
        else:
            await self._record_usage(row)

    # -- internals ---------------------------------------------------------------------------

    async def _record_usage(self, row: _UsageRow) -> None:
        usage = row.usage
        await self._usage.record(
            row.key,
            row.role,
            row.person_id,
            row.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            cost_usd=usage.cost_usd,
            duration_ms=usage.duration_ms,
        )

    @contextlib.contextmanager
    def _marked(
        self, key: str, tainted: bool | TaintSource, sealed: bool, later: bool
    ) -> Iterator[None]:
        """Flags of the turn `key` is running (read by its hooks, `running`, the records)."""
        if tainted:
            self._tainted[key] = OUTSIDE_TEXT if tainted is True else tainted
        if sealed:
            self._sealed.add(key)
        if later:
            self._later.add(key)
        try:
            yield
        finally:
            self._tainted.pop(key, None)
            for marks in (self._sealed, self._starting, self._stops, self._later):
                marks.discard(key)

    def _lock_for(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def _idle(self, session: AgentSession) -> bool:
        return not session.busy and not self._lock_for(session.key).locked()

    async def _run(self, session: AgentSession, prompt: str, prime: str | None) -> Reply:
        try:
            reply = await session.run_turn(summary.primed(prime, prompt) if prime else prompt)
        except RoleViolation as exc:
            await self._refuse(session, exc)
            raise
        except SessionError:
            if not session.usable:
                await self._discard(session.key)
            raise
        await self._remember(session.key, prompt, reply)
        return reply

    async def _remember(self, key: str, prompt: str, reply: Reply) -> None:
        if reply.is_error or not reply.text:
            return
        rolled = summary.roll(self._summaries.get(key, ""), prompt, reply.text)
        self._summaries[key] = rolled
        if key in self._later:
            self._held_summaries.add(key)
        else:
            await self._repo.set_summary(key, rolled)

    async def _session_for(
        self, key: str, role: RoleSpec, person_id: int | None
    ) -> tuple[AgentSession, str | None]:
        session = self._live.get(key)
        current = self._built_with.get(key) == self._extensions_version(role) and (
            self._context_of.get(key) == self._context_version(role)
        )
        if session is not None and session.usable and session.role == role and current:
            self._live.move_to_end(key)
            return session, None
        await self._discard(key)
        return await self._open(key, role, person_id)

    async def _open(
        self, key: str, role: RoleSpec, person_id: int | None
    ) -> tuple[AgentSession, str | None]:
        cwd = self._cwd(key, role, person_id)
        cwd.mkdir(parents=True, exist_ok=True)
        await self.flush()  # the row read below must hold the newest summary
        record = await self._repo.upsert(key, role=role.name, cwd=str(cwd))
        self._summaries[key] = record.summary
        try:
            return await self._start(key, role, person_id, cwd, record.sdk_session_id), None
        except ResumeFailed as exc:
            return await self._fresh_after(key, role, person_id, exc)

    async def _fresh_after(
        self, key: str, role: RoleSpec, person_id: int | None, exc: ResumeFailed
    ) -> tuple[AgentSession, str | None]:
        """Resuming failed: start a new session primed with the summary; the person sees nothing."""
        logger.warning("%s: %s; starting a fresh session from its summary", key, exc)
        await self._discard(key)
        await self._repo.set_sdk_session_id(key, None)
        session = await self._start(key, role, person_id, self._cwd(key, role, person_id), None)
        return session, self._summaries.get(key, "")

    def _cwd(self, key: str, role: RoleSpec, person_id: int | None) -> Path:
        task_id = task_id_of(key) if role.task_folder else None
        if task_id is not None:
            return task_folder(self._config.workspace_dir, task_id)
        return session_cwd(
            role,
            workspace=self._config.workspace_dir,
            people=self._config.people_dir,
            person_id=person_id,
        )

    async def _start(
        self, key: str, role: RoleSpec, person_id: int | None, cwd: Path, resume: str | None
    ) -> AgentSession:
        await self._make_room()
        self._opening += 1
        try:
            version = self._context_version(role)  # read before the text: never newer than it
            context = await self._context.for_session() if self._context and version else ""
            self._context_of[key] = version
            session = self._build(key, role, person_id, cwd, resume, context)
            await session.start()
        finally:
            self._opening -= 1
        self._live[key] = session
        return session

    def _build(
        self,
        key: str,
        role: RoleSpec,
        person_id: int | None,
        cwd: Path,
        resume: str | None,
        context: str = "",
    ) -> AgentSession:
        extra = self._extensions if role.extensions else None
        self._built_with[key] = self._extensions_version(role)
        policy = tool_policy(role, self._tools, prefixes=extra.tool_prefixes() if extra else ())
        scope = HookScope(session_key=key, role=role.name, person_id=person_id)
        options = build_options(
            role,
            cwd=cwd,
            resume=resume,
            servers={
                **(extra.mcp_servers() if extra else {}),
                **self._tools.build(role.servers, person_id=person_id),  # Jobs' own win
            },
            plugins=extra.plugins() if extra else (),
            context=context,
            mcp_tools=self._tools.tool_names(role.servers),
            env=self._config.env,
            hooks=session_hooks(
                role,
                policy,
                audit=self._audit,
                scope=scope,
                taint=TaintRule(
                    is_tainted=lambda: key in self._tainted,
                    read_only=self._read_only,
                    source=lambda: self._tainted.get(key),
                    approver=self._approver,
                ),
            ),
            stderr=lambda line: cli_logger.debug("[%s] %s", key, line),
        )
        return AgentSession(
            key=key,
            role=role,
            person_id=person_id,
            options=options,
            policy=policy,
            observer=self,
            turn_timeout=self._config.turn_timeout,
            interrupt_grace=self._config.interrupt_grace,
        )

    def _context_version(self, role: RoleSpec) -> str | None:
        if self._context is None or not gets_context(role):
            return None
        return self._context.version()

    def _extensions_version(self, role: RoleSpec) -> int | None:
        source = self._extensions if role.extensions else None
        return source.version if source is not None else None

    async def _make_room(self) -> None:
        """Wait until one more process fits under max_live, closing idle sessions (LRU first)."""
        while len(self._live) + self._opening + self._closing >= self._config.max_live:
            victim = next((s for s in self._live.values() if self._idle(s)), None)
            if victim is not None:
                logger.info("closing idle session %s to make room", victim.key)
                await self._discard(victim.key)
                continue
            async with self._room:
                await self._room.wait()

    async def _discard(self, key: str) -> None:
        session = self._live.pop(key, None)
        if session is None:
            return
        self._closing += 1
        try:
            await session.close()
        finally:
            self._closing -= 1
            await self._notify_room()

    async def _notify_room(self) -> None:
        async with self._room:
            self._room.notify_all()

    async def _refuse(self, session: AgentSession, exc: RoleViolation) -> None:
        logger.error("%s: %s", session.key, exc)
        await self._discard(session.key)
        await self._audit.record(
            "role_violation",
            session_key=session.key,
            role=session.role.name,
            person_id=session.person_id,
            detail={"extra_tools": sorted(exc.extra)},
            decision="refused",
        )
