"""Fire times and the misfire policy, computed with an explicit `now` (no clock, no waiting)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobs.storage import Misfire, Schedule, ScheduleKind
from jobs.triggers.scheduler import GRACE, make_trigger, next_after, plan, upcoming

CREATED = datetime(2026, 11, 27, 7, 30, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0):
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def schedule(kind: ScheduleKind, spec: str, tz: str = "UTC", **kw: object) -> Schedule:
    made = Schedule(
        id=1,
        name="s",
        kind=kind,
        spec=spec,
        timezone=tz,
        prompt="p",
        task_id=None,
        enabled=True,
        misfire=Misfire.RUN_LATE,
        created_at=CREATED,
        updated_at=CREATED,
    )
    return replace(made, **kw)  # type: ignore[arg-type]


def times(kind: ScheduleKind, spec: str, tz: str, after: datetime, count: int) -> list[datetime]:
    return upcoming(make_trigger(kind, spec, tz, anchor=CREATED), after, count)


def test_cron_in_two_time_zones() -> None:
    after = utc(2026, 11, 27, 12, 0)  # Friday noon UTC
    berlin = times(ScheduleKind.CRON, "0 9 * * 1-5", "Europe/Berlin", after, 2)
    new_york = times(ScheduleKind.CRON, "0 9 * * 1-5", "America/New_York", after, 2)
    assert berlin == [utc(2026, 11, 30, 8, 0), utc(2026, 12, 1, 8, 0)]  # Mon, Tue 09:00 CET
    assert new_york == [utc(2026, 11, 27, 14, 0), utc(2026, 11, 30, 14, 0)]  # Fri, Mon 09:00 EST


def test_one_off_in_two_time_zones() -> None:
    after = utc(2026, 11, 27, 0, 0)
    tokyo = times(ScheduleKind.ONCE, "2026-11-28T09:00", "Asia/Tokyo", after, 3)
    berlin = times(ScheduleKind.ONCE, "2026-11-28T09:00", "Europe/Berlin", after, 3)
    assert tokyo == [utc(2026, 11, 28, 0, 0)]  # one-off: one time only
    assert berlin == [utc(2026, 11, 28, 8, 0)]
    offset = times(ScheduleKind.ONCE, "2026-11-28T09:00-05:00", "Asia/Tokyo", after, 1)
    assert offset == [utc(2026, 11, 28, 14, 0)]  # an explicit offset wins over the zone


def test_dst_spring_forward_fires_once_an_hour_later() -> None:
    # 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
    fired = times(ScheduleKind.CRON, "30 2 * * *", "Europe/Berlin", utc(2026, 3, 27, 12, 0), 3)
    assert fired == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    local = [t.astimezone(BERLIN).strftime("%d %H:%M") for t in fired]
    assert local == ["28 02:30", "29 03:30", "30 02:30"]


def test_dst_fall_back_fires_a_repeated_wall_time_once() -> None:
    # 2026-10-25 in Berlin: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
    fired = times(ScheduleKind.CRON, "30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12, 0), 2)
    assert fired == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_dst_fall_back_half_hourly_moves_forward_and_ends() -> None:
    fired = times(ScheduleKind.CRON, "*/30 * * * *", "Europe/Berlin", utc(2026, 10, 24, 23, 50), 6)
    assert fired == sorted(set(fired))  # strictly increasing: APScheduler alone loops here
    walls = [t.astimezone(BERLIN).strftime("%H:%M") for t in fired]
    assert len(set(walls)) == len(walls)  # no wall time twice
    assert fired[-1] < utc(2026, 10, 25, 4, 0)


def test_interval_counts_from_the_anchor_in_absolute_time() -> None:
    fired = times(ScheduleKind.INTERVAL, "5400", "Europe/Berlin", CREATED, 2)
    assert fired == [CREATED + timedelta(minutes=90), CREATED + timedelta(minutes=180)]
    assert next_after(
        make_trigger(ScheduleKind.INTERVAL, "3600", "UTC", anchor=CREATED),
        CREATED + timedelta(minutes=61),
    ) == CREATED + timedelta(hours=2)


@pytest.mark.parametrize(
    ("kind", "spec", "tz", "message"),
    [
        (ScheduleKind.CRON, "0 25 * * *", "UTC", "higher than the maximum"),
        (ScheduleKind.INTERVAL, "30", "UTC", "at least 60 seconds"),
        (ScheduleKind.ONCE, "tomorrow", "UTC", "Invalid isoformat"),
        (ScheduleKind.CRON, "0 9 * * *", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_bad_specs_raise_value_error(kind: ScheduleKind, spec: str, tz: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_trigger(kind, spec, tz, anchor=CREATED)


def test_one_off_is_due_once_on_time_then_never() -> None:
    once = schedule(ScheduleKind.ONCE, "2026-11-27T09:00", "Europe/Berlin")  # 08:00 UTC
    assert plan(once, last=None, now=utc(2026, 11, 27, 7, 59), grace=GRACE) is None
    due = plan(once, last=None, now=utc(2026, 11, 27, 8, 0, 5), grace=GRACE)
    assert due is not None and (due.fire_time, due.late, due.run) == (
        utc(2026, 11, 27, 8),
        False,
        True,
    )
    assert plan(once, last=due.fire_time, now=utc(2026, 11, 28), grace=GRACE) is None


def test_missed_one_off_runs_once_late() -> None:
    once = schedule(ScheduleKind.ONCE, "2026-11-27T09:00", "Europe/Berlin")
    due = plan(once, last=None, now=utc(2026, 11, 27, 11, 0), grace=GRACE)
    assert due is not None and due.late and due.run and due.first_missed is None
    skip = replace(once, misfire=Misfire.SKIP)
    skipped = plan(skip, last=None, now=utc(2026, 11, 27, 11, 0), grace=GRACE)
    assert skipped is not None and skipped.late and not skipped.run


def test_missed_recurring_runs_coalesce_into_the_newest() -> None:
    hourly = schedule(ScheduleKind.CRON, "0 * * * *")
    last = utc(2026, 11, 27, 8, 0)
    due = plan(hourly, last=last, now=utc(2026, 11, 29, 13, 20), grace=GRACE)
    assert due is not None
    assert due.fire_time == utc(2026, 11, 29, 13, 0)
    assert due.first_missed == utc(2026, 11, 27, 9, 0)
    assert due.late and due.run
    # the run is recorded at 13:00: the next plan starts after it
    assert plan(hourly, last=due.fire_time, now=utc(2026, 11, 29, 13, 30), grace=GRACE) is None
    monthly = schedule(ScheduleKind.CRON, "0 9 1 * *")
    due = plan(monthly, last=None, now=utc(2027, 3, 15), grace=GRACE)
    assert due is not None and (due.fire_time, due.first_missed) == (
        utc(2027, 3, 1, 9),
        utc(2026, 12, 1, 9),
    )


def test_on_time_recurring_is_not_late_and_paused_firings_are_not_made_up() -> None:
    daily = schedule(ScheduleKind.CRON, "0 9 * * *")
    due = plan(daily, last=None, now=utc(2026, 11, 27, 9, 0, 30), grace=GRACE)
    assert due is not None and not due.late and due.first_missed is None
    resumed = replace(daily, updated_at=utc(2026, 12, 5, 12, 0))  # paused 27.11, resumed 5.12
    assert plan(resumed, last=due.fire_time, now=utc(2026, 12, 5, 12, 1), grace=GRACE) is None
    assert plan(replace(daily, enabled=False), last=None, now=utc(2027, 1, 1), grace=GRACE) is None
