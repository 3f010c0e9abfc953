"""SessionManager: a turn of a key's session, started or resumed as needed (fresh from its
summary when resuming fails), with the session's sticky taint and the turn's follow-up rules;
/stop, /clear, throwaway sessions. Implements the Sessions port (port.py).

What it leans on: LivePool (the processes, LRU cap), SessionBuilder (making a session),
KeyStates (per-key locks and flags, dropped when idle), TaintBook (sticky taint), TurnRecords
(usage and summaries). A session whose role does not keep warm (everyone's but the owner's)
closes its process shortly after its turn (SessionSettings.linger, 2 s): it resumes in about
0.4 s when needed again.

A turn whose session gave a plain answer back before the CLI finished it (AgentSession's
settling) holds its records' charge until it has settled; the key's next turn, reset and
discard wait for that, and flush(key) does too, so the turn's usage is written by then.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from claude_agent_sdk import RateLimitInfo, ResultMessage

from jobs.clock import Clock, utc_now
from jobs.errors import ResumeFailed, RoleViolation, SessionError, TurnRefused
from jobs.sessions import summary
from jobs.sessions.agent import AgentSession, ClientFactory
from jobs.sessions.builder import SessionBuilder
from jobs.sessions.charges import Charge, TurnGate
from jobs.sessions.clipids import CliPids
from jobs.sessions.keys import SessionKey
from jobs.sessions.keystate import KeyState, KeyStates
from jobs.sessions.options import ExtensionsSource, PromptContext, SkillSource
from jobs.sessions.pool import LivePool
from jobs.sessions.records import TurnRecords
from jobs.sessions.replies import Reply, Usage
from jobs.sessions.rewind import UNANSWERED, rewind_point
from jobs.sessions.roles import ModelSource, RoleSpec
from jobs.sessions.settings import SessionSettings
from jobs.sessions.stream import ReplyStream
from jobs.sessions.taint import READ_ONLY_BUILTINS, Approver, OutsideReads, Taint, TaintSource
from jobs.sessions.taintbook import TaintBook
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

    def __init__(  # noqa: PLR0913 - the last ones are optional feature hooks
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
        client_factory: ClientFactory | None = None,
        gate: TurnGate | None = None,
        models: ModelSource | None = None,
    ) -> None:
        """`read_only_tools`: qualified MCP tool names a tainted session may still use.
        `extensions`: the owner's MCP servers and plugins, for roles with `extensions`.
        `approver`: asks the owner about the other calls of a tainted session (else denied).
        `context`: MEMORY.md for the prompt of roles that get it.
        `outside`: which calls read outside text (they taint the session) and where a
        tainted session may never write. `skills`: the owner's skills as a plugin.
        `client_factory`: makes the SDK client (tests may script one). `gate`: every turn
        passes it before it runs (budgets, /pause). `models`: the model each role runs."""
        self._repo = sessions
        self._gate = gate
        self._models = models
        self._audit = audit
        self._on_rate_limit = on_rate_limit
        pids = CliPids(path=config.cli_pids) if config.cli_pids is not None else None
        self._keys = KeyStates(live=lambda key: self._pool.get(key) is not None)
        self._pool = LivePool(
            max_live=config.max_live,
            pids=pids,
            in_use=self._keys.in_use,
            on_closed=lambda key: self._builder.closed(key),
        )
        self._records = TurnRecords(sessions=sessions, usage=usage)
        self._builder = SessionBuilder(
            config=config,
            tools=tools,
            audit=audit,
            observer=self,
            taint_for=lambda key: self._taints.rule(key),
            extensions=extensions,
            context=context,
            skills=skills,
            client_factory=client_factory,
        )
        self._taints = TaintBook(
            repo=sessions,
            keys=self._keys,
            confinement=self._builder.confinement,
            read_only=READ_ONLY_BUILTINS | frozenset(read_only_tools),
            approver=approver,
            outside=outside,
            clock=clock,
        )
        self._closing: set[asyncio.Task[None]] = set()
        self._settling: dict[SessionKey, asyncio.Task[None]] = {}  # dropped once settled
        self._linger = config.linger

    @property
    def live_keys(self) -> tuple[SessionKey, ...]:
        """Keys with a running CLI process, least recently used first."""
        return self._pool.keys

    @property
    def keys_in_memory(self) -> int:
        """How many keys have state in memory (in use or live): it never grows with idle ones."""
        return len(self._keys)

    async def run_turn(  # noqa: PLR0913 - one keyword per aspect of a turn, named at calls
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
        """One turn of `key`'s session (started or resumed as needed). Raises SessionError:
        TurnRefused when the gate does not let it start, or /pause stopped it (`hold_others`).

        Turns of one key run one at a time: a turn waits until the running one has ended.
        `taint`: the prompt carries text nobody trusted typed (a counterpart's message, a
        forwarded one): the session is tainted from now on. A Taint says whose text it is; a
        TaintSource also says what the session may do without asking the owner in this turn
        (else its role's rules apply).
        `follow_ups=False` (a trigger's turn): what the person sends meanwhile is not
        injected into it but waits for a turn of its own.
        `record_later`: the reply is not delayed by bookkeeping: the turn's usage rows and
        summary are kept in memory, and a plain answer comes back before the CLI has reported
        its usage (the Reply's is then empty: AgentSession's settling); the caller calls
        `flush(key)` once the reply is on its way, which writes them (`aclose()` writes what
        is left). `stream`: told the reply as it is written.
        `charge`: who the turn's spend counts against (default: the session's own).
        """
        charge = charge or Charge.of_key(key)
        if self._models is not None:
            role = self._models.apply(role)  # a changed choice restarts the session (resumed)
        try:
            async with self._keys.turn(key) as state:
                await self._settled(key)  # the last turn's usage first, against its charge
                state.source = taint if isinstance(taint, TaintSource) else None
                state.sealed = not follow_ups
                state.early = record_later
                state.charge = charge  # before the gate: a /pause meanwhile finds it
                if self._gate is not None:
                    await self._gate.admit(charge)
                self._records.begin(key, charge, later=record_later)
                settling = False
                try:
                    reply = await self._turn(key, state, role, prompt, person_id, taint, stream)
                    settling = self._settle_later(key)
                finally:
                    if not settling:
                        self._records.release(key)
                if state.refused is not None:
                    raise state.refused
                return reply
        finally:
            # After the lock is released: a turn waiting for room may now evict this session.
            await self._pool.notify()
            if not role.keep_warm:
                self._close_soon(key)

    def running(self, key: SessionKey, /) -> bool:
        """True while `key` has a turn running that follow_up() would inject into."""
        session, state = self._pool.get(key), self._keys.get(key)
        return session is not None and session.busy and not (state is not None and state.sealed)

    async def follow_up(self, key: SessionKey, text: str, /, *, taint: Taint | None = None) -> bool:
        """Inject `text` into `key`'s running turn; False if none runs (make it a turn).
        `taint`: the text is someone else's (a forwarded message): the session is tainted
        before it reads it."""
        session = self._pool.get(key)
        if not self.running(key) or session is None:
            return False
        if taint is not None:
            await self._taints.mark(key, taint)
        return await session.follow_up(text)

    async def tainted(self, key: SessionKey, /) -> Taint | None:
        """Why `key`'s session is tainted, if it is."""
        return await self._taints.known(key)

    async def interrupt(self, key: SessionKey, /) -> bool:
        """Stop `key`'s running turn (/stop); its run_turn returns a Reply marked interrupted.
        A turn whose session is still starting (launching, waiting for room) ends unrun."""
        session = self._pool.get(key)
        if session is not None and await session.interrupt():
            return True
        state = self._keys.get(key)
        if state is not None and state.starting:
            state.stop = True
            return True
        return False

    async def hold_others(self, refusal: TurnRefused, /) -> int:
        """/pause: stop every running or starting turn the owner did not start (people,
        tasks, triggers); each ends by raising `refusal`. Returns how many."""
        stopped = 0
        for key, state in self._keys.items():
            charge = state.charge
            if charge is None or charge.by_owner or state.refused is not None:
                continue
            state.refused = refusal
            if await self.interrupt(key):
                stopped += 1
        return stopped

    async def reset(self, key: SessionKey, /) -> None:
        """Start `key` afresh (/clear): stop its process, forget its SDK session, summary and
        taint."""
        await self.interrupt(key)
        async with self._keys.turn(key):
            await self._settled(key)
            await self.flush()  # else a held summary could outlive the clear
            await self._pool.discard(key)
            await self._repo.clear(str(key))
            self._records.forget(key)
            self._records.cleared(key)
            self._taints.clear(key)

    async def discard(self, key: SessionKey, /) -> None:
        """Close and forget a throwaway session (a channel post's) after its turn: its
        process, its row, its summary, its folder and its transcripts."""
        async with self._keys.turn(key):
            await self._settled(key)
            await self.flush()
            await self._pool.discard(key)
            await self._repo.delete(str(key))
            self._records.forget(key)
            self._taints.clear(key)
        folder = self._builder.forget(key)
        if folder is not None:
            transcripts = self._builder.transcripts(folder)
            await asyncio.to_thread(_remove, folder, transcripts)

    async def close_idle(self, older_than: float, /) -> int:
        """Close sessions unused for `older_than` seconds; they resume on their next message."""
        closed = await self._pool.close_idle(older_than)
        for key in closed:
            self._keys.prune(key)
        return len(closed)

    async def aclose(self) -> None:
        """Close every live session (shutdown) and write the records still held."""
        for closing in self._closing:
            closing.cancel()
        await asyncio.gather(*self._closing, return_exceptions=True)
        await self._pool.aclose()  # a session still settling gets the interrupt grace
        if self._settling:
            await asyncio.wait(list(self._settling.values()))
        await self.flush()

    async def flush(self, key: SessionKey | None = None, /) -> None:
        """Write the usage rows and summaries that `run_turn(record_later=True)` held back;
        with `key`, once its last turn has settled (its usage is known then).
        A failure is logged (they are bookkeeping: the reply is already on its way)."""
        if key is not None:
            await self._settled(key)
        await self._records.flush()

    # -- SessionObserver ---------------------------------------------------------------------

    async def session_id_changed(self, session: AgentSession, session_id: str, /) -> None:
        await self._repo.set_sdk_session_id(str(session.key), session_id)

    def rate_limit_changed(self, session: AgentSession, info: RateLimitInfo, /) -> None:
        if self._on_rate_limit is not None:
            self._on_rate_limit(
                window=info.rate_limit_type,
                status=info.status,
                utilization=info.utilization,
                resets_at=info.resets_at,
            )

    async def result_received(
        self, session: AgentSession, result: ResultMessage, /, *, model: str | None
    ) -> float:
        return await self._records.result(session, result, model=model)

    # -- internals ---------------------------------------------------------------------------

    async def _turn(
        self,
        key: SessionKey,
        state: KeyState,
        role: RoleSpec,
        prompt: str,
        person_id: int | None,
        taint: Taint | TaintSource | None,
        stream: ReplyStream | None,
    ) -> Reply:
        state.starting = True
        session, prime = await self._session_for(key, role, person_id)
        state.starting = False
        if taint is not None:
            await self._taints.mark(key, taint)
        if state.stop:  # /stop came while the process was starting
            return Reply("", session.session_id, Usage(), interrupted=True)
        try:
            reply = await self._run(session, prompt, prime, stream, early=state.early)
        except ResumeFailed as exc:
            session, prime = await self._fresh_after(key, role, person_id, exc)
            reply = await self._run(session, prompt, prime, stream, early=state.early)
        if reply.error_kind in UNANSWERED and reply.prompt_ids:
            await self._rewind(key, role, person_id, reply)
        return dataclasses.replace(reply, tainted=state.taint is not None)

    async def _rewind(
        self, key: SessionKey, role: RoleSpec, person_id: int | None, reply: Reply
    ) -> None:
        """The model failed before answering: the message will be sent again once it is back,
        so the session's next start resumes from before this turn's prompt (a fork), and the
        model reads the message once. A turn in which a tool ran is kept (jobs.sessions.rewind)."""
        session_id = reply.session_id
        folder = self._builder.transcripts(self._builder.cwd(key, role, person_id))
        if session_id is None or folder is None:
            return
        await self._pool.discard(key)  # the CLI writes the rest of its transcript as it exits
        point = await asyncio.to_thread(
            rewind_point, folder / f"{session_id}.jsonl", reply.prompt_ids[0]
        )
        if point is None:
            return
        if point.at is None:  # the prompt began the conversation: nothing before it to keep
            await self._repo.set_sdk_session_id(str(key), None)
        else:
            await self._repo.set_resume_at(str(key), point.at)
        logger.info("%s: the unanswered turn is cut from the session's history", key)

    def _close_soon(self, key: SessionKey) -> None:
        """Close `key`'s process once its turn is over, unless another turn needs it."""
        if self._keys.in_use(key) or self._pool.get(key) is None:
            return
        closing = asyncio.create_task(self._close_if_unused(key), name=f"close-{key}")
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _close_if_unused(self, key: SessionKey) -> None:
        """After `linger` seconds without a turn (a person writing several messages in a row
        keeps their process for the next one), close it."""
        await asyncio.sleep(self._linger)
        session = self._pool.get(key)
        if session is None or self._keys.in_use(key):
            return
        if time.monotonic() - session.last_used < self._linger:
            return  # another turn ran meanwhile: it scheduled its own close
        async with self._keys.turn(key):
            await self._settled(key)
            session = self._pool.get(key)
            if session is not None and not session.busy:
                await self._pool.discard(key)
                self._records.forget(key)  # read again from SessionRepo at the next start

    def _settle_later(self, key: SessionKey) -> bool:
        """When `key`'s session is still finishing the turn that just gave its reply: release
        the turn's records once it has settled, and write what they held. True if so."""
        session = self._pool.get(key)
        if session is None or not session.settling:
            return False

        async def settle() -> None:
            try:
                await session.settled()
            finally:
                self._records.release(key)
            await self._records.flush()

        task = self._settling[key] = asyncio.create_task(settle(), name=f"settle-{key}")
        task.add_done_callback(lambda done: self._forget_settled(key, done))
        return True

    def _forget_settled(self, key: SessionKey, task: asyncio.Task[None]) -> None:
        if self._settling.get(key) is task:
            del self._settling[key]

    async def _settled(self, key: SessionKey) -> None:
        """Wait until `key`'s last turn has settled (see _settle_later)."""
        task = self._settling.get(key)
        if task is not None:
            await asyncio.wait([task])

    async def _run(
        self,
        session: AgentSession,
        prompt: str,
        prime: str | None,
        stream: ReplyStream | None,
        *,
        early: bool,
    ) -> Reply:
        try:
            text = summary.primed(prime, prompt) if prime else prompt
            reply = await session.run_turn(text, stream=stream, early=early)
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
        self, key: SessionKey, role: RoleSpec, person_id: int | None
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
        record = await self._repo.upsert(str(key), role=role.name, cwd=str(cwd))
        self._records.load(key, record.summary, cost_total=record.cost_total)
        self._taints.load(key, record)
        try:
            started = await self._start(
                key, role, person_id, cwd, record.sdk_session_id, record.resume_at
            )
            return started, None
        except ResumeFailed as exc:
            return await self._fresh_after(key, role, person_id, exc)

    async def _fresh_after(
        self, key: SessionKey, role: RoleSpec, person_id: int | None, exc: ResumeFailed
    ) -> tuple[AgentSession, str | None]:
        """Resuming failed: start a new session primed with the summary; the person sees nothing."""
        logger.warning("%s: %s; starting a fresh session from its summary", key, exc)
        await self._pool.discard(key)
        await self._repo.set_sdk_session_id(str(key), None)
        cwd = self._builder.cwd(key, role, person_id)
        session = await self._start(key, role, person_id, cwd, None)
        return session, self._records.summary_of(key)

    async def _start(
        self,
        key: SessionKey,
        role: RoleSpec,
        person_id: int | None,
        cwd: Path,
        resume: str | None,
        resume_at: str | None = None,
    ) -> AgentSession:
        return await self._pool.open(
            key, lambda: self._builder.make(key, role, person_id, cwd, resume, resume_at)
        )

    async def _refuse(self, session: AgentSession, exc: RoleViolation) -> None:
        logger.error("%s: %s", session.key, exc)
        await self._pool.discard(session.key)
        await self._audit.record(
            "role_violation",
            session_key=str(session.key),
            role=session.role.name,
            person_id=session.person_id,
            detail={"extra_tools": sorted(exc.extra)},
            decision="refused",
        )


def _remove(*folders: Path | None) -> None:
    """A throwaway session's folder and transcripts: what it read is gone with it."""
    for folder in folders:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
