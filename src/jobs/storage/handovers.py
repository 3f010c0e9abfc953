"""HandoverRepo: conversations the owner took over (Jobs keeps out of them for a while)."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from jobs.storage.database import Database, from_iso, from_iso_or_none, to_iso


@dataclass(frozen=True, slots=True)
class Handover:
    """The owner talks with `person_id` themselves: Jobs keeps out until `until` (None: until
    the owner says so)."""

    person_id: int
    started_at: datetime
    until: datetime | None

    def in_force(self, now: datetime, /) -> bool:
        return self.until is None or self.until > now


def _handover(row: sqlite3.Row) -> Handover:
    return Handover(
        person_id=row["person_id"],
        started_at=from_iso(row["started_at"]),
        until=from_iso_or_none(row["until"]),
    )


class HandoverRepo:
    """Handover rows; `begin` starts or lengthens one, `end` is the owner's /resume."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def begin(
        self,
        person_id: int,
        /,
        *,
        now: datetime,
        until: datetime | None,
        on_start: Callable[[Handover], Awaitable[object]] | None = None,
    ) -> tuple[Handover, bool]:
        """Jobs keeps out of the conversation with `person_id` until `until` (None: until the
        owner ends it). A handover in force is lengthened, never shortened; the flag is True
        when this started a new one. `on_start` (the owner's notice) runs in the same
        transaction, only then: the owner is told exactly once per handover."""
        async with self._db.transaction():
            old = await self.get(person_id)
            started = old is None or not old.in_force(now)
            if not started and old is not None:
                longer = None if until is None or old.until is None else max(until, old.until)
                until, now = longer, old.started_at
            row = await self._db.fetch_one(
                "INSERT OR REPLACE INTO handovers (person_id, started_at, until, updated_at)"
                " VALUES (?, ?, ?, ?) RETURNING *",
                (person_id, to_iso(now), None if until is None else to_iso(until), self._db.now()),
            )
            if row is None:  # pragma: no cover - INSERT … RETURNING always yields the row
                raise RuntimeError("insert returned no row")
            handover = _handover(row)
            if started and on_start is not None:
                await on_start(handover)
        return handover, started

    async def set_until(self, person_id: int, until: datetime | None, /) -> Handover | None:
        """The owner's own choice for a handover in force (shorter or longer); None if none."""
        row = await self._db.fetch_one(
            "UPDATE handovers SET until = ?, updated_at = ? WHERE person_id = ? RETURNING *",
            (None if until is None else to_iso(until), self._db.now(), person_id),
        )
        return None if row is None else _handover(row)

    async def get(self, person_id: int, /) -> Handover | None:
        row = await self._db.fetch_one("SELECT * FROM handovers WHERE person_id = ?", (person_id,))
        return None if row is None else _handover(row)

    async def holds(self, person_id: int, now: datetime, /) -> bool:
        """Whether a handover with `person_id` is in force at `now`."""
        handover = await self.get(person_id)
        return handover is not None and handover.in_force(now)

    async def in_force(self, now: datetime, /) -> list[Handover]:
        rows = await self._db.fetch_all(
            "SELECT * FROM handovers WHERE until IS NULL OR until > ? ORDER BY started_at",
            (to_iso(now),),
        )
        return [_handover(row) for row in rows]

    async def end(self, person_id: int, /, *, now: datetime) -> bool:
        """End a handover in force; False when there was none."""
        result = await self._db.execute(
            "DELETE FROM handovers WHERE person_id = ? AND (until IS NULL OR until > ?)",
            (person_id, to_iso(now)),
        )
        return result.rowcount == 1
