"""The scheduler, the only APScheduler user: fire times, the misfire policy, the job_runs ledger.

APScheduler's triggers (CronTrigger, IntervalTrigger, DateTrigger) compute fire times; its
scheduler classes are not used. A loop sleeps until the next fire time and calls `tick(now)`,
which asks the pure `plan()` what is due for each schedule, claims that firing in the
job_runs ledger (unique schedule + time) and runs it. The ledger, not APScheduler's memory,
decides what has run, so the policy holds across restarts and tests drive `tick` with a fake
clock: a firing runs at most once (even if Jobs is killed mid-run; it is then reported, not
repeated); a missed one-off runs once, late, saying so; missed recurring firings coalesce
into one run (or one skip notice when the schedule's misfire policy is `skip`).

Two APScheduler 3 quirks are corrected here: numeric cron weekdays count from Monday (cron
counts from Sunday), and in the hour repeated when clocks go back it can return a time
before the one asked for. A cron wall time repeated that night fires once, like cron.
"""

from __future__ import annotations

import asyncio
import logging
import zoneinfo
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from jobs.clock import Clock, utc_now
from jobs.i18n.speakers import OwnerWords, english_words
from jobs.messages import OutboundMessage
from jobs.richtext import RichText
from jobs.storage import JobRun, Misfire, OutboxRepo, RunState, Schedule, ScheduleKind, TriggerRepo
from jobs.storage.busy import retry_busy
from jobs.triggers.cron import for_apscheduler
from jobs.triggers.events import TriggerEvent, TriggerOutcome
from jobs.triggers.firings import Due, firing_event, interrupted_text, skipped_text

logger = logging.getLogger(__name__)

Answer = Callable[[TriggerEvent], Awaitable[TriggerOutcome]]
"""Runs a firing's turn (TriggerExecutor.answer); its messages are queued with the run's end."""

GRACE: Final = timedelta(minutes=2)
"""A firing handled later than this after its time counts as late (and says so)."""
MAX_SLEEP: Final = 60.0  # seconds; re-planning this often also absorbs clock jumps
_TICK: Final = timedelta(microseconds=1)
_DST_STEP: Final = timedelta(minutes=15)
_PROBES: Final = 24
_WINDOWS: Final = (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=367))


# -- fire times (pure) ------------------------------------------------------------------------


def make_trigger(kind: ScheduleKind, spec: str, timezone: str, *, anchor: datetime) -> BaseTrigger:
    """The APScheduler trigger of a schedule. Raises ValueError saying what is wrong.

    `spec`: a 5-field cron expression (cron weekdays: 0 or 7 = Sunday), a number of seconds
    (interval, counted from `anchor`), or an ISO date-time (once; without an offset it is
    local to `timezone`).
    """
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r} (use an IANA name)") from None
    if kind is ScheduleKind.CRON:
        return CronTrigger.from_crontab(for_apscheduler(spec), timezone=zone)
    if kind is ScheduleKind.INTERVAL:
        seconds = int(spec)
        if seconds < 60:
            raise ValueError("an interval must be at least 60 seconds")
        return IntervalTrigger(seconds=seconds, start_date=anchor, timezone=zone)
    moment = datetime.fromisoformat(spec)
    return DateTrigger(
        run_date=moment if moment.tzinfo else moment.replace(tzinfo=zone), timezone=zone
    )


def next_after(trigger: BaseTrigger, moment: datetime, /) -> datetime | None:
    """The first fire time strictly after `moment` (UTC), or None when there is none."""
    zone: tzinfo = getattr(trigger, "timezone", UTC)
    by_wall = isinstance(trigger, CronTrigger)
    probe = moment
    for _ in range(_PROBES):
        answer: datetime | None = trigger.get_next_fire_time(None, probe + _TICK)
        if answer is None:
            return None
        found = answer.astimezone(UTC)
        if found <= probe:  # APScheduler went back (the repeated hour): look further on
            probe += _DST_STEP
        elif by_wall and _wall(found, zone) <= _wall(moment, zone):
            probe = found  # this wall time already fired (before the clocks went back)
        else:
            return found
    return None


def _wall(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def upcoming(trigger: BaseTrigger, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times after `after` (fewer when the schedule ends)."""
    found: list[datetime] = []
    moment: datetime | None = after
    while len(found) < count and moment is not None:
        moment = next_after(trigger, moment)
        if moment is not None:
            found.append(moment)
    return found


def plan(
    schedule: Schedule, *, last: datetime | None, now: datetime, grace: timedelta
) -> Due | None:
    """What of `schedule` is due at `now`, given its newest ledger entry `last`.

    Recurring firings count from the newer of `last` and the schedule's last change (a
    paused schedule's firings are not made up on resume). Raises ValueError for a bad spec.
    """
    if not schedule.enabled:
        return None
    trigger = make_trigger(
        schedule.kind, schedule.spec, schedule.timezone, anchor=schedule.created_at
    )
    if schedule.kind is ScheduleKind.ONCE:
        fire = None if last is not None else next_after(trigger, datetime.min.replace(tzinfo=UTC))
        if fire is None or fire > now:
            return None
        first_missed = None
    else:
        since = schedule.updated_at if last is None else max(last, schedule.updated_at)
        first = next_after(trigger, since)
        if first is None or first > now:
            return None
        fire = _newest_until(trigger, first, now)
        first_missed = first if fire != first else None
    late = now - fire > grace
    return Due(fire, first_missed, late, run=not (late and schedule.misfire is Misfire.SKIP))


def _newest_until(trigger: BaseTrigger, first: datetime, now: datetime) -> datetime:
    """The newest fire time ≤ now, given that `first` is one: jump close to now, then walk."""
    newest = first
    for window in _WINDOWS:
        if now - window > first:
            near = next_after(trigger, now - window)
            if near is not None and near <= now:
                newest = near
                break
    while (following := next_after(trigger, newest)) is not None and following <= now:
        newest = following
    return newest


# -- running schedules ------------------------------------------------------------------------


class Scheduler:
    """Runs the stored schedules: `run()` in production; tests call `recover()` and `tick(now)`."""

    def __init__(
        self,
        *,
        triggers: TriggerRepo,
        outbox: OutboxRepo,
        answer: Answer,
        owner_chat: int,
        clock: Clock = utc_now,
        grace: timedelta = GRACE,
        words: OwnerWords | None = None,
    ) -> None:
        """`words`: the owner's language for the notices (default: English)."""
        self._words = words or english_words
        self._triggers = triggers
        self._outbox = outbox
        self._answer = answer
        self._chat = owner_chat
        self._clock = clock
        self._grace = grace
        self._active: set[int] = set()  # schedules with a run in flight in this process
        self._changed = asyncio.Event()

    def changed(self) -> None:
        """Schedules were added, removed, paused or resumed: plan again now."""
        self._changed.set()

    def upcoming(
        self,
        kind: ScheduleKind,
        spec: str,
        timezone: str,
        /,
        *,
        anchor: datetime,
        after: datetime,
        count: int,
    ) -> list[datetime]:
        """The next `count` fire times of a would-be schedule; ValueError if it is not valid."""
        return upcoming(make_trigger(kind, spec, timezone, anchor=anchor), after, count)

    async def run(self) -> None:
        """Recover from the last stop, then tick at every fire time until cancelled."""
        await self.recover()
        await self.loop()

    async def loop(self) -> None:
        """Tick at every fire time (and when schedules change) until cancelled."""
        async with asyncio.TaskGroup() as group:
            while True:
                self._changed.clear()
                now = self._clock()
                group.create_task(self._tick_safely(now), name="scheduler-tick")
                delay = await self._seconds_to_next(now)
                try:
                    async with asyncio.timeout(delay):
                        await self._changed.wait()
                except TimeoutError:
                    pass

    async def recover(self) -> list[JobRun]:
        """Runs a crash left `running` are failed, not repeated, and the owner is told."""
        interrupted = await self._triggers.take_interrupted_runs()
        notices = []
        for run in interrupted:
            schedule = await self._triggers.get_schedule(run.schedule_id)
            if schedule is not None:
                t = await self._words()
                notices.append(self._notice(schedule, interrupted_text(schedule, run, t)))
        await self._send(notices)
        return interrupted

    async def tick(self, now: datetime | None = None) -> list[Due]:
        """Handle every firing due at `now`; returns when the runs it started have ended."""
        now = self._clock() if now is None else now
        started: list[Due] = []
        async with asyncio.TaskGroup() as group:
            for schedule in await self._triggers.list_schedules(enabled_only=True):
                due = await self._claim(schedule, now)
                if due is None:
                    continue
                started.append(due)
                if due.run:
                    self._active.add(schedule.id)
                    group.create_task(self._fire(schedule, due, now))
                else:
                    t = await self._words()
                    await self._send([self._notice(schedule, skipped_text(schedule, due, t))])
        return started

    # -- internals ---------------------------------------------------------------------------

    async def _claim(self, schedule: Schedule, now: datetime) -> Due | None:
        if schedule.id in self._active:
            return None  # still running: what falls due meanwhile coalesces into one run later
        last = await self._triggers.last_run(schedule.id)
        try:
            moment = None if last is None else last.scheduled_for
            due = plan(schedule, last=moment, now=now, grace=self._grace)
        except ValueError as exc:
            logger.error("schedule #%d has a bad spec (%s); it never fires", schedule.id, exc)
            return None
        if due is None:
            return None
        state = RunState.RUNNING if due.run else RunState.SKIPPED
        return (
            due if await self._triggers.claim_run(schedule.id, due.fire_time, state=state) else None
        )

    async def _fire(self, schedule: Schedule, due: Due, now: datetime) -> None:
        try:
            outcome = await self._answer(firing_event(schedule, due, now, await self._words()))
        except Exception as exc:  # the run's boundary: it gets a final state
            logger.exception("schedule #%d failed", schedule.id)
            t = await self._words()
            outcome = TriggerOutcome(
                ok=False,
                messages=(
                    self._notice(schedule, t.gettext("This could not run: {error}", error=exc)),
                ),
                note=str(exc),
            )
        finally:
            self._active.discard(schedule.id)
        state = RunState.DONE if outcome.ok else RunState.FAILED
        await retry_busy(  # a locked database delays the firing's messages, never loses them
            lambda: self._triggers.finish_run(
                schedule.id, due.fire_time, state, outcome.note, deliver=outcome.messages
            ),
            what=f"Finishing schedule #{schedule.id}",  # i18n: skip (the log's)
        )

    async def _tick_safely(self, now: datetime) -> None:
        try:
            await self.tick(now)
        except Exception:  # the loop's boundary: the next tick tries again
            logger.exception("the scheduler's tick failed")

    async def _seconds_to_next(self, now: datetime) -> float:
        soonest = MAX_SLEEP
        for schedule in await self._triggers.list_schedules(enabled_only=True):
            try:
                trigger = make_trigger(
                    schedule.kind, schedule.spec, schedule.timezone, anchor=schedule.created_at
                )
            except ValueError:
                continue
            fire = next_after(trigger, now)
            if fire is not None:
                soonest = min(soonest, (fire - now).total_seconds())
        return max(soonest, 0.0)

    async def _send(self, messages: list[OutboundMessage]) -> None:
        if messages:
            await self._outbox.enqueue(messages)

    def _notice(self, schedule: Schedule, text: str) -> OutboundMessage:
        """Never Markdown: a schedule's name and an error's text may carry others' words."""
        notice = RichText().text("⏰ ").plain(schedule.name).text("\n\n").lines(text)
        return OutboundMessage.formatted(self._chat, notice.build())
