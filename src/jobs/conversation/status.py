"""The owner's status commands: /usage, /status, /tasks and /update (command table entries).

Each factory returns a CommandSpec for `CommandTable.add`; app.py adds them to the table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from jobs.clock import Clock, utc_now
from jobs.conversation.commands import Command, CommandContext, CommandSpec
from jobs.conversation.grants import GrantBook
from jobs.i18n.translator import Translator, gettext_noop
from jobs.messages import Body
from jobs.richtext import RichText
from jobs.sessions.keys import SessionKey
from jobs.sessions.manager import SessionManager
from jobs.spend_terms import money
from jobs.spending.report import SPANS, UsageReport, total
from jobs.storage import (
    ACTIVE_STATUSES,
    InboxRepo,
    OutboxRepo,
    PeopleRepo,
    Task,
    TaskRepo,
    TaskStatus,
    TriggerRepo,
)
from jobs.updater import UpdateFailed, Updater

SHOWN_TASKS = 20
OPEN_TASKS = (*ACTIVE_STATUSES, TaskStatus.BLOCKED)


@dataclass(frozen=True, slots=True)
class RateLimitNote:
    """One rate-limit window as Claude Code last reported it (its rate_limit_event)."""

    window: str
    status: str
    """allowed, allowed_warning or rejected."""
    utilization: float | None
    resets_at: datetime | None
    seen_at: datetime


class RateLimitBoard:
    """The latest rate-limit report per window. The sessions feed it (`note`), /usage reads it."""

    def __init__(self, *, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._notes: dict[str, RateLimitNote] = {}

    def note(
        self,
        *,
        window: str | None,
        status: str,
        utilization: float | None = None,
        resets_at: int | None = None,
    ) -> None:
        """Record a report; `resets_at` is a Unix time, as the CLI sends it."""
        name = window or "current"
        reset = datetime.fromtimestamp(resets_at, UTC) if resets_at else None
        self._notes[name] = RateLimitNote(name, status, utilization, reset, self._clock())

    def latest(self) -> list[RateLimitNote]:
        return sorted(self._notes.values(), key=lambda note: note.window)


def usage_command(*, report: UsageReport, limits: RateLimitBoard | None) -> CommandSpec:
    """/usage [today|week|month]: what Jobs spent, by person, task and trigger, with the
    models that ran and cache reads against writes; without a word, today and the month."""

    async def handler(ctx: CommandContext, command: Command) -> Body:
        t = ctx.words
        span = command.args[0].lower() if command.args else ""
        if len(command.args) > 1 or (span and span not in SPANS):
            return t.gettext("Usage: /usage, /usage week or /usage month.")
        if span == "week":
            lead = await report.week_line(t) + "\n\n"
            return (await report.notice("week", t, lead=lead)).build()
        notice = await report.notice("month" if span == "month" else "today", t)
        if not span:
            month = total(await report.payers(report.start_of("month")))
            notice.text("\n\n").text(
                t.gettext(
                    "This month: {cost}. /usage week, /usage month: more.",
                    cost=money(month.cost_usd),
                )
            )
        if limits is not None and (notes := limits.latest()):
            notice.text("\n\n" + _limits_block(notes, report.zone, ctx.words))
        return notice.build()

    return CommandSpec(
        handler,
        gettext_noop("what was spent, by person, task and trigger"),
        owner_only=True,
        usage="[week|month]",
    )


def _limits_block(notes: Iterable[RateLimitNote], zone: tzinfo, t: Translator) -> str:
    lines = [t.gettext("Rate limits (as Claude Code last reported them):")]
    for note in notes:
        used = (
            t.gettext(", {share} used", share=format(note.utilization, ".0%"))
            if note.utilization is not None
            else ""
        )
        resets = (
            t.gettext(", resets {when}", when=_when(note.resets_at, zone, t))
            if note.resets_at
            else ""
        )
        lines.append(f"• {note.window.replace('_', ' ')}: {note.status}{used}{resets}")
    return "\n".join(lines)


def _when(moment: datetime, zone: tzinfo, t: Translator) -> str:
    local = moment.astimezone(zone)
    return f"{_date(local, t)} {local:%H:%M}"


def _date(moment: datetime, t: Translator) -> str:
    """ "5 Dec", with the month's short name in the reader's language."""
    months = (
        t.pgettext("month", "Jan"),
        t.pgettext("month", "Feb"),
        t.pgettext("month", "Mar"),
        t.pgettext("month", "Apr"),
        t.pgettext("month", "May"),
        t.pgettext("month", "Jun"),
        t.pgettext("month", "Jul"),
        t.pgettext("month", "Aug"),
        t.pgettext("month", "Sep"),
        t.pgettext("month", "Oct"),
        t.pgettext("month", "Nov"),
        t.pgettext("month", "Dec"),
    )
    return f"{moment.day} {months[moment.month - 1]}"


@dataclass(frozen=True, slots=True)
class StatusSources:
    """What /status looks at."""

    sessions: SessionManager
    inbox: InboxRepo
    outbox: OutboxRepo
    tasks: TaskRepo
    triggers: TriggerRepo | None = None
    model: Callable[[Translator], str | None] | None = None
    """A line about the AI service while it is unreachable, in the reader's words
    (Outages.describe)."""
    grants: GrantBook | None = None
    """The owner's scoped grants in force (their actions may be others' words: plain)."""
    spending: Callable[[Translator], Awaitable[list[str]]] | None = None
    """Lines about spending, in the words given: /pause, the models, today's spend against
    the budgets."""


def status_command(sources: StatusSources, /) -> CommandSpec:
    """/status: live sessions, active tasks, triggers and queue depth."""

    async def handler(ctx: CommandContext, command: Command) -> Body:
        t = ctx.words
        live = sources.sessions.live_keys
        tasks = await sources.tasks.active()
        counts = await sources.inbox.count_by_state()
        outgoing = await sources.outbox.pending_count()
        keys = f" ({', '.join(str(k) for k in reversed(live))})" if live else ""
        listed = t.gettext(" — /tasks lists them") if tasks else ""
        lines = [
            t.gettext("Live sessions: {n}", n=len(live)) + keys,
            t.gettext("Active tasks: {n}", n=len(tasks)) + listed,
            await _triggers_line(sources.triggers, t),
            t.ngettext(
                "Queue: {n} message waiting", "Queue: {n} messages waiting", counts["pending"]
            )
            + t.gettext(", {n} being answered", n=counts["processing"])
            + t.ngettext("; {n} reply to send", "; {n} replies to send", outgoing),
        ]
        listing = RichText().text("\n".join(lines) + "\n")
        await _taint_line(listing, sources.sessions, ctx.session_key, t)
        model = sources.model(t) if sources.model is not None else None
        if model:
            listing.text(model + "\n")
        if sources.spending is not None:
            listing.text("".join(f"{line}\n" for line in await sources.spending(t)))
        if sources.grants is not None:
            await sources.grants.describe(listing, t)
        return listing.build()

    return CommandSpec(handler, gettext_noop("what is running and waiting"), owner_only=True)


async def _taint_line(
    out: RichText, sessions: SessionManager, key: SessionKey, t: Translator
) -> None:
    """Whether this session read outside text, since when and why (the cause may name
    someone else, so it goes plain): until /clear, what it does beyond reading asks."""
    taint = await sessions.tainted(key)
    if taint is None:
        out.text(t.gettext("This conversation has read only your own words.\n"))
        return
    t.rich(out, "This conversation has read text from outside: {cause}", cause=taint.caused_by)
    if taint.since is not None:
        out.text(t.gettext(" (since {when} UTC)", when=taint.since.strftime("%Y-%m-%d %H:%M")))
    out.text(t.gettext(". Until /clear, anything beyond reading asks you first.\n"))


async def _triggers_line(triggers: TriggerRepo | None, t: Translator) -> str:
    if triggers is None:
        return t.gettext("Triggers: not set up")
    schedules = await triggers.list_schedules(enabled_only=True)
    watched = await triggers.list_subscriptions(enabled_only=True)
    return t.ngettext(
        "Triggers: {n} schedule on", "Triggers: {n} schedules on", len(schedules)
    ) + t.ngettext(", {n} source watched", ", {n} sources watched", len(watched))


def tasks_command(*, tasks: TaskRepo, people: PeopleRepo) -> CommandSpec:
    """/tasks: the owner sees every open task; anyone else the tasks given to them. Titles,
    names and next steps may be other people's words: plain text, never Markdown."""

    async def handler(ctx: CommandContext, command: Command) -> Body:
        t = ctx.words
        if ctx.is_owner:
            found = await tasks.list(statuses=OPEN_TASKS)
        else:
            found = await tasks.list(assignee_id=ctx.person_id, statuses=OPEN_TASKS)
        if not found:
            return t.gettext("No open tasks.")
        listing = RichText().text(t.gettext("Open tasks:"))
        for task in found[:SHOWN_TASKS]:
            await _task_line(listing.text("\n"), task, people, t, owner=ctx.is_owner)
        if len(found) > SHOWN_TASKS:
            listing.text(t.gettext("\n… and {n} more.", n=len(found) - SHOWN_TASKS))
        return listing.build()

    return CommandSpec(handler, gettext_noop("open tasks"))


async def _task_line(
    out: RichText, task: Task, people: PeopleRepo, t: Translator, *, owner: bool
) -> None:
    out.text(f"#{task.id} ").plain(task.title).text(f" [{task.status.value}]")
    if owner:
        if task.assignee_id is not None:
            t.rich(out, " for {who}", who=await _name(people, task.assignee_id))
        if task.counterpart_id is not None:
            t.rich(out, " with {who}", who=await _name(people, task.counterpart_id))
    if task.due_at is not None:
        out.text(t.gettext(", due {when} UTC", when=task.due_at.strftime("%Y-%m-%d %H:%M")))
    if task.next_step:
        t.rich(out, "\n   next: {step}", step=task.next_step)


async def _name(people: PeopleRepo, person_id: int) -> str:
    person = await people.get(person_id)
    if person is None:
        return f"id {person_id}"
    handle = f" (@{person.username})" if person.username else ""
    return f"{person.display_name or f'id {person_id}'}{handle}"


def update_command(updater: Updater, /) -> CommandSpec:
    """/update: pull and reinstall (or UPDATE_COMMAND), then restart; reports old → new."""

    async def handler(ctx: CommandContext, command: Command) -> str:
        t = ctx.words
        try:
            outcome = await updater.update(t)
        except UpdateFailed as exc:
            return t.gettext("The update failed, so nothing changed.\n\n{error}", error=exc)
        if not outcome.changed:
            return t.gettext("Jobs is already up to date ({version}).", version=outcome.old)
        return t.gettext(
            "Updated Jobs: {old} → {new}. Restarting now; I'll be back in a few seconds.",
            old=outcome.old,
            new=outcome.new,
        )

    summary = gettext_noop("update Jobs to the latest version and restart")
    return CommandSpec(handler, summary, owner_only=True)
