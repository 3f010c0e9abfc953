"""TaskRepo: delegated tasks: who does it, whom it talks to, its status, next step, session."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import Final, Literal

from jobs.storage.database import Database, from_iso, from_iso_or_none, to_iso


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    BLOCKED = "blocked"
    DONE = "done"
    CANCELLED = "cancelled"


ACTIVE_STATUSES: Final = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.WAITING)
"""Statuses of a task that is still being worked on (the heartbeat resumes these)."""
TALKING_STATUSES: Final = (*ACTIVE_STATUSES, TaskStatus.BLOCKED)
"""Statuses in which a conversation task still owns its counterpart's replies (a blocked task
waits for the owner's decision, but the person may still write)."""


class _Unset(Enum):
    UNSET = "unset"


ANY: Final = _Unset.UNSET
"""`TaskRepo.list(assignee_id=ANY)`: do not filter (None means the owner's own tasks)."""


@dataclass(frozen=True, slots=True)
class Task:
    """A task; `assignee_id` None is the owner's own, `counterpart_id` whom it talks to."""

    id: int
    assignee_id: int | None
    counterpart_id: int | None
    title: str
    description: str
    status: TaskStatus
    skill: str | None
    context: str
    next_step: str | None
    next_step_at: datetime | None
    session_id: str | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    grants: tuple[str, ...] = ()
    """What the owner let this task's session have beyond its card, folder, counterpart and
    skill (names in jobs.sessions.grants)."""
    next_step_by: str = "owner"
    """Who set next_step_at last: "owner", or "task" (the task's own session)."""
    assignee_next_step: str | None = None
    """The assignee's own next step: their words, never the session's plan."""
    outside_text_by: str | None = None
    """Set once someone other than the owner wrote into the task (JSON: who, since when):
    every session that reads the task's card then reads outside text."""

    @property
    def has_session(self) -> bool:
        """A task with a skill or a person to talk with is worked on by a session of its own."""
        return self.skill is not None or self.counterpart_id is not None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


def _task(row: sqlite3.Row) -> Task:
    return Task(
        id=row["id"],
        assignee_id=row["assignee_id"],
        counterpart_id=row["counterpart_id"],
        title=row["title"],
        description=row["description"],
        status=TaskStatus(row["status"]),
        skill=row["skill"],
        context=row["context"],
        next_step=row["next_step"],
        next_step_at=from_iso_or_none(row["next_step_at"]),
        session_id=row["session_id"],
        due_at=from_iso_or_none(row["due_at"]),
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
        grants=tuple(json.loads(row["grants"] or "[]")),
        next_step_by=row["next_step_by"],
        assignee_next_step=row["assignee_next_step"],
        outside_text_by=row["outside_text_by"],
    )


# Column names that `update()` may write. The SQL is assembled only from these constants,
# never from a caller's key.
_UPDATABLE: Final = {
    name: name
    for name in (
        "title",
        "description",
        "status",
        "assignee_id",
        "counterpart_id",
        "skill",
        "context",
        "next_step",
        "next_step_at",
        "session_id",
        "due_at",
        "grants",
        "next_step_by",
        "assignee_next_step",
        "outside_text_by",
    )
}
_TIME_COLUMNS: Final = frozenset({"next_step_at", "due_at"})

_LIST = """
SELECT * FROM tasks
WHERE (:any_assignee OR assignee_id IS :assignee_id)
  AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
ORDER BY id
"""


class TaskRepo:
    """Task rows; status changes and next steps come from the owner and the task sessions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        title: str,
        /,
        *,
        description: str = "",
        assignee_id: int | None = None,
        counterpart_id: int | None = None,
        skill: str | None = None,
        context: str = "",
        due_at: datetime | None = None,
        grants: Iterable[str] = (),
    ) -> Task:
        now = self._db.now()
        row = await self._db.fetch_one(
            "INSERT INTO tasks (title, description, assignee_id, counterpart_id, skill, context,"
            " due_at, grants, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (
                title,
                description,
                assignee_id,
                counterpart_id,
                skill,
                context,
                None if due_at is None else to_iso(due_at),
                _column_value("grants", grants),
                now,
                now,
            ),
        )
        if row is None:  # pragma: no cover - INSERT … RETURNING always yields the row
            raise RuntimeError("insert returned no row")
        return _task(row)

    async def get(self, task_id: int, /) -> Task | None:
        row = await self._db.fetch_one("SELECT * FROM tasks WHERE id = ?", (task_id,))
        return None if row is None else _task(row)

    async def list(
        self,
        *,
        assignee_id: int | Literal[_Unset.UNSET] | None = ANY,
        statuses: Iterable[TaskStatus] | None = None,
    ) -> builtins.list[Task]:
        """Tasks in creation order, optionally of one assignee (None: the owner's) and statuses."""
        wanted = None if statuses is None else json.dumps([str(TaskStatus(s)) for s in statuses])
        rows = await self._db.fetch_all(
            _LIST,
            {
                "any_assignee": assignee_id is ANY,
                "assignee_id": None if assignee_id is ANY else assignee_id,
                "statuses": wanted,
            },
        )
        return [_task(row) for row in rows]

    async def active(self) -> builtins.list[Task]:
        """Tasks still being worked on (open, in progress, waiting)."""
        return await self.list(statuses=ACTIVE_STATUSES)

    async def active_for_counterpart(self, user_id: int, /) -> Task | None:
        """The most recent active task that talks to this person (it owns their replies)."""
        row = await self._db.fetch_one(
            "SELECT * FROM tasks WHERE counterpart_id = ? AND status IN (?, ?, ?)"
            " ORDER BY updated_at DESC, id DESC LIMIT 1",
            (user_id, *ACTIVE_STATUSES),
        )
        return None if row is None else _task(row)

    async def conversation_with(self, user_id: int, /) -> Task | None:
        """The newest unfinished task that talks with this person: it owns their messages."""
        row = await self._db.fetch_one(
            "SELECT * FROM tasks WHERE counterpart_id = ? AND status IN (?, ?, ?, ?)"
            " ORDER BY id DESC LIMIT 1",
            (user_id, *TALKING_STATUSES),
        )
        return None if row is None else _task(row)

    async def due(self, now: datetime, /) -> builtins.list[Task]:
        """Active tasks with a session whose next step is due at `now` (the heartbeat's list)."""
        rows = await self._db.fetch_all(
            "SELECT * FROM tasks WHERE status IN (?, ?, ?) AND next_step_at <= ?"
            " AND (skill IS NOT NULL OR counterpart_id IS NOT NULL) ORDER BY next_step_at, id",
            (*ACTIVE_STATUSES, to_iso(now)),
        )
        return [_task(row) for row in rows]

    async def update(self, task_id: int, /, **fields: object) -> Task | None:
        """Change some columns; unknown names raise ValueError. None when the task is unknown."""
        unknown = sorted(set(fields) - set(_UPDATABLE))
        if unknown:
            raise ValueError(f"cannot update task column(s): {', '.join(unknown)}")
        if not fields:
            return await self.get(task_id)
        params = {name: _column_value(name, value) for name, value in fields.items()}
        assignments = ", ".join(f"{_UPDATABLE[name]} = :{name}" for name in sorted(params))
        params.update(task_id=task_id, updated_at=self._db.now())
        row = await self._db.fetch_one(
            # Safe: every column name comes from _UPDATABLE's own constants, checked above.
            f"UPDATE tasks SET {assignments}, updated_at = :updated_at"  # noqa: S608
            " WHERE id = :task_id RETURNING *",
            params,
        )
        return None if row is None else _task(row)

    async def set_session_id(self, task_id: int, session_id: str | None, /) -> bool:
        result = await self._db.execute(
            "UPDATE tasks SET session_id = ?, updated_at = ? WHERE id = ?",
            (session_id, self._db.now(), task_id),
        )
        return result.rowcount == 1


def _column_value(name: str, value: object) -> object:
    if name == "grants":
        return json.dumps(sorted({str(g) for g in value}) if isinstance(value, Iterable) else [])
    if name == "status":
        return str(TaskStatus(str(value)))
    if name in _TIME_COLUMNS and isinstance(value, datetime):
        return to_iso(value)
    if name in _TIME_COLUMNS and value is not None:
        raise ValueError(f"{name} must be a datetime or None, not {value!r}")
    return value
