"""What a firing says: `Due` (the scheduler's plan), its TriggerEvent, notices for the owner."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from jobs.i18n.translator import Translator
from jobs.storage import JobRun, Schedule
from jobs.triggers.events import TriggerEvent, TriggerSource


@dataclass(frozen=True, slots=True)
class Due:
    """A firing to handle now (pure result of `plan`)."""

    fire_time: datetime
    """The scheduled time this run stands for: the ledger key."""
    first_missed: datetime | None
    """Recurring: the earliest firing folded into this one (None when nothing was missed)."""
    late: bool
    run: bool
    """False: record it as skipped (misfire policy `skip`) and only tell the owner."""


def local_time(moment: datetime, timezone: str) -> str:
    return f"{moment.astimezone(zoneinfo.ZoneInfo(timezone)):%a %Y-%m-%d %H:%M %Z}"


def firing_event(schedule: Schedule, due: Due, now: datetime, t: Translator) -> TriggerEvent:
    """The turn's prompt is the model's (English); the header the owner sees is in `t`."""
    when = local_time(due.fire_time, schedule.timezone)
    lines = [
        f"Scheduled «{schedule.name}», due {when}. The owner asked for this:",
        schedule.prompt,
    ]  # i18n: skip
    if due.late:
        lines.append(  # i18n: skip
            f"Jobs was not running at {when}, so this runs late, now "
            f"({local_time(now, schedule.timezone)}): say so in your reply."
        )
    if due.first_missed is not None:
        lines.append(  # i18n: skip
            f"It was also due earlier (from {local_time(due.first_missed, schedule.timezone)}) "
            "while Jobs was not running; this one run stands for all of those."
        )
    late = t.gettext(" (late: was due {when})", when=when) if due.late else ""
    return TriggerEvent(
        source=TriggerSource.SCHEDULER,
        payload="\n".join(lines),
        trusted=True,
        dedup_key=f"schedule:{schedule.id}:{due.fire_time.isoformat()}",
        title=schedule.name,
        task_id=schedule.task_id,
        header=f"⏰ {schedule.name}{late}",
        slot=f"schedule:{schedule.id}",
    )


def skipped_text(schedule: Schedule, due: Due, t: Translator) -> str:
    return t.gettext(
        "Skipped: it was due {when} while Jobs was not running, and this schedule skips "
        "missed runs.",
        when=local_time(due.fire_time, schedule.timezone),
    )


def interrupted_text(schedule: Schedule, run: JobRun, t: Translator) -> str:
    return t.gettext(
        "Jobs stopped while this was running (due {when}). It is not run again, in case part "
        "of it had already happened. It was:\n{prompt}",
        when=local_time(run.scheduled_for, schedule.timezone),
        prompt=schedule.prompt,
    )
