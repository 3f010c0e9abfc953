"""The trigger tables' rows as values: Schedule (kinds, misfire policy), JobRun (states) and
Subscription, each read from its sqlite row."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from jobs.storage.database import from_iso, from_iso_or_none


class ScheduleKind(StrEnum):
    CRON = "cron"
    INTERVAL = "interval"
    ONCE = "once"


class Misfire(StrEnum):
    """What to do with a firing missed while Jobs was down."""

    RUN_LATE = "run_late"
    SKIP = "skip"


class RunState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Schedule:
    """A stored schedule; `spec` is a cron expression, a number of seconds, or an ISO time."""

    id: int
    name: str
    kind: ScheduleKind
    spec: str
    timezone: str
    prompt: str
    task_id: int | None
    enabled: bool
    misfire: Misfire
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class JobRun:
    """One firing of a schedule, keyed by the time it was due."""

    id: int
    schedule_id: int
    scheduled_for: datetime
    state: RunState
    note: str | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Subscription:
    """A watched source (e.g. a Telegram channel) whose posts become trigger events."""

    id: int
    source: str
    target: str
    title: str
    keywords: tuple[str, ...]
    instructions: str
    enabled: bool
    created_at: datetime
    last_msg_id: int = 0
    """The newest post already handed on (posts at or below it are replays)."""


def schedule_of(row: sqlite3.Row) -> Schedule:
    return Schedule(
        id=row["id"],
        name=row["name"],
        kind=ScheduleKind(row["kind"]),
        spec=row["spec"],
        timezone=row["timezone"],
        prompt=row["prompt"],
        task_id=row["task_id"],
        enabled=bool(row["enabled"]),
        misfire=Misfire(row["misfire"]),
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
    )


def run_of(row: sqlite3.Row) -> JobRun:
    return JobRun(
        id=row["id"],
        schedule_id=row["schedule_id"],
        scheduled_for=from_iso(row["scheduled_for"]),
        state=RunState(row["state"]),
        note=row["note"],
        started_at=from_iso(row["started_at"]),
        finished_at=from_iso_or_none(row["finished_at"]),
    )


def subscription_of(row: sqlite3.Row) -> Subscription:
    return Subscription(
        id=row["id"],
        source=row["source"],
        target=row["target"],
        title=row["title"],
        keywords=tuple(str(word) for word in json.loads(row["keywords"] or "[]")),
        instructions=row["instructions"],
        enabled=bool(row["enabled"]),
        created_at=from_iso(row["created_at"]),
        last_msg_id=row["last_msg_id"],
    )
