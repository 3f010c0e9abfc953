"""SessionManager: live sessions by key (LRU cap), lazy start and resume, fresh start on failure."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from claude_agent_sdk import ResultMessage

from jobs.config import Settings
from jobs.errors import ResumeFailed, RoleViolation, SessionError
from jobs.sessions import summary
from jobs.sessions.agent import INTERRUPT_GRACE_SECONDS, AgentSession
from jobs.sessions.hooks import HookScope, session_hooks
from jobs.sessions.options import build_options, cli_env, people_dir, session_cwd
from jobs.sessions.replies import Reply, Usage
from jobs.sessions.roles import RoleSpec, tool_policy
from jobs.storage import AuditRepo, SessionRepo, UsageRepo
from jobs.tools.registry import ToolServers

logger = logging.getLogger(__name__)
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


class SessionManager:
    """At most `max_live` CLI processes; an idle person costs a row in SessionRepo, not one."""

    def __init__(
        self,
        *,
        config: SessionSettings,
        sessions: SessionRepo,
        usage: UsageRepo,
        audit: AuditRepo,
        tools: ToolServers,
    ) -> None:
        self._config = config
        self._repo = sessions
        self._usage = usage
        self._audit = audit
        self._tools = tools
        self._live: OrderedDict[str, AgentSession] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._summaries: dict[str, str] = {}
        self._room = asyncio.Condition()
        self._opening = 0
        self._closing = 0

    @property
    def live_keys(self) -> tuple[str, ...]:
        """Keys with a running CLI process, least recently used first."""
        return tuple(self._live)

    async def run_turn(
        self, key: str, role: RoleSpec, prompt: str, *, person_id: int | None = None
    ) -> Reply:
        """One turn of `key`'s session (started or resumed as needed). Raises SessionError."""
        try:
            async with self._lock_for(key):
                session, prime = await self._session_for(key, role, person_id)
                try:
                    return await self._run(session, prompt, prime)
                except ResumeFailed as exc:
                    session, prime = await self._fresh_after(key, role, person_id, exc)
                    return await self._run(session, prompt, prime)
        finally:
            # After the lock is released: a turn waiting for room may now evict this session.
            await self._notify_room()

    async def follow_up(self, key: str, text: str, /) -> bool:
        """Inject `text` into `key`'s running turn; False if none runs (make it a turn)."""
        session = self._live.get(key)
        return session is not None and session.busy and await session.follow_up(text)

    async def interrupt(self, key: str, /) -> bool:
        """Stop `key`'s running turn (/stop); its run_turn returns a Reply marked interrupted."""
        session = self._live.get(key)
        return session is not None and await session.interrupt()

    async def reset(self, key: str, /) -> None:
        """Start `key` afresh (/clear): stop its process, forget its SDK session and summary."""
        await self.interrupt(key)
        async with self._lock_for(key):
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
        """Close every live session (shutdown)."""
        sessions = list(self._live.values())
        self._live.clear()
        await asyncio.gather(*(s.close() for s in sessions))

    # -- SessionObserver ---------------------------------------------------------------------

    async def session_id_changed(self, session: AgentSession, session_id: str, /) -> None:
        await self._repo.set_sdk_session_id(session.key, session_id)

    async def result_received(self, session: AgentSession, result: ResultMessage, /) -> None:
        usage = Usage.of(result)
        model = next(iter(result.model_usage or {}), None)
        await self._usage.record(
            session.key,
            session.role.name,
            session.person_id,
            model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            cost_usd=usage.cost_usd,
            duration_ms=usage.duration_ms,
        )

    # -- internals ---------------------------------------------------------------------------

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
        await self._repo.set_summary(key, rolled)

    async def _session_for(
        self, key: str, role: RoleSpec, person_id: int | None
    ) -> tuple[AgentSession, str | None]:
        session = self._live.get(key)
        if session is not None and session.usable and session.role == role:
            self._live.move_to_end(key)
            return session, None
        await self._discard(key)
        return await self._open(key, role, person_id)

    async def _open(
        self, key: str, role: RoleSpec, person_id: int | None
    ) -> tuple[AgentSession, str | None]:
        cwd = session_cwd(
            role,
            workspace=self._config.workspace_dir,
            people=self._config.people_dir,
            person_id=person_id,
        )
        cwd.mkdir(parents=True, exist_ok=True)
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
        cwd = session_cwd(
            role,
            workspace=self._config.workspace_dir,
            people=self._config.people_dir,
            person_id=person_id,
        )
        session = await self._start(key, role, person_id, cwd, None)
        return session, self._summaries.get(key, "")

    async def _start(
        self, key: str, role: RoleSpec, person_id: int | None, cwd: Path, resume: str | None
    ) -> AgentSession:
        await self._make_room()
        self._opening += 1
        try:
            session = self._build(key, role, person_id, cwd, resume)
            await session.start()
        finally:
            self._opening -= 1
        self._live[key] = session
        return session

    def _build(
        self, key: str, role: RoleSpec, person_id: int | None, cwd: Path, resume: str | None
    ) -> AgentSession:
        policy = tool_policy(role, self._tools)
        scope = HookScope(session_key=key, role=role.name, person_id=person_id)
        options = build_options(
            role,
            cwd=cwd,
            resume=resume,
            servers=self._tools.build(role.servers, person_id=person_id),
            mcp_tools=self._tools.tool_names(role.servers),
            env=self._config.env,
            hooks=session_hooks(role, policy, audit=self._audit, scope=scope),
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
