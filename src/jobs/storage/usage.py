"""UsageRepo: one row per CLI turn — tokens, cost, model, and who it is counted against — and
the sums that /usage and the budgets read."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from jobs.storage.database import Database, to_iso


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """What one role's turns cost over a period."""

    turns: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float
    duration_ms: int

    @property
    def tokens(self) -> int:
        """Every token the turns sent or received, cached ones included."""
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )


@dataclass(frozen=True, slots=True)
class Spent:
    """What the turns counted against someone cost over a period."""

    turns: int = 0
    cost_usd: float = 0.0
    tokens: int = 0


@dataclass(frozen=True, slots=True)
class UsageLine:
    """One payer's turns with one model over a period (a line of /usage)."""

    payer: str
    """owner, person:<id>, task:<id> or trigger:<what>."""
    label: str
    """A trigger's name (a schedule's, a channel's title: its owner's or others' words)."""
    model: str | None
    totals: UsageTotals


_SUMS: Final = """COUNT(*) AS turns, SUM(input_tokens) AS input_tokens,
       SUM(output_tokens) AS output_tokens, SUM(cache_read_tokens) AS cache_read_tokens,
       SUM(cache_write_tokens) AS cache_write_tokens, SUM(cost_usd) AS cost_usd,
       SUM(duration_ms) AS duration_ms"""
_PERIOD: Final = "created_at >= :since AND (:until IS NULL OR created_at < :until)"
_TOTALS: Final = f"""
SELECT role, {_SUMS} FROM usage WHERE {_PERIOD} GROUP BY role ORDER BY role
"""  # noqa: S608 - constant fragments, no outside input
_LINES: Final = f"""
SELECT payer, MAX(payer_label) AS label, model, {_SUMS} FROM usage WHERE {_PERIOD}
GROUP BY payer, model ORDER BY SUM(cost_usd) DESC, payer, model
"""  # noqa: S608 - constant fragments, no outside input
_SPENT: Final = """
SELECT COUNT(*) AS turns, COALESCE(SUM(cost_usd), 0) AS cost_usd,
       COALESCE(SUM(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0)
         AS tokens
FROM usage WHERE created_at >= :since
  AND (:payer IS NULL OR payer = :payer)
  AND (:prefix IS NULL OR substr(payer, 1, length(:prefix)) = :prefix)
"""


def _totals(row: sqlite3.Row) -> UsageTotals:
    return UsageTotals(
        turns=row["turns"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cache_read_tokens=row["cache_read_tokens"],
        cache_write_tokens=row["cache_write_tokens"],
        cost_usd=float(row["cost_usd"]),
        duration_ms=row["duration_ms"],
    )


class UsageRepo:
    """Token and cost records, one per CLI turn; summed for /usage and the budgets."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(  # noqa: PLR0913 - one keyword per column of an append-only row
        self,
        session_key: str,
        role: str,
        person_id: int | None,
        model: str | None,
        *,
        payer: str = "owner",
        payer_label: str = "",
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        cost_usd: float = 0.0,
        duration_ms: int = 0,
    ) -> None:
        await self._db.execute(
            "INSERT INTO usage (session_key, role, person_id, model, payer, payer_label,"
            " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd,"
            " duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_key,
                role,
                person_id,
                model,
                payer,
                payer_label,
                input_tokens,
                output_tokens,
                cache_read_tokens,
                cache_write_tokens,
                cost_usd,
                duration_ms,
                self._db.now(),
            ),
        )

    async def totals(
        self, since: datetime, until: datetime | None = None
    ) -> dict[str, UsageTotals]:
        """Sums per role for records in [since, until)."""
        rows = await self._db.fetch_all(_TOTALS, _period(since, until))
        return {row["role"]: _totals(row) for row in rows}

    async def lines(self, since: datetime, until: datetime | None = None) -> list[UsageLine]:
        """Sums per payer and model for records in [since, until), the costliest first."""
        rows = await self._db.fetch_all(_LINES, _period(since, until))
        return [UsageLine(row["payer"], row["label"], row["model"], _totals(row)) for row in rows]

    async def spent(
        self, since: datetime, /, *, payer: str | None = None, prefix: str | None = None
    ) -> Spent:
        """What the records since `since` cost: of one `payer`, of the payers starting with
        `prefix` (`trigger:`), or of everyone."""
        row = await self._db.fetch_one(
            _SPENT, {"since": to_iso(since), "payer": payer, "prefix": prefix}
        )
        if row is None:  # pragma: no cover - an aggregate always yields a row
            return Spent()
        return Spent(int(row["turns"]), float(row["cost_usd"]), int(row["tokens"]))


def _period(since: datetime, until: datetime | None) -> dict[str, str | None]:
    return {"since": to_iso(since), "until": None if until is None else to_iso(until)}
