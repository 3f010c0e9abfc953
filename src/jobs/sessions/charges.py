"""Charge: who a turn's spend counts against (the owner, a person, a task, a trigger), and the
TurnGate every turn passes first (budgets, /pause).

A turn's charge follows from its session key, except a trigger's turn in the owner's or a
task's session: the executor says so. Follow-ups joined to a turn are its charge's too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from jobs.sessions.keys import SessionKey

ChargeKind = Literal["owner", "person", "task", "trigger"]


@dataclass(frozen=True, slots=True)
class Charge:
    """Who pays for a turn. `payer` is its stored form (usage rows, budgets)."""

    kind: ChargeKind
    ident: str = ""
    """A person's or task's id, or which trigger (schedule:<id>, heartbeat, channel:<id>)."""
    label: str = ""
    """A trigger's name for /usage (a schedule's, a channel's title): plain text."""

    @classmethod
    def owner(cls) -> Charge:
        return cls("owner")

    @classmethod
    def person(cls, user_id: int, /) -> Charge:
        return cls("person", str(user_id))

    @classmethod
    def task(cls, task_id: int, /) -> Charge:
        return cls("task", str(task_id))

    @classmethod
    def trigger(cls, what: str, /, label: str = "") -> Charge:
        return cls("trigger", what, label)

    @classmethod
    def of_key(cls, key: SessionKey, /) -> Charge:
        """The charge of a turn nobody named one for: the session's own."""
        if key.person_id is not None:
            return cls.person(key.person_id)
        if key.task_id is not None:
            return cls.task(key.task_id)
        if key.kind == "trigger":
            return cls.trigger("channel")
        return cls.owner()

    @property
    def payer(self) -> str:
        return "owner" if self.kind == "owner" else f"{self.kind}:{self.ident}"

    @property
    def by_owner(self) -> bool:
        """The owner's own message: no /pause holds it, only the owner's own budget."""
        return self.kind == "owner"


class TurnGate(Protocol):
    """Decides whether a turn may start (jobs.spending.Spending): asked when the turn has its
    session's lock, just before it runs. Raises jobs.errors.TurnRefused when it may not (the
    budget is spent, or /pause holds it); the refusal says what the writer is told, if
    anything (once per period)."""

    async def admit(self, charge: Charge, /) -> None: ...
