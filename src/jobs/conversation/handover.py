"""Handovers: the owner talks with someone themselves, so Jobs keeps out of that conversation.

In the owner's own account, a message the owner writes to a person (from any device, not one
Jobs sent, not Jobs' draft sent on) starts a handover: Jobs answers that person no more, and
a task talking with them waits (its turns do not run, their messages do not reach it), until
the handover ends — HANDOVER_MINUTES after the owner's last message to them, or when the owner
says so (/handback), or never by itself (/hold). The owner is told once per handover, in the same
transaction that starts it. Everything is in the database: a restart changes nothing.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Final

from jobs.clock import Clock
from jobs.conversation.commands import Command, CommandContext, CommandSpec, CommandTable
from jobs.conversation.untrusted import one_line, plain_name
from jobs.i18n.speakers import OwnerWords, english_words
from jobs.i18n.translator import Translator, english, gettext_noop
from jobs.messages import OutboundMessage
from jobs.richtext import RichText
from jobs.storage.handovers import Handover, HandoverRepo
from jobs.storage.outbox import OutboxRepo
from jobs.storage.people import PeopleRepo, Person
from jobs.storage.tasks import Task, TaskRepo

logger = logging.getLogger(__name__)

DRAFTS_LOOKED_AT: Final = timedelta(days=2)
"""How far back a message of the owner's is compared with the drafts Jobs saved in the chat."""
SAME_DRAFT: Final = 0.6
"""Similarity (difflib's ratio) above which the owner's message is Jobs' draft, edited."""
_DURATION = re.compile(r"^(\d{1,4})\s*(m|min|h|d|w)$", re.IGNORECASE)
_UNITS: Final = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_MARKUP = re.compile(r"[*_`~\[\]()>|#]")

StopTask = Callable[[int], Awaitable[object]]
"""Interrupts a task's running turn (TaskSessions.stop)."""


@dataclass(frozen=True, slots=True)
class HandoverSettings:
    owner_chat: int
    zone: tzinfo
    keep_out: timedelta | None
    """How long after the owner's last message Jobs keeps out (None: the owner's own
    messages never start a handover; /hold still does)."""


class Handovers:
    """Starts, lengthens and ends handovers; the worker and the tasks ask `in_force`."""

    def __init__(
        self,
        *,
        repo: HandoverRepo,
        outbox: OutboxRepo,
        people: PeopleRepo,
        tasks: TaskRepo,
        settings: HandoverSettings,
        clock: Clock,
        stop_task: StopTask | None = None,
        words: OwnerWords = english_words,
    ) -> None:
        """`words`: the owner's language, for the notice that a handover began."""
        self._words = words
        self._repo = repo
        self._outbox = outbox
        self._people = people
        self._tasks = tasks
        self._settings = settings
        self._clock = clock
        self._stop_task = stop_task

    async def in_force(self, person_id: int, /) -> bool:
        return await self._repo.holds(person_id, self._clock())

    async def owner_wrote(self, person_id: int, text: str, at: datetime, /) -> None:
        """The owner wrote `text` to `person_id` at `at` themselves: a handover starts (the
        owner told, the person's task paused) or lasts longer. Not when it is a draft of
        Jobs' the owner sent on, nor when the message is older than the time Jobs keeps out
        (read again after a restart)."""
        keep_out = self._settings.keep_out
        if keep_out is None or at + keep_out <= self._clock():
            return
        if await self._sends_draft(person_id, text, at):
            logger.info("The owner sent Jobs' draft to %s: no handover", person_id)
            return
        await self.begin(person_id, until=at + keep_out)

    async def begin(self, person_id: int, /, *, until: datetime | None) -> tuple[Handover, bool]:
        """Keep out of the conversation with `person_id` until `until` (None: until the owner
        ends it); the owner is told when this starts a handover."""
        handover, started = await self._repo.begin(
            person_id, now=self._clock(), until=until, on_start=self._tell_owner
        )
        if started:
            await self._pause_tasks(person_id)
        return handover, started

    async def hold(self, person_id: int, /, *, until: datetime | None) -> Handover:
        """The owner's choice: keep out until `until` (None: until they say so)."""
        if await self.in_force(person_id):
            held = await self._repo.set_until(person_id, until)
            if held is not None:
                return held
        handover, _ = await self._repo.begin(person_id, now=self._clock(), until=until)
        await self._pause_tasks(person_id)
        return handover

    async def end(self, person_id: int, /) -> bool:
        """The owner's /handback: Jobs answers the person again; False when it was not out."""
        return await self._repo.end(person_id, now=self._clock())

    async def in_force_now(self) -> list[Handover]:
        return await self._repo.in_force(self._clock())

    def describe_until(self, handover: Handover, /, t: Translator | None = None) -> str:
        """ "until 15:30", "until you say so" (English for the model's tools)."""
        t = t or english()
        if handover.until is None:
            return t.gettext("until you say so")
        local = handover.until.astimezone(self._settings.zone)
        same_day = local.date() == self._clock().astimezone(self._settings.zone).date()
        when = f"{local:%H:%M}" if same_day else f"{local:%Y-%m-%d %H:%M}"
        return t.gettext("until {when}", when=when)

    # -- commands ---------------------------------------------------------------------------

    def add_commands(self, table: CommandTable) -> None:
        """/handback <person> and /hold <person> [duration] (owner only)."""
        table.add(
            "handback",
            CommandSpec(
                self._handback,
                gettext_noop("answer a person again after you talked with them yourself"),
                owner_only=True,
                usage=gettext_noop("<user id or @username>"),
            ),
        )
        table.add(
            "hold",
            CommandSpec(
                self._hold,
                gettext_noop("keep out of a conversation (for a time like 3h, or until /handback)"),
                owner_only=True,
                usage=gettext_noop("<user id or @username> [30m | 3h | 2d]"),
            ),
        )

    async def _handback(self, ctx: CommandContext, command: Command) -> str:
        t = ctx.words
        if len(command.args) != 1:
            return await self._usage("handback", t)
        person = await self._person(command.args[0], t)
        if isinstance(person, str):
            return person
        who = _name(person)
        if not await self.end(person.user_id):
            return t.gettext("I wasn't keeping out of your conversation with {who}.", who=who)
        tasks = await self._talking_with(person.user_id)
        also = "".join(" " + t.gettext("Task #{id} goes on.", id=task.id) for task in tasks)
        return t.gettext("I'll answer {who} again.", who=who) + also

    async def _hold(self, ctx: CommandContext, command: Command) -> str:
        t = ctx.words
        if len(command.args) not in (1, 2):
            return await self._usage("hold", t)
        person = await self._person(command.args[0], t)
        if isinstance(person, str):
            return person
        until: datetime | None = None
        if len(command.args) == 2:
            span = parse_duration(command.args[1])
            if span is None:
                return t.gettext(
                    "{text} is not a time like 30m, 3h or 2d.", text=plain_name(command.args[1])
                )
            until = self._clock() + span
        handover = await self.hold(person.user_id, until=until)
        return t.gettext(
            "I'll keep out of your conversation with {who} {until}. {command} lets me answer "
            "them again.",
            who=_name(person),
            until=self.describe_until(handover, t),
            command=f"/handback\\_{person.user_id}",
        )

    async def _usage(self, name: str, t: Translator) -> str:
        shown = (
            t.gettext("<user id or @username> [30m | 3h | 2d]")
            if name == "hold"
            else t.gettext("<user id or @username>")
        )
        lines = [t.gettext("Usage: /{name} {usage}", name=name, usage=shown)]
        held = await self.in_force_now()
        for handover in held:
            person = await self._people.get(handover.person_id)
            who = _name(person) if person else str(handover.person_id)
            lines.append(f"- {who} ({handover.person_id}), {self.describe_until(handover, t)}")
        if not held:
            lines.append(t.gettext("I'm not keeping out of any conversation right now."))
        return "\n".join(lines)

    # -- internals --------------------------------------------------------------------------

    async def _person(self, target: str, t: Translator) -> Person | str:
        numeric = target.isascii() and target.isdigit() and len(target) <= 18
        person = (
            await self._people.get(int(target))
            if numeric
            else await self._people.find_by_username(target)
        )
        if person is None:
            return t.gettext("I don't know anyone called {who}.", who=plain_name(target))
        return person

    async def _pause_tasks(self, person_id: int) -> None:
        """A turn of a task talking with them that is running now stops: it would write on."""
        for task in await self._talking_with(person_id):
            if self._stop_task is not None:
                await self._stop_task(task.id)

    async def _talking_with(self, person_id: int) -> list[Task]:
        task = await self._tasks.conversation_with(person_id)
        return [] if task is None else [task]

    async def _tell_owner(self, handover: Handover) -> None:
        t = await self._words()
        person = await self._people.get(handover.person_id)
        who = person_label(person, handover.person_id)
        notice = t.rich(
            RichText(),
            "You wrote to {who} yourself, so I'll leave the conversation to you {until}",
            who=who,
            until=self.describe_until(handover, t),
        )
        keep_out = self._settings.keep_out
        if handover.until is not None and keep_out is not None:
            notice.text(
                " " + t.gettext("({span} after your last message to them)", span=_span(keep_out))
            )
        pid = handover.person_id
        notice.text(
            ". "
            + t.gettext(
                "{handback} lets me answer them again now; {hold} keeps me out until you say so.",
                handback=f"/handback_{pid}",
                hold=f"/hold_{pid}",
            )
        )
        for task in await self._talking_with(pid):
            notice.text("\n")
            t.rich(
                notice,
                "Task #{id} «{title}» waits meanwhile: it neither writes to them nor reads their "
                "replies.",
                id=str(task.id),
                title=one_line(task.title, limit=80),
            )
        message = OutboundMessage.formatted(self._settings.owner_chat, notice.build())
        await self._outbox.enqueue([message])

    async def _sends_draft(self, person_id: int, text: str, at: datetime) -> bool:
        drafts = await self._outbox.recent_drafts(person_id, at - DRAFTS_LOOKED_AT)
        return any(same_words(text, draft) for draft in drafts)


def same_words(sent: str, draft: str, /) -> bool:
    """Whether the owner's message is Jobs' draft (perhaps edited): Markdown markers aside,
    one holds the other, or they are mostly the same."""
    a, b = _normal(sent), _normal(draft)
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= SAME_DRAFT and matcher.ratio() >= SAME_DRAFT


def parse_duration(text: str, /) -> timedelta | None:
    """ "30m", "3h", "2d", "1w" → a timedelta; None for anything else."""
    match = _DURATION.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        return None
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def person_label(person: Person | None, person_id: int, /) -> str:
    """A person as the owner reads them, for RichText.plain: name (@username)."""
    if person is None:
        return f"id {person_id}"
    name = one_line(person.display_name) or f"id {person_id}"
    return f"{name} (@{one_line(person.username)})" if person.username else name


def _name(person: Person) -> str:
    """For a Markdown answer: the name escaped, else @username, else the id."""
    return plain_name(person.display_name) or (
        f"@{plain_name(person.username)}" if person.username else str(person.user_id)
    )


def _normal(text: str) -> str:
    return " ".join(_MARKUP.sub("", text).split()).casefold()


def _span(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} d"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"
