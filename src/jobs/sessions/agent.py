"""AgentSession: one Claude Code CLI process (ClaudeSDKClient): turns, follow-ups, stop, timeout.

How a turn knows it is over: every prompt goes out with its own uuid, and the CLI lists in
each ResultMessage the uuids that CLI turn took in (`user_message_uuids`). A follow-up sent
while a tool runs is absorbed into the running CLI turn; one sent while text streams becomes
a CLI turn of its own. Either way `run_turn` returns once every uuid it sent is covered, so
the caller gets one Reply for the prompt and its follow-ups, and no ResultMessage is left
behind for the next turn. A result of a CLI turn that took in none of them (a stray, or one
the CLI injected itself) has its usage recorded and its text dropped.

A plain answer is given back as soon as the model has finished it: when the model's message
ends its turn (stop reason end_turn) having used no tool, with no follow-up sent, the CLI has
nothing left to do but its own bookkeeping (the transcript, the result: about 3 ms, measured),
so `run_turn(early=True)` returns then and the session *settles* — reads on to the
ResultMessage and records its usage — while the reply goes out. The next turn waits for that
first (`settled()`). Only sessions without Stop hooks do this (`settle_early`): such a hook
could make the CLI go on after the model's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from claude_agent_sdk import (
    ClaudeAgentOptions,
    ClaudeSDKClient,
    ClaudeSDKError,
    Message,
    RateLimitEvent,
    RateLimitInfo,
    ResultMessage,
    StreamEvent,
    SystemMessage,
)

from jobs.errors import CliCrashed, ResumeFailed, RoleViolation, SessionError, TurnTimeout
from jobs.sessions.keys import SessionKey
from jobs.sessions.process import kill_tree
from jobs.sessions.replies import Reply, TurnCollector
from jobs.sessions.roles import RoleSpec, ToolPolicy
from jobs.sessions.stream import ReplyStream, StreamText

logger = logging.getLogger(__name__)

INTERRUPT_GRACE_SECONDS: Final = 5.0

ClientFactory = Callable[[ClaudeAgentOptions], ClaudeSDKClient]
"""Makes the SDK client of a session (ClaudeSDKClient itself; a test may script one)."""


class SessionObserver(Protocol):
    """What a session reports upward (SessionManager): awaited in message order, so be quick."""

    async def session_id_changed(self, session: AgentSession, session_id: str, /) -> None:
        """An init message named a session id different from the last one (persist it)."""

    async def result_received(
        self, session: AgentSession, result: ResultMessage, /, *, model: str | None
    ) -> float:
        """A CLI turn ended (record its usage; `model`: the one that answered, when known);
        also called for stray results. Returns what that CLI turn cost."""

    def rate_limit_changed(self, session: AgentSession, info: RateLimitInfo, /) -> None:
        """Claude Code reported a change of the account's rate-limit state (for /usage)."""


@dataclass(frozen=True, slots=True)
class _Ended:
    """The CLI's message stream ended (process gone); `error` says why, when known."""

    error: BaseException | None


@dataclass
class _Turn:
    collector: TurnCollector = field(default_factory=TurnCollector)
    sent: set[str] = field(default_factory=set)
    order: list[str] = field(default_factory=list)
    """The uuids in `sent`, in the order sent."""
    consumed: set[str] = field(default_factory=set)
    segments: int = 0
    stopping: bool = False
    stream: StreamText = field(default_factory=StreamText)
    plain: bool = True
    """No tool has been called in this turn (so far)."""
    stop_reason: str | None = None
    """Why the model's latest message ended (its message_delta)."""


class AgentSession:
    """A live Claude session: `start()`, then turns one at a time, then `close()`."""

    def __init__(  # noqa: PLR0913 - keyword-only, one per collaborator
        self,
        *,
        key: SessionKey,
        role: RoleSpec,
        person_id: int | None,
        options: ClaudeAgentOptions,
        policy: ToolPolicy,
        observer: SessionObserver,
        turn_timeout: float,
        interrupt_grace: float = INTERRUPT_GRACE_SECONDS,
        client_factory: ClientFactory = ClaudeSDKClient,
        settle_early: bool = False,
    ) -> None:
        """`settle_early`: give a plain answer back before its ResultMessage (module docstring):
        only when nothing (a Stop hook) can make the CLI go on after the model's answer."""
        self.key = key
        self.role = role
        self.person_id = person_id
        self.session_id: str | None = options.resume
        self.last_used = time.monotonic()
        self._options = options
        self._policy = policy
        self._observer = observer
        self._timeout = turn_timeout
        self._grace = interrupt_grace
        self._make_client = client_factory
        self._settle_early = settle_early
        self._client: ClaudeSDKClient | None = None
        self._tail: asyncio.Task[None] | None = None  # the answered turn's rest (settling)
        self._pump: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[Message | _Ended] = asyncio.Queue()
        self._turn: _Turn | None = None
        self._pid: int | None = None
        self._seen_init = False
        self._broken = False
        self._abandoned = False  # a turn was cancelled while the CLI was still answering it

    @property
    def busy(self) -> bool:
        """True while a turn runs."""
        return self._turn is not None

    @property
    def settling(self) -> bool:
        """True while the CLI finishes a turn whose reply was already given back."""
        return self._tail is not None and not self._tail.done()

    async def settled(self) -> None:
        """Wait until the last turn is wholly over (its ResultMessage read and recorded).
        Never raises; cancelling the caller does not stop the settling."""
        if self._tail is not None:
            await asyncio.wait([self._tail])

    @property
    def pid(self) -> int | None:
        """The CLI's process id while it runs (from the SDK's initialize answer)."""
        return self._pid if self._client is not None else None

    @property
    def usable(self) -> bool:
        """False once the process died, timed out or broke its role: close it, start anew."""
        alive = self._pump is not None and not self._pump.done()
        return self._client is not None and alive and not self._broken

    async def start(self) -> None:
        """Start the CLI. Raises ResumeFailed if the stored session cannot be resumed."""
        client = self._make_client(self._options)
        try:
            await client.connect()
        except BaseException as exc:
            # A half-started client still holds the CLI and the SDK's message stream.
            with contextlib.suppress(Exception):
                await client.disconnect()
            if not isinstance(exc, ClaudeSDKError):
                raise
            if self._options.resume:
                raise ResumeFailed(
                    f"Could not resume session {self._options.resume}: {exc}"
                ) from exc
            raise SessionError(f"Claude Code did not start: {exc}") from exc
        self._client = client
        info = await client.get_server_info()
        pid = info.get("pid") if info else None
        self._pid = pid if isinstance(pid, int) else None
        self._pump = asyncio.create_task(self._read_all(client), name=f"claude-messages:{self.key}")

    async def run_turn(
        self, prompt: str, /, *, stream: ReplyStream | None = None, early: bool = False
    ) -> Reply:
        """Send `prompt`; return when it and every follow-up sent meanwhile are answered.
        `stream`: told the reply's text as it is written. `early`: a plain answer may come
        back before the CLI has finished the turn, with its usage still unknown (module
        docstring): the session is `settling` then."""
        await self.settled()
        if self._client is None or self._broken or self._turn is not None:
            raise SessionError(f"The {self.key} session cannot take a turn now.")
        turn = self._turn = _Turn(stream=StreamText(stream))
        try:
            async with asyncio.timeout(self._timeout) as deadline:
                await self._send(turn, prompt)
                return await self._collect(turn, early=early and self._settle_early)
        except TimeoutError:
            if not deadline.expired():
                raise
            await self._abort(turn)
            raise TurnTimeout(self._timeout) from None
        except asyncio.CancelledError:
            self._abandoned = True
            raise
        finally:
            self._turn = None
            self.last_used = time.monotonic()

    async def follow_up(self, text: str, /) -> bool:
        """Inject `text` into the running turn. False when no turn runs (send it as a turn)."""
        turn = self._turn
        if turn is None or turn.stopping or self._broken:
            return False
        try:
            await self._send(turn, text)
        except SessionError:
            return False  # the turn itself ends with the error
        return True

    async def interrupt(self) -> bool:
        """Stop the running turn (and follow-ups queued in it). False when none runs."""
        turn = self._turn
        if turn is None or self._client is None:
            return False
        turn.stopping = True
        await self._interrupt_quietly()
        return True

    async def close(self) -> None:
        """Stop the CLI (it flushes its transcript first). Safe to call twice."""
        tail = self._tail
        if tail is not None and not tail.done():  # a few ms, unless the CLI hangs
            await asyncio.wait([tail], timeout=self._grace)
            tail.cancel()
            await asyncio.wait([tail])
        if self._abandoned:  # else the CLI finishes that answer first (the SDK waits 5 s)
            await self._interrupt_quietly()
        client, self._client = self._client, None
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            await asyncio.wait([pump])
        self._inbox.put_nowait(_Ended(None))  # a turn still waiting ends with SessionError
        if client is not None:
            try:
                await client.disconnect()
            except ClaudeSDKError as exc:
                logger.warning("closing the %s session: %s", self.key, exc)

    # -- inside a turn ---------------------------------------------------------------------

    async def _send(self, turn: _Turn, text: str) -> None:
        assert self._client is not None
        message_id = str(uuid.uuid4())
        turn.sent.add(message_id)  # before the write: the answer may come before it returns
        turn.order.append(message_id)
        try:
            await self._client.query(_prompt(text, message_id))
        except ClaudeSDKError as exc:
            turn.sent.discard(message_id)
            self._broken = True
            raise SessionError(f"Could not send to Claude Code: {exc}") from exc

    async def _collect(self, turn: _Turn, *, early: bool = False) -> Reply:
        """Read the turn's messages to its end (`early`: or until a plain answer is finished,
        handing the rest to a settling task)."""
        while True:
            item = await self._inbox.get()
            if isinstance(item, _Ended):
                raise self._ended(item)
            if isinstance(item, ResultMessage):
                if await self._end_segment(turn, item):
                    reply = turn.collector.reply(interrupted=turn.stopping)
                    return dataclasses.replace(reply, prompt_ids=tuple(turn.order))
            elif isinstance(item, SystemMessage) and item.subtype == "init":
                await self._on_init(turn, item.data)
            elif isinstance(item, RateLimitEvent):
                self._observer.rate_limit_changed(self, item.rate_limit_info)
            elif isinstance(item, StreamEvent):
                turn.stream.event(item)
                if _answered(turn, item) and early and self._plain_answer(turn):
                    return self._answer_early(turn)
            else:
                turn.collector.add(item)

    async def _on_init(self, turn: _Turn, data: dict[str, Any]) -> None:
        self._seen_init = True
        excess = self._policy.excess(data.get("tools") or ())
        if excess:
            self._broken = True
            await self._interrupt_quietly()
            raise RoleViolation(self.role.name, excess)
        session_id = data.get("session_id")
        if isinstance(session_id, str) and session_id != self.session_id:
            self.session_id = session_id
            await self._observer.session_id_changed(self, session_id)
        if turn.stopping and turn.segments:
            # A follow-up queued before /stop started a CLI turn of its own: stop that too.
            await self._interrupt_quietly()

    async def _end_segment(self, turn: _Turn, result: ResultMessage) -> bool:
        """Account one ResultMessage; True when the turn is complete."""
        cost = await self._observer.result_received(self, result, model=turn.collector.model)
        listed = set(result.user_message_uuids or ())
        # Without a list (older CLI, some errors) a turn of ours took in whatever was sent so
        # far; one the CLI injected itself (a background task's notice) says so in `origin`.
        ours = not listed.isdisjoint(turn.sent) if listed else not _injected(result)
        turn.collector.end_segment(result, keep=ours, cost_usd=cost)
        if not ours:
            logger.info("dropped a result not of this turn in the %s session", self.key)
            return False
        turn.consumed |= listed or turn.sent
        turn.segments += 1
        return turn.sent <= turn.consumed

    def _plain_answer(self, turn: _Turn) -> bool:
        """The model's answer that just ended is the whole reply: one prompt, no tool, no
        follow-up or /stop, and every text block of it already in the collector."""
        text = turn.collector.text_so_far()
        return (
            turn.plain
            and len(turn.order) == 1
            and not turn.stopping
            and turn.segments == 0
            and self.session_id is not None
            and bool(text)
            and text == turn.stream.so_far()
        )

    def _answer_early(self, turn: _Turn) -> Reply:
        turn.stream.sink = None  # the caller is done with this turn's stream
        reply = turn.collector.answered(self.session_id)
        self._tail = asyncio.create_task(
            self._settle(turn, reply.text), name=f"claude-settle:{self.key}"
        )
        return dataclasses.replace(reply, prompt_ids=tuple(turn.order))

    async def _settle(self, turn: _Turn, said: str) -> None:
        """The rest of an answered turn: up to its ResultMessage, whose usage is recorded.
        The reply is out already, so what goes wrong now is logged, and the session is broken
        (started anew for the next turn) when the CLI died or hung."""
        try:
            async with asyncio.timeout(self._timeout) as deadline:
                reply = await self._collect(turn)
        except TimeoutError:
            if not deadline.expired():
                raise
            logger.warning("the %s session did not finish an answered turn", self.key)
            await self._abort(turn)
            return
        except asyncio.CancelledError:
            self._abandoned = True
            raise
        except Exception:  # nobody awaits this task: its failure is logged here
            logger.exception("the %s session failed after its answer was given", self.key)
            self._broken = True
            return
        if reply.is_error:
            logger.warning(
                "the %s session reported %s after its answer was given", self.key, reply.error_kind
            )
        elif reply.text != said:  # only a Stop hook Jobs did not know of could cause it
            logger.warning(
                "the %s session went on after its answer was given: %d characters not sent",
                self.key,
                max(len(reply.text) - len(said), 0),
            )

    def _ended(self, item: _Ended) -> SessionError:
        self._broken = True
        if self._client is None:
            return SessionError(f"The {self.key} session was closed during the turn.")
        if self._options.resume and not self._seen_init:
            return ResumeFailed(f"Claude Code exited while resuming: {item.error}")
        return CliCrashed(f"Claude Code stopped unexpectedly: {item.error or 'no reason given'}")

    async def _abort(self, turn: _Turn) -> None:
        """After a timeout: interrupt, wait a grace period for the CLI to stop, else kill it."""
        self._broken = True
        turn.stopping = True
        try:
            async with asyncio.timeout(self._grace):
                assert self._client is not None
                await self._client.interrupt()
                while not isinstance(item := await self._inbox.get(), ResultMessage | _Ended):
                    pass
                if isinstance(item, ResultMessage):
                    await self._observer.result_received(self, item, model=turn.collector.model)
                return
        except (TimeoutError, ClaudeSDKError) as exc:
            logger.warning("the %s session did not stop after a timeout (%r)", self.key, exc)
        if self._pid is not None:
            kill_tree(self._pid)

    async def _interrupt_quietly(self) -> None:
        if self._client is None:
            return
        try:
            async with asyncio.timeout(self._grace):
                await self._client.interrupt()
        except (TimeoutError, ClaudeSDKError) as exc:
            logger.warning("could not interrupt the %s session: %r", self.key, exc)

    async def _read_all(self, client: ClaudeSDKClient) -> None:
        """Move every SDK message into the inbox, so a turn can wait on it with a deadline."""
        try:
            async for message in client.receive_messages():
                self._inbox.put_nowait(message)
        except Exception as exc:  # noqa: BLE001 - the stream's end, whatever the cause, is reported
            self._inbox.put_nowait(_Ended(exc))
        else:
            self._inbox.put_nowait(_Ended(None))


def _answered(turn: _Turn, message: StreamEvent) -> bool:
    """Note what `message` says about the turn; True when the model's message just ended its
    turn (end_turn) with no tool called in the turn."""
    if message.parent_tool_use_id is not None:
        return False
    event = message.event
    kind = event.get("type")
    if kind == "content_block_start":
        block_type = str((event.get("content_block") or {}).get("type", ""))
        if block_type.endswith("tool_use"):  # tool_use, server_tool_use, mcp_tool_use
            turn.plain = False
    elif kind == "message_delta":
        turn.stop_reason = (event.get("delta") or {}).get("stop_reason")
    elif kind == "message_stop":
        return turn.plain and turn.stop_reason == "end_turn"
    return False


def _injected(result: ResultMessage) -> bool:
    origin = result.origin
    return origin is not None and origin.get("kind") != "human"


async def _prompt(text: str, message_id: str) -> AsyncIterator[dict[str, Any]]:
    """One user message, stamped with the uuid the ResultMessage will list."""
    yield {
        "type": "user",
        "message": {"role": "user", "content": text},
        "parent_tool_use_id": None,
        "session_id": "default",
        "uuid": message_id,
    }
