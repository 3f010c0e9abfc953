"""TaskSessions: each delegated task's own session, its turns one at a time, and their reports.

A task with a skill or a person to talk with has a persistent session: key `task:<id>`, cwd
the task's folder, resumed after a restart from the stored session id (mirrored into
tasks.session_id). Its turns come from the start, the counterpart's messages (routed here by
the dispatcher), the heartbeat (`resume_due`) and the owner (`tell`); a per-task lock keeps
them from overlapping. Once the counterpart can have written into the session, every turn
of it is tainted: what the counterpart wrote stays in its history (the session manager keeps
the taint for good). The same holds once the assignee wrote into the task's card. Such a turn
may still write to the task's people and the owner, update its own task, and read and write
in its folder; anything else (reading the owner's files included: it could send them on)
waits for the owner's approval. A task the owner granted private data (memory, files, chats)
asks the owner before it writes to anyone but the owner. A session is offered only its own
task's tools (the "task" server), its folder and its skill, plus what the owner granted.
A turn's final reply goes to the owner. cancel_task interrupts the running turn (`stop`);
from then on the task's turns neither run nor report. A turn the budgets or /pause refuse
(TurnRefused) leaves its step due: the heartbeat runs it once they allow (/resume runs what
is due at once); the owner's own instructions then come back to the owner, not lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from jobs.clock import Clock, utc_now
from jobs.delegation import prompts
from jobs.delegation.prompts import TaskCard
from jobs.errors import SessionError, TurnRefused
from jobs.extensions.skill_plugins import plugin_skill_names
from jobs.i18n.speakers import OwnerWords, english_words
from jobs.messages import OutboundMessage
from jobs.sessions.keys import SessionKey
from jobs.sessions.port import Sessions
from jobs.sessions.replies import Reply, Usage
from jobs.sessions.roles import has_private_grant, reads_anywhere, task_folder, task_role
from jobs.sessions.taint import FreeCall, TaintSource
from jobs.storage import InboxItem, OutboxRepo, PeopleRepo, Person, Task, TaskRepo, TaskStatus
from jobs.tools.messaging import person_label
from jobs.tools.task_tools import SEND_TOOL, UPDATE_TOOL

logger = logging.getLogger(__name__)

BOOKKEEPING_TOOLS = ("TodoWrite",)
"""Built-ins a tainted task turn may use without asking: they keep a list. (Skill is free for
the task's own skill only: another skill's text could be what the owner keeps to themselves.)"""


@dataclass(frozen=True, slots=True)
class TaskSessionSettings:
    owner_chat: int
    workspace: Path
    zone: tzinfo = UTC
    concurrency: int = 3
    """How many task sessions the heartbeat resumes at once."""


class TaskSessions:
    """Implements the owner tools' TaskRunner and the conversation's TaskTurns."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        tasks: TaskRepo,
        people: PeopleRepo,
        outbox: OutboxRepo,
        config: TaskSessionSettings,
        clock: Clock = utc_now,
        words: OwnerWords | None = None,
    ) -> None:
        """`words`: the owner's language, for Jobs' own words in the tasks' reports."""
        self._words = words or english_words
        self._sessions = sessions
        self._tasks = tasks
        self._people = people
        self._outbox = outbox
        self._config = config
        self._clock = clock
        self._locks: dict[int, asyncio.Lock] = {}
        self._background: set[asyncio.Task[None]] = set()

    # -- TaskRunner: the owner's tools --------------------------------------------------------

    def start(self, task_id: int, /) -> None:
        self._spawn(self._start(task_id), f"task-{task_id}-start")

    def tell(self, task_id: int, text: str, /) -> None:
        self._spawn(self._tell(task_id, text), f"task-{task_id}-owner")

    async def stop(self, task_id: int, /) -> bool:
        return await self._sessions.interrupt(SessionKey.task(task_id))

    async def trigger_turn(self, task_id: int, prompt: str, /, *, tainted: bool) -> Reply:
        """A trigger's turn of the task's session (a schedule made for the task). Tainted like
        every turn of a session the counterpart wrote in, however trusted the trigger is."""
        async with self._lock(task_id):
            task = await self._tasks.get(task_id)
            if task is None or not task.active:
                raise SessionError(f"Task #{task_id} is no longer active.")
            card = await self._card(task)
            # A taint's cause is recorded (and shown with an approval) as said: English.
            outside = "a post in a chat the task watches" if tainted else None  # i18n: skip
            taint = self._taint(card, message=False, outside=outside)
            framed = prompts.trigger_prompt(card, prompt)
            return await self._turn(card, framed, taint, sealed=True)

    # -- TaskTurns: the counterpart's messages ------------------------------------------------

    def frame(self, item: InboxItem, text: str, /) -> str:
        handle = f"@{item.sender_username}, " if item.sender_username else ""
        who = f"{item.sender_name or 'someone'} ({handle}id {item.sender_id})"
        return prompts.frame_message(text, who=who)

    async def counterpart_turn(self, task_id: int, item: InboxItem, prompt: str, /) -> Reply:
        """A turn of the task's session for the counterpart's message (`prompt`, framed)."""
        async with self._lock(task_id):
            task = await self._tasks.get(task_id)
            if task is None:
                raise SessionError(f"Task #{task_id} is gone.")
            if task.status is TaskStatus.CANCELLED:  # while this turn waited for the lock
                return Reply("", task.session_id, Usage(), interrupted=True)
            card = await self._card(task)
            text = prompts.counterpart_prompt(card, prompt, self._clock())
            return await self._turn(card, text, self._taint(card, message=True), sealed=False)

    async def report(self, task_id: int, text: str, /) -> list[OutboundMessage]:
        """The owner's message from a task turn's reply (none for NOTHING_TO_REPORT, nor once
        the task is cancelled: a turn the cancel interrupted says nothing more)."""
        task = await self._tasks.get(task_id)
        if task is None or task.status is TaskStatus.CANCELLED:
            return []
        said = prompts.report_text(task, text, await self._words())
        return [] if said is None else [OutboundMessage.formatted(self._config.owner_chat, said)]

    # -- the heartbeat ------------------------------------------------------------------------

    async def resume_due(self, now: datetime | None = None) -> int:
        """Resume every task session whose next step is due, a few at a time; returns how
        many ran. Tasks with nothing due cost no model call; a task whose lock is held (a
        reply being answered) is left for the next beat."""
        now = self._clock() if now is None else now
        due = await self._tasks.due(now)
        limit = asyncio.Semaphore(self._config.concurrency)
        ran = await asyncio.gather(*(self._resume(task.id, now, limit) for task in due))
        return sum(ran)

    async def aclose(self) -> None:
        """Cancel the turns started in the background (shutdown: they resume from the task)."""
        running = list(self._background)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    # -- internals ----------------------------------------------------------------------------

    def _lock(self, task_id: int) -> asyncio.Lock:
        return self._locks.setdefault(task_id, asyncio.Lock())

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        job = asyncio.create_task(work, name=name)
        self._background.add(job)
        job.add_done_callback(self._background.discard)

    async def _start(self, task_id: int) -> None:
        async with self._lock(task_id):
            task = await self._tasks.get(task_id)
            if task is None or not task.active:
                return
            started = self._clock()
            card = await self._card(task)
            prompt = prompts.start_prompt(card, started)
            try:
                reply = await self._guarded(card, prompt, self._taint(card, message=False))
            except TurnRefused:  # the heartbeat starts it once the budgets or /resume allow
                if task.next_step_at is None:
                    await self._tasks.update(task_id, next_step_at=started)
                return
            await self._step_done(task_id, started)
        await self._deliver(task_id, reply)

    async def _tell(self, task_id: int, text: str) -> None:
        async with self._lock(task_id):
            task = await self._tasks.get(task_id)
            if task is None or task.status is TaskStatus.CANCELLED:
                return
            card = await self._card(task)
            prompt = prompts.owner_prompt(card, text, self._clock())
            try:
                reply = await self._guarded(card, prompt, self._taint(card, message=False))
            except TurnRefused as refused:
                reply = Reply(prompts.not_told(refused.paused, text), None, Usage())
        await self._deliver(task_id, reply)

    async def _resume(self, task_id: int, now: datetime, limit: asyncio.Semaphore) -> bool:
        async with limit:
            lock = self._lock(task_id)
            if lock.locked():
                return False
            async with lock:
                task = await self._tasks.get(task_id)
                if task is None or not prompts.is_due(task, now):
                    return False
                card = await self._card(task)
                # A task whose start never ran (a restart came first) starts now.
                planned = (
                    prompts.start_prompt if task.session_id is None else prompts.heartbeat_prompt
                )
                prompt = planned(card, now)
                try:
                    reply = await self._guarded(card, prompt, self._taint(card, message=False))
                except TurnRefused:
                    return False  # still due: it runs at a beat the budgets or /resume allow
                await self._step_done(task_id, now)
        await self._deliver(task_id, reply)
        return True

    async def _guarded(self, card: TaskCard, prompt: str, taint: TaintSource | None) -> Reply:
        """A background turn: its failure becomes a reply telling the owner, never an error
        (but TurnRefused: the caller keeps its step due)."""
        try:
            return await self._turn(card, prompt, taint, sealed=True)
        except TurnRefused:
            raise
        except SessionError as exc:
            logger.warning("%s: the turn failed: %s", card.name, exc)
            said = (await self._words()).gettext("This turn could not run: {error}", error=exc)
            return Reply(said, None, Usage())
        except Exception as exc:  # a background turn's boundary: the owner is told
            logger.exception("%s: the turn failed", card.name)
            said = (await self._words()).gettext(
                "This turn failed unexpectedly ({name}).", name=type(exc).__name__
            )
            return Reply(said, None, Usage())

    async def _turn(
        self, card: TaskCard, prompt: str, taint: TaintSource | None, *, sealed: bool
    ) -> Reply:
        task = card.task
        role = task_role(grants=task.grants, skill=task.skill)
        reply = await self._sessions.run_turn(
            SessionKey.task(task.id), role, prompt, taint=taint, follow_ups=not sealed
        )
        if reply.session_id and reply.session_id != task.session_id:
            await self._tasks.set_session_id(task.id, reply.session_id)
        latest = await self._tasks.get(task.id)
        if latest is not None and latest.status is TaskStatus.OPEN:
            await self._tasks.update(task.id, status=TaskStatus.IN_PROGRESS)
        return reply

    async def _step_done(self, task_id: int, due: datetime) -> None:
        """The planned step ran: unless the turn planned another, nothing is due any more
        (a session that plans nothing is woken by replies and the owner only)."""
        task = await self._tasks.get(task_id)
        if task is not None and task.next_step_at is not None and task.next_step_at <= due:
            await self._tasks.update(task_id, next_step_at=None)

    async def _deliver(self, task_id: int, reply: Reply) -> None:
        if reply.interrupted:  # by cancel_task (stop): the owner knows, nobody is told more
            return
        messages = await self.report(task_id, reply.text)
        if messages:
            await self._outbox.enqueue(messages)

    async def _card(self, task: Task) -> TaskCard:
        assignee = await self._person(task.assignee_id)
        counterpart = await self._person(task.counterpart_id)
        folder = task_folder(self._config.workspace, task.id)
        return TaskCard(task, assignee, counterpart, folder, self._config.zone)

    async def _person(self, user_id: int | None) -> Person | None:
        return None if user_id is None else await self._people.get(user_id)

    def _taint(
        self, card: TaskCard, *, message: bool, outside: str | None = None
    ) -> TaintSource | None:
        """Tainted: a turn with the counterpart's message, every later turn (their words are
        in the session's history), every turn once the assignee wrote into the card, and a
        turn bringing `outside` text; before that, nobody else wrote in it."""
        task, person = card.task, card.counterpart
        cause = _card_cause(task) or outside
        if person is not None and (message or task.session_id is not None):
            who = person_label(person)
            cause = (
                f"a message from {who}" if message else f"what {who} wrote in this task"
            )  # i18n: skip
        if cause is None:
            return None
        role = task_role(grants=task.grants, skill=task.skill)
        return TaintSource(
            caused_by=cause,
            where=card.name,
            person_id=person.user_id if person is not None else None,
            folder=None if reads_anywhere(role) else card.folder,
            write_root=card.folder,
            free_calls=_free_calls(card, private=has_private_grant(role)),
        )


def _card_cause(task: Task) -> str | None:
    """Why the task's card itself is outside text (the assignee wrote into it), or None."""
    if task.outside_text_by is None:
        return None
    return str(
        json.loads(task.outside_text_by).get("caused_by") or "someone else's notes"
    )  # i18n: skip


def _free_calls(card: TaskCard, *, private: bool) -> tuple[FreeCall, ...]:
    """What a tainted turn of the task may do without asking: write to the owner (and, when
    the task holds nothing private of the owner's, to its people: the task's own tool writes
    to no one else), update itself, load its own skill."""
    skill = card.task.skill
    own_skill = frozenset(plugin_skill_names(skill)) if skill else frozenset()
    owner_only = FreeCall(SEND_TOOL, "to", frozenset({"owner", "me", "myself"}))
    return (
        owner_only if private else FreeCall(SEND_TOOL),
        FreeCall(UPDATE_TOOL),
        *((FreeCall("Skill", "skill", own_skill),) if own_skill else ()),
        *(FreeCall(name) for name in BOOKKEEPING_TOOLS),
    )
