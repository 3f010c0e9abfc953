"""Budgets: the owner's limits by scope (the settings' defaults, the owner's own over them)
and whether a turn's charge is over one, counted from the usage rows of today and this month
(in the owner's time zone).

Scopes: `owner` (the owner's own messages, a day), `people` (each person, a day; `person:<id>`
for one), `tasks` (each task, a day; `task:<id>`), `triggers` (schedules, the heartbeat and
watched channels together, a day) and `month` (everything, the owner's messages included, in
a month; it stops all but the owner's own messages).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Final

from jobs.clock import Clock
from jobs.sessions.charges import Charge
from jobs.spend_terms import Limit
from jobs.storage import BudgetRepo, Spent, UsageRepo

DEFAULT_SCOPES: Final = ("owner", "people", "tasks", "triggers", "month")
_GROUP: Final = {"person": "people", "task": "tasks"}


@dataclass(frozen=True, slots=True)
class Over:
    """A budget a turn would go past: its scope, its limit, what was spent, and the period."""

    scope: str
    limit: Limit
    spent: Spent
    period: str
    """The day (2026-12-05) or month (2026-12) it counts, as stored with its notices."""
    until: datetime
    """When the period ends (the budget is new again)."""

    @property
    def monthly(self) -> bool:
        return self.scope == "month"


@dataclass(frozen=True, slots=True)
class Periods:
    """Where today and this month began and end, in the owner's time zone."""

    day: datetime
    tomorrow: datetime
    month: datetime
    next_month: datetime

    @classmethod
    def at(cls, now: datetime, zone: tzinfo, /) -> Periods:
        local = now.astimezone(zone)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        month = day.replace(day=1)
        following = (month + timedelta(days=32)).replace(day=1)
        # Aware arithmetic in a ZoneInfo zone is wall-clock time: a DST day is 23 or 25 h.
        return cls(day, day + timedelta(days=1), month, following)


def default_scope(scope: str, /) -> str:
    """The scope whose default applies: person:<id> → people, task:<id> → tasks."""
    return _GROUP.get(scope.split(":", 1)[0], scope)


class BudgetBook:
    """The limits in force: the owner's (`/budget`, kept in the database) over the settings'.
    `load()` once at start."""

    def __init__(self, *, defaults: Mapping[str, Limit | None], repo: BudgetRepo) -> None:
        self._defaults = dict(defaults)
        self._repo = repo
        self._own: dict[str, Limit | None] = {}

    async def load(self) -> None:
        stored = await self._repo.all()
        self._own = {
            scope: None if row.amount is None else Limit(row.amount, row.unit)
            for scope, row in stored.items()
        }

    def limit(self, scope: str, /) -> Limit | None:
        """The limit of `scope` (None: none)."""
        if scope in self._own:
            return self._own[scope]
        group = default_scope(scope)
        return self._own[group] if group in self._own else self._defaults.get(group)

    def set_by_owner(self, scope: str, /) -> bool:
        return scope in self._own

    def own(self) -> dict[str, Limit | None]:
        """The limits the owner set, by scope."""
        return dict(self._own)

    async def set(self, scope: str, limit: Limit | None, /) -> None:
        """The owner's limit for `scope` (None: no limit at all)."""
        if limit is None:
            await self._repo.set(scope, None, "usd")
        else:
            await self._repo.set(scope, limit.amount, limit.unit)
        self._own[scope] = limit

    async def reset(self, scope: str, /) -> bool:
        """Back to the setting's default; False when the owner had set nothing there."""
        self._own.pop(scope, None)
        return await self._repo.drop(scope)


def scopes_of(charge: Charge, /) -> tuple[str, ...]:
    """The budgets a turn of `charge` must be within, the narrowest first."""
    if charge.kind == "owner":
        return ("owner",)
    own = "triggers" if charge.kind == "trigger" else charge.payer
    return (own, "month")


class Budgets:
    """Whether a charge is over budget, from the usage rows (no cache: a turn is rare enough
    that a sum over today's rows, indexed by payer and time, costs nothing)."""

    def __init__(self, *, book: BudgetBook, usage: UsageRepo, clock: Clock, zone: tzinfo) -> None:
        self.book = book
        self._usage = usage
        self._clock = clock
        self._zone = zone

    def periods(self) -> Periods:
        return Periods.at(self._clock(), self._zone)

    @property
    def zone(self) -> tzinfo:
        """The owner's time zone, which days and months are counted in."""
        return self._zone

    async def over(self, charge: Charge, /) -> Over | None:
        """The first budget of `charge` that is spent, or None."""
        periods = self.periods()
        for scope in scopes_of(charge):
            limit = self.book.limit(scope)
            if limit is None:
                continue
            spent = await self.spent(scope, periods)
            if limit.reached(cost_usd=spent.cost_usd, used_tokens=spent.tokens):
                return _over(scope, limit, spent, periods)
        return None

    async def spent(self, scope: str, periods: Periods, /) -> Spent:
        """What `scope` spent in its period (a day; the month for `month`)."""
        if scope == "month":
            return await self._usage.spent(periods.month)
        if scope == "triggers":
            return await self._usage.spent(periods.day, prefix="trigger:")
        return await self._usage.spent(periods.day, payer=scope)


def _over(scope: str, limit: Limit, spent: Spent, periods: Periods) -> Over:
    if scope == "month":
        return Over(scope, limit, spent, f"{periods.month:%Y-%m}", periods.next_month)
    return Over(scope, limit, spent, f"{periods.day:%Y-%m-%d}", periods.tomorrow)
