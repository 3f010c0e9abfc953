"""The schedule and channel tools on a real database; the calendar is the real Scheduler."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.errors import TelegramError
from jobs.storage import Database, Misfire, OutboxRepo, ScheduleKind, TriggerRepo
from jobs.tools.schedules import ScheduleTools
from jobs.tools.triggers import TriggerTools
from jobs.triggers.events import TriggerEvent, TriggerOutcome
from jobs.triggers.scheduler import Scheduler
from tests.unit.triggers.conftest import FakeClock

NEWS = -1000000000777


class Resolver:
    """Stands in for ChannelPosts.resolve_chat (the Telegram side has its own tests)."""

    async def resolve_chat(self, ref: str, /) -> tuple[int, str]:
        if ref in ("@news", "https://t.me/news"):
            return NEWS, "News"
        raise TelegramError(f"No channel or group {ref} found: check the name or link.")


class Changes:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


async def never(_event: TriggerEvent) -> TriggerOutcome:
    raise AssertionError("nothing fires in these tests")


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(block["text"] for block in result["content"])


@pytest.fixture
def scheduler(db: Database, clock: FakeClock) -> Scheduler:
    return Scheduler(
        triggers=TriggerRepo(db),
        outbox=OutboxRepo(db),
        answer=never,
        owner_chat=1,
        clock=clock,
    )


@pytest.fixture
def schedules(db: Database, scheduler: Scheduler, clock: FakeClock) -> ScheduleTools:
    return ScheduleTools(
        triggers=TriggerRepo(db), calendar=scheduler, default_timezone="Europe/Berlin", clock=clock
    )


async def test_create_echoes_the_next_fire_times(schedules: ScheduleTools, db: Database) -> None:
    result = await schedules.create(
        {"name": "standup", "prompt": "Remind me of the standup", "cron": "0 9 * * 1-5"}
    )
    text = text_of(result)
    assert "is_error" not in result
    assert "Created schedule #1 «standup»: cron `0 9 * * 1-5` (Europe/Berlin)" in text
    assert "Next: Fri 2026-11-27 09:00 CET; Mon 2026-11-30 09:00 CET; Tue 2026-12-01" in text
    assert "Now: Fri 2026-11-27 08:30 CET" in text
    (stored,) = await TriggerRepo(db).list_schedules()
    assert (stored.kind, stored.spec, stored.timezone) == (
        ScheduleKind.CRON,
        "0 9 * * 1-5",
        "Europe/Berlin",
    )


async def test_create_one_off_tomorrow_at_nine_in_another_zone(
    schedules: ScheduleTools, db: Database
) -> None:
    result = await schedules.create(
        {
            "name": "call Anna",
            "prompt": "Remind the owner to call Anna",
            "at": "2026-11-28T09:00",
            "timezone": "America/New_York",
            "if_missed": "skip",
        }
    )
    assert "Next: Sat 2026-11-28 09:00 EST." in text_of(result)
    assert "it is skipped" in text_of(result)
    (stored,) = await TriggerRepo(db).list_schedules()
    assert (stored.kind, stored.spec, stored.misfire) == (
        ScheduleKind.ONCE,
        "2026-11-28T09:00:00-05:00",
        Misfire.SKIP,
    )


async def test_a_local_time_that_does_not_exist_is_flagged(schedules: ScheduleTools) -> None:
    result = await schedules.create({"name": "x", "prompt": "y", "at": "2027-03-28T02:30"})
    assert "does not exist" in text_of(result)
    assert "Next: Sun 2027-03-28 03:30 CEST." in text_of(result)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"name": "x", "prompt": "y"}, "exactly one of at"),
        (
            {"name": "x", "prompt": "y", "at": "2026-11-28T09:00", "cron": "0 9 * * *"},
            "exactly one",
        ),
        ({"name": "x", "prompt": "y", "at": "tomorrow at 9"}, "ISO date-time"),
        ({"name": "x", "prompt": "y", "at": "2026-11-27T08:00"}, "has already passed"),
        ({"name": "x", "prompt": "y", "cron": "0 9 * *"}, "5 fields"),
        ({"name": "x", "prompt": "y", "cron": "0 9 1 * 1"}, "not both"),
        ({"name": "x", "prompt": "y", "every_minutes": 0}, "whole number of minutes"),
        ({"name": "x", "prompt": "y", "every_minutes": 5, "timezone": "Mars/Base"}, "time zone"),
        (
            {"name": "x", "prompt": "y", "every_minutes": 5, "if_missed": "later"},
            "run_late or skip",
        ),
        ({"prompt": "y", "every_minutes": 5}, "Give a name"),
    ],
)
async def test_bad_requests_are_tool_errors(
    schedules: ScheduleTools, args: dict[str, Any], message: str
) -> None:
    result = await schedules.create(args)
    assert result.get("is_error") is True
    assert message in text_of(result)


async def test_list_pause_resume_delete(
    schedules: ScheduleTools, scheduler: Scheduler, clock: FakeClock
) -> None:
    await schedules.create({"name": "water", "prompt": "Water the plants", "every_minutes": 90})
    assert "every 90 min — next Fri 2026-11-27 10:00 CET" in text_of(await schedules.list_all())
    assert "paused" in text_of(await schedules.set_enabled({"id": 1}, enabled=False))
    assert "already paused" in text_of(await schedules.set_enabled({"id": "#1"}, enabled=False))
    assert "— paused" in text_of(await schedules.list_all())
    assert "resumed" in text_of(await schedules.set_enabled({"id": 1}, enabled=True))
    assert "Deleted schedule #1 «water»" in text_of(await schedules.delete({"id": 1}))
    assert text_of(await schedules.list_all()) == "There are no schedules."
    missing = await schedules.delete({"id": 1})
    assert missing.get("is_error") is True and "schedule_list" in text_of(missing)


async def test_subscribe_list_unsubscribe(db: Database) -> None:
    changes = Changes()
    tools = TriggerTools(
        triggers=TriggerRepo(db),
        resolver=Resolver(),
        on_change=changes,
        heartbeat_note="Heartbeat: every 30 min.",
    )
    result = await tools.subscribe(
        {"chat": "@news", "keywords": ["launch", " "], "instructions": "tell me about launches"}
    )
    assert text_of(result) == (
        "Watching now. #1 «News» (chat -1000000000777), keywords: launch, "
        "instructions: tell me about launches"
    )
    assert changes.count == 1
    listed = text_of(await tools.list_all())
    assert "#1 «News»" in listed and "Heartbeat: every 30 min." in listed
    missing = await tools.subscribe({"chat": "@nobody"})
    assert missing.get("is_error") is True and "No channel or group @nobody" in text_of(missing)
    assert "Stopped watching «News»" in text_of(await tools.unsubscribe({"id": 1}))
    assert changes.count == 2
    assert "No channels or groups are watched." in text_of(await tools.list_all())


async def test_subscribing_needs_telegram(db: Database) -> None:
    tools = TriggerTools(triggers=TriggerRepo(db), resolver=None, on_change=Changes())
    result = await tools.subscribe({"chat": "@news"})
    assert result.get("is_error") is True and "jobs run" in text_of(result)
    assert (await tools.subscribe({"chat": "@news", "keywords": list("x" * 30)})).get("is_error")
