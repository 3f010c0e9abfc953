"""TriggerRepo: schedules, the job_runs ledger (one run per schedule and time), subscriptions.

The values it returns, and how each is read from its row, are in jobs.storage.trigger_rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from jobs.messages import OutboundMessage
from jobs.storage.database import Database, to_iso
from jobs.storage.outbox import OutboxRepo
from jobs.storage.trigger_rows import (
    JobRun,
    Misfire,
    RunState,
    Schedule,
    ScheduleKind,
    Subscription,
    run_of,
    schedule_of,
    subscription_of,
)


def _keywords(keywords: Sequence[str]) -> str:
    if isinstance(keywords, str):  # a lone string would be stored letter by letter
        keywords = [keywords]
    return json.dumps([str(word) for word in keywords], ensure_ascii=False)


def _required(row: sqlite3.Row | None) -> sqlite3.Row:
    if row is None:  # pragma: no cover - INSERT … RETURNING always yields the row
        raise RuntimeError("insert returned no row")
    return row


_SUBSCRIBE = """
INSERT INTO trigger_subscriptions (source, target, title, keywords, instructions, created_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (source, target) DO UPDATE SET
    title = excluded.title, keywords = excluded.keywords,
    instructions = excluded.instructions, enabled = 1
RETURNING *
"""


class TriggerRepo:
    """What the scheduler and the channel watcher persist."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- schedules -------------------------------------------------------------------------

    async def add_schedule(
        self,
        name: str,
        /,
        *,
        kind: ScheduleKind,
        spec: str,
        timezone: str,
        prompt: str,
        task_id: int | None = None,
        misfire: Misfire = Misfire.RUN_LATE,
    ) -> Schedule:
        now = self._db.now()
        row = await self._db.fetch_one(
            "INSERT INTO schedules (name, kind, spec, timezone, prompt, task_id, misfire,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (
                name,
                str(ScheduleKind(kind)),
                spec,
                timezone,
                prompt,
                task_id,
                str(Misfire(misfire)),
                now,
                now,
            ),
        )
        return schedule_of(_required(row))

    async def get_schedule(self, schedule_id: int, /) -> Schedule | None:
        row = await self._db.fetch_one("SELECT * FROM schedules WHERE id = ?", (schedule_id,))
        return None if row is None else schedule_of(row)

    async def list_schedules(self, *, enabled_only: bool = False) -> list[Schedule]:
        rows = await self._db.fetch_all(
            "SELECT * FROM schedules WHERE (NOT :enabled_only OR enabled) ORDER BY id",
            {"enabled_only": enabled_only},
        )
        return [schedule_of(row) for row in rows]

    async def delete_schedule(self, schedule_id: int, /) -> bool:
        """Remove a schedule and (cascade) its runs."""
        result = await self._db.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))
        return result.rowcount == 1

    async def set_schedule_enabled(self, schedule_id: int, enabled: bool, /) -> bool:
        result = await self._db.execute(
            "UPDATE schedules SET enabled = ?, updated_at = ? WHERE id = ?",
            (int(enabled), self._db.now(), schedule_id),
        )
        return result.rowcount == 1

    # -- the job_runs ledger ---------------------------------------------------------------

    async def claim_run(
        self, schedule_id: int, scheduled_for: datetime, /, *, state: RunState = RunState.RUNNING
    ) -> bool:
        """Record a firing; False when this (schedule, time) already has a run: do not run again.

        Pass `state=RunState.SKIPPED` to record a missed firing that is deliberately not run.
        """
        now = self._db.now()
        finished = None if RunState(state) is RunState.RUNNING else now
        result = await self._db.execute(
            "INSERT INTO job_runs (schedule_id, scheduled_for, state, started_at, finished_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (schedule_id, scheduled_for) DO NOTHING",
            (schedule_id, to_iso(scheduled_for), str(state), now, finished),
        )
        return result.rowcount == 1

    async def finish_run(
        self,
        schedule_id: int,
        scheduled_for: datetime,
        state: RunState,
        note: str | None = None,
        *,
        deliver: Sequence[OutboundMessage] = (),
    ) -> bool:
        """Give a running firing its final state; False (and nothing written) if none runs.

        `deliver` (what the run tells the owner) goes into the outbox in the same
        transaction: after a crash a firing is either finished with its messages queued, or
        still `running` with nothing sent.
        """
        if RunState(state) is RunState.RUNNING:
            raise ValueError("finish_run() needs a final state, not running")
        async with self._db.transaction():
            result = await self._db.execute(
                "UPDATE job_runs SET state = ?, note = ?, finished_at = ?"
                " WHERE schedule_id = ? AND scheduled_for = ? AND state = 'running'",
                (str(state), note, self._db.now(), schedule_id, to_iso(scheduled_for)),
            )
            if result.rowcount != 1:
                return False
            if deliver:
                await OutboxRepo(self._db).enqueue(deliver)
        return True

    async def runs(self, schedule_id: int, /, *, limit: int = 20) -> list[JobRun]:
        """The schedule's runs, newest firing first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM job_runs WHERE schedule_id = ? ORDER BY scheduled_for DESC LIMIT ?",
            (schedule_id, limit),
        )
        return [run_of(row) for row in rows]

    async def last_run(self, schedule_id: int, /) -> JobRun | None:
        runs = await self.runs(schedule_id, limit=1)
        return runs[0] if runs else None

    async def fail_interrupted_runs(self) -> int:
        """At startup: runs left running by a crash are marked failed. Returns how many."""
        result = await self._db.execute(
            "UPDATE job_runs SET state = 'failed', note = 'interrupted', finished_at = ?"
            " WHERE state = 'running'",
            (self._db.now(),),
        )
        return result.rowcount

    async def take_interrupted_runs(self) -> list[JobRun]:
        """At startup: runs left running by a crash become failed ('interrupted'); returned."""
        rows = await self._db.fetch_all(
            "UPDATE job_runs SET state = 'failed', note = 'interrupted', finished_at = ?"
            " WHERE state = 'running' RETURNING *",
            (self._db.now(),),
        )
        return sorted((run_of(row) for row in rows), key=lambda run: run.scheduled_for)

    # -- subscriptions ---------------------------------------------------------------------

    async def add_subscription(
        self,
        source: str,
        target: str,
        /,
        *,
        title: str = "",
        keywords: Sequence[str] = (),
        instructions: str = "",
    ) -> Subscription:
        """Subscribe (or update and re-enable an existing subscription to the same target)."""
        row = await self._db.fetch_one(
            _SUBSCRIBE,
            (source, target, title, _keywords(keywords), instructions, self._db.now()),
        )
        return subscription_of(_required(row))

    async def get_subscription(self, subscription_id: int, /) -> Subscription | None:
        row = await self._db.fetch_one(
            "SELECT * FROM trigger_subscriptions WHERE id = ?", (subscription_id,)
        )
        return None if row is None else subscription_of(row)

    async def list_subscriptions(
        self, *, source: str | None = None, enabled_only: bool = False
    ) -> list[Subscription]:
        rows = await self._db.fetch_all(
            "SELECT * FROM trigger_subscriptions WHERE (:source IS NULL OR source = :source)"
            " AND (NOT :enabled_only OR enabled) ORDER BY id",
            {"source": source, "enabled_only": enabled_only},
        )
        return [subscription_of(row) for row in rows]

    async def remove_subscription(self, subscription_id: int, /) -> bool:
        result = await self._db.execute(
            "DELETE FROM trigger_subscriptions WHERE id = ?", (subscription_id,)
        )
        return result.rowcount == 1

    async def set_subscription_enabled(self, subscription_id: int, enabled: bool, /) -> bool:
        result = await self._db.execute(
            "UPDATE trigger_subscriptions SET enabled = ? WHERE id = ?",
            (int(enabled), subscription_id),
        )
        return result.rowcount == 1

    async def advance_subscription(self, subscription_id: int, last_msg_id: int, /) -> bool:
        """Record that posts up to `last_msg_id` were handed on; False if already recorded."""
        result = await self._db.execute(
            "UPDATE trigger_subscriptions SET last_msg_id = ? WHERE id = ? AND last_msg_id < ?",
            (last_msg_id, subscription_id, last_msg_id),
        )
        return result.rowcount == 1
