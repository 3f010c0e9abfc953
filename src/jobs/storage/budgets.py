"""BudgetRepo: the owner's budgets by scope, and who was told that one was reached (once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jobs.storage.database import Database

Unit = Literal["usd", "tokens"]


@dataclass(frozen=True, slots=True)
class StoredLimit:
    """A budget the owner set: `amount` of `unit` (None: no limit at all)."""

    scope: str
    amount: float | None
    unit: Unit


class BudgetRepo:
    """Rows of `budgets` (the owner's own limits) and `spend_notices` (told once)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> dict[str, StoredLimit]:
        rows = await self._db.fetch_all("SELECT scope, amount, unit FROM budgets ORDER BY scope")
        return {
            row["scope"]: StoredLimit(
                row["scope"], row["amount"], "tokens" if row["unit"] == "tokens" else "usd"
            )
            for row in rows
        }

    async def set(self, scope: str, amount: float | None, unit: Unit, /) -> None:
        """The owner's limit for `scope` (None: no limit)."""
        await self._db.execute(
            "INSERT INTO budgets (scope, amount, unit, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (scope) DO UPDATE SET amount = excluded.amount,"
            " unit = excluded.unit, updated_at = excluded.updated_at",
            (scope, amount, unit, self._db.now()),
        )

    async def drop(self, scope: str, /) -> bool:
        """Back to the setting's default; False when the owner had set nothing."""
        result = await self._db.execute("DELETE FROM budgets WHERE scope = ?", (scope,))
        return result.rowcount == 1

    async def first_notice(self, scope: str, period: str, audience: str, /) -> bool:
        """True the first time `audience` is to be told about `scope` in `period` (recorded
        now, so a second call, even after a restart, says False)."""
        result = await self._db.execute(
            "INSERT INTO spend_notices (scope, period, audience, told_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (scope, period, audience, self._db.now()),
        )
        return result.rowcount == 1

    async def count_notices(self, prefix: str, period: str, audience: str, /) -> int:
        """How many scopes starting with `prefix` were told to `audience` in `period` (a
        day: the limit that follows it in the stored period does not matter)."""
        row = await self._db.fetch_one(
            "SELECT COUNT(*) AS n FROM spend_notices WHERE audience = ?"
            " AND substr(scope, 1, length(?)) = ? AND substr(period, 1, length(?)) = ?",
            (audience, prefix, prefix, period, period),
        )
        return 0 if row is None else int(row["n"])
