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
        span = command.args[0].lower() if command.args else ""
        if len(command.args) > 1 or (span and span not in SPANS):
            return "Usage: /usage, /usage week or /usage month."
        if span == "week":
            return (await report.notice("week", lead=await report.week_line() + "\n\n")).build()
        notice = await report.notice("month" if span == "month" else "today")
        if not span:
            month = total(await report.payers(report.start_of("month")))
            notice.text(f"\n\nThis month: {money(month.cost_usd)}. /usage week, /usage month: ")
            notice.text("more.")
        if limits is not None and (notes := limits.latest()):
            notice.text("\n\n" + _limits_block(notes, report.zone))
        return notice.build()

    return CommandSpec(
        handler,
        "what was spent, by person, task and trigger",
        owner_only=True,
        usage="[week|month]",
    )


def _limits_block(notes: Iterable[RateLimitNote], zone: tzinfo) -> str:
    lines = ["Rate limits (as Claude Code last reported them):"]
    for note in notes:
        used = f", {note.utilization:.0%} used" if note.utilization is not None else ""
        resets = f", resets {_when(note.resets_at, zone)}" if note.resets_at else ""
        lines.append(f"• {note.window.replace('_', ' ')}: {note.status}{used}{resets}")
    return "\n".join(lines)


def _when(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %H:%M}"


@dataclass(frozen=True, slots=True)
class StatusSources:
    """What /status looks at."""

    sessions: SessionManager
    inbox: InboxRepo
    outbox: OutboxRepo
    tasks: TaskRepo
    triggers: TriggerRepo | None = None
    model: Callable[[], str | None] | None = None
    """A line about the AI service while it is unreachable (Outages.describe)."""
    grants: GrantBook | None = None
    """The owner's scoped grants in force (their actions may be others' words: plain)."""
    spending: Callable[[], Awaitable[list[str]]] | None = None
    """Lines about spending: /pause, the models, today's spend against the budgets."""


def status_command(sources: StatusSources, /) -> CommandSpec:
    """/status: live sessions, active tasks, triggers and queue depth."""

    async def handler(ctx: CommandContext, command: Command) -> Body:
        live = sources.sessions.live_keys
        tasks = await sources.tasks.active()
        counts = await sources.inbox.count_by_state()
        outgoing = await sources.outbox.pending_count()
        lines = [
            f"Live sessions: {len(live)}"
            + (f" ({', '.join(str(k) for k in reversed(live))})" if live else ""),
            f"Active tasks: {len(tasks)}" + (" — /tasks lists them" if tasks else ""),
            await _triggers_line(sources.triggers),
            f"Queue: {counts['pending']} message(s) waiting, {counts['processing']} being "
            f"answered; {outgoing} repl(ies) to send",
        ]
        listing = RichText().text("\n".join(lines) + "\n")
        await _taint_line(listing, sources.sessions, ctx.session_key)
        model = sources.model() if sources.model is not None else None
        if model:
            listing.text(model + "\n")
        if sources.spending is not None:
            listing.text("".join(f"{line}\n" for line in await sources.spending()))
        if sources.grants is not None:
            await sources.grants.describe(listing)
        return listing.build()

    return CommandSpec(handler, "what is running and waiting", owner_only=True)


async def _taint_line(out: RichText, sessions: SessionManager, key: SessionKey) -> None:
    """Whether this session read outside text, since when and why (the cause may name
    someone else, so it goes plain): until /clear, what it does beyond reading asks."""
    taint = await sessions.tainted(key)
    if taint is None:
        out.text("This conversation has read only your own words.\n")
        return
    since = "" if taint.since is None else f" (since {taint.since:%Y-%m-%d %H:%M} UTC)"
    out.text("This conversation has read text from outside: ").plain(taint.caused_by)
    out.text(f"{since}. Until /clear, anything beyond reading asks you first.\n")


async def _triggers_line(triggers: TriggerRepo | None) -> str:
    if triggers is None:
        return "Triggers: not set up"
    schedules = await triggers.list_schedules(enabled_only=True)
    watched = await triggers.list_subscriptions(enabled_only=True)
    return f"Triggers: {len(schedules)} schedule(s) on, {len(watched)} source(s) watched"


def tasks_command(*, tasks: TaskRepo, people: PeopleRepo) -> CommandSpec:
    """/tasks: the owner sees every open task; anyone else the tasks given to them. Titles,
    names and next steps may be other people's words: plain text, never Markdown."""

    async def handler(ctx: CommandContext, command: Command) -> Body:
        if ctx.is_owner:
            found = await tasks.list(statuses=OPEN_TASKS)
        else:
            found = await tasks.list(assignee_id=ctx.person_id, statuses=OPEN_TASKS)
        if not found:
            return "No open tasks."
        listing = RichText().text("Open tasks:")
        for task in found[:SHOWN_TASKS]:
            await _task_line(listing.text("\n"), task, people, owner=ctx.is_owner)
        if len(found) > SHOWN_TASKS:
            listing.text(f"\n… and {len(found) - SHOWN_TASKS} more.")
        return listing.build()

    return CommandSpec(handler, "open tasks")


async def _task_line(out: RichText, task: Task, people: PeopleRepo, *, owner: bool) -> None:
    out.text(f"#{task.id} ").plain(task.title).text(f" [{task.status.value}]")
    if owner:
        for label, person_id in (("for", task.assignee_id), ("with", task.counterpart_id)):
            if person_id is not None:
                out.text(f" {label} ").plain(await _name(people, person_id))
    if task.due_at is not None:
        out.text(f", due {task.due_at:%Y-%m-%d %H:%M} UTC")
    if task.next_step:
        out.text("\n   next: ").plain(task.next_step)


async def _name(people: PeopleRepo, person_id: int) -> str:
    person = await people.get(person_id)
    if person is None:
        return f"id {person_id}"
    handle = f" (@{person.username})" if person.username else ""
    return f"{person.display_name or f'id {person_id}'}{handle}"


def update_command(updater: Updater, /) -> CommandSpec:
    """/update: pull and reinstall (or UPDATE_COMMAND), then restart; reports old → new."""

    async def handler(ctx: CommandContext, command: Command) -> str:
        try:
            outcome = await updater.update()
        except UpdateFailed as exc:
            return f"The update failed, so nothing changed.\n\n{exc}"
        if not outcome.changed:
            return f"Jobs is already up to date ({outcome.old})."
        return (
            f"Updated Jobs: {outcome.old} → {outcome.new}. Restarting now; "
            "I'll be back in a few seconds."
        )

    return CommandSpec(handler, "update Jobs to the latest version and restart", owner_only=True)
