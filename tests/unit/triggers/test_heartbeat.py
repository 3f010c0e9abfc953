from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jobs.triggers.events import TriggerEvent, TriggerSource
from jobs.triggers.heartbeat import Heartbeat, QuietHours, checklist_items

BERLIN = ZoneInfo("Europe/Berlin")
NOON = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
NIGHT = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # 00:30 in Berlin


class Recorder:
    def __init__(self) -> None:
        self.events: list[TriggerEvent] = []
        self.task_beats = 0

    async def __call__(self, event: TriggerEvent) -> None:
        self.events.append(event)

    async def tasks(self) -> None:
        self.task_beats += 1


def heartbeat(tmp_path: Path, rec: Recorder, **kw: object) -> Heartbeat:
    return Heartbeat(
        workspace=tmp_path,
        on_due=rec,
        interval=timedelta(minutes=30),
        zone=BERLIN,
        on_heartbeat_tasks=rec.tasks,
        **kw,  # type: ignore[arg-type]
    )


def test_an_empty_checklist_asks_for_nothing() -> None:
    template = (
        "# Heartbeat\n\n<!-- one item a line -->\n<!--\n- [ ] example\n-->\n- [ ]\n- [x] done\n"
    )
    assert checklist_items(template) == []
    assert checklist_items("# H\n- [ ] check mail\n* look at the calendar\nwater plants") == [
        "- [ ] check mail",
        "* look at the calendar",
        "water plants",
    ]


def test_quiet_hours_may_cross_midnight() -> None:
    night = QuietHours.parse("23:00-07:00")
    assert night.contains(time(23, 30)) and night.contains(time(6, 59))
    assert not night.contains(time(7, 0)) and not night.contains(time(22, 59))
    lunch = QuietHours.parse(" 12:00 - 13:30 ")
    assert lunch.contains(time(12, 0)) and not lunch.contains(time(13, 30))
    for bad in ("23-07", "25:00-07:00", "nonsense"):
        with pytest.raises(ValueError, match="23:00-07:00"):
            QuietHours.parse(bad)


async def test_no_checklist_means_no_model_call_but_tasks_still_resume(tmp_path: Path) -> None:
    rec = Recorder()
    beat = heartbeat(tmp_path, rec)
    assert not await beat.beat(NOON)  # HEARTBEAT.md missing
    (tmp_path / "HEARTBEAT.md").write_text("# Heartbeat\n\n- [x] old\n", encoding="utf-8")
    assert not await beat.beat(NOON)
    assert rec.events == [] and rec.task_beats == 2


async def test_checklist_items_go_to_the_owner_session(tmp_path: Path) -> None:
    rec = Recorder()
    (tmp_path / "HEARTBEAT.md").write_text("# H\n- [ ] check the mail\n", encoding="utf-8")
    assert await heartbeat(tmp_path, rec).beat(NOON)
    (event,) = rec.events
    assert event.source is TriggerSource.HEARTBEAT and event.trusted
    assert "- [ ] check the mail" in event.payload and "every 30 min" in event.payload
    assert event.dedup_key == "heartbeat:2026-11-27T12:00"


async def test_quiet_hours_pause_the_whole_beat(tmp_path: Path) -> None:
    rec = Recorder()
    (tmp_path / "HEARTBEAT.md").write_text("- check the mail\n", encoding="utf-8")
    beat = heartbeat(tmp_path, rec, quiet=QuietHours.parse("23:00-07:00"))
    assert not await beat.beat(NIGHT)
    assert rec.events == [] and rec.task_beats == 0
    assert await beat.beat(NOON)


async def test_interval_zero_is_off(tmp_path: Path) -> None:
    beat = Heartbeat(workspace=tmp_path, on_due=Recorder(), interval=timedelta(0), zone=BERLIN)
    assert not beat.enabled
    await beat.run()  # returns at once
