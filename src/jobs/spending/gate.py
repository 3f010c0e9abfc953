"""Spending: the gate every turn passes (jobs.sessions.charges.TurnGate) — /pause holds what
the owner did not start, a spent budget stops the next turn of its kind — and the notices
that go with it: the owner told once per budget and period (what was spent, how to raise
it), the writer once with a short polite note.

The owner's notices cannot become a flood: per day the owner hears of at most
MAX_PEOPLE_NOTICES people, then once that there are more.
"""

from __future__ import annotations

import logging
from typing import Final

from jobs.errors import TurnRefused
from jobs.i18n.speakers import OwnerWords, english_words
from jobs.i18n.translator import Translator
from jobs.messages import OutboundMessage
from jobs.sessions.charges import Charge
from jobs.spending import notices
from jobs.spending.budgets import Budgets, Over
from jobs.spending.pause import PauseSwitch
from jobs.storage import BudgetRepo, OutboxRepo, PeopleRepo, TaskRepo

logger = logging.getLogger(__name__)

MAX_PEOPLE_NOTICES: Final = 5


class Spending:
    """Implements TurnGate; the worker also asks it what a refused writer is told."""

    def __init__(
        self,
        *,
        budgets: Budgets,
        pause: PauseSwitch,
        notices: BudgetRepo,
        outbox: OutboxRepo,
        owner_chat: int,
        people: PeopleRepo,
        tasks: TaskRepo,
        owner_words: OwnerWords = english_words,
    ) -> None:
        self.budgets = budgets
        self.pause = pause
        self._told = notices
        self._outbox = outbox
        self._chat = owner_chat
        self._people = people
        self._tasks = tasks
        self._zone = budgets.zone
        self._owner_words = owner_words

    async def admit(self, charge: Charge, /) -> None:
        """Raise TurnRefused unless a turn of `charge` may start now."""
        if self.pause.paused and not charge.by_owner:
            raise TurnRefused("Paused: it runs after /resume.", paused=True)
        over = await self.budgets.over(charge)
        if over is None:
            return
        logger.info("%s: the %s budget is spent (%s)", charge.payer, over.scope, over.period)
        note = ""
        if charge.by_owner:
            note = notices.owner_own_note(over, await self._owner_words(), zone=self._zone)
        else:
            await self._tell_owner(over)
        raise TurnRefused(
            f"The {over.scope} budget is spent.",
            paused=False,
            period=over.period,
            monthly=over.monthly,
            note=note,
        )

    async def writer_note(
        self, writer_id: int, refused: TurnRefused, t: Translator, /, *, owner: bool
    ) -> str:
        """What the writer of a refused message is told, in their words `t`: the owner always
        (their own cap), anyone else once per period; "" for a held message (/pause)."""
        if refused.paused:
            return ""
        if owner:
            return refused.note
        first = await self._told.first_notice(f"person:{writer_id}", refused.period, "person")
        return notices.person_note(t, monthly=refused.monthly) if first else ""

    async def _tell_owner(self, over: Over) -> None:
        period = f"{over.period}|{over.limit.describe()}"  # a raised limit may be told again
        if not await self._told.first_notice(over.scope, period, "owner"):
            return
        if over.scope.startswith("person:"):
            told = await self._told.count_notices("person:", over.period, "owner")
            if told > MAX_PEOPLE_NOTICES + 1:
                return
            if told == MAX_PEOPLE_NOTICES + 1:
                words = await self._owner_words()
                more = OutboundMessage.formatted(self._chat, words.later(notices.MORE_PEOPLE))
                await self._outbox.enqueue([more])
                return
        who, scope_arg = await self._names(over.scope)
        body = notices.owner_notice(
            over, await self._owner_words(), who=who, scope_arg=scope_arg, zone=self._zone
        )
        await self._outbox.enqueue([OutboundMessage.formatted(self._chat, body)])

    async def _names(self, scope: str) -> tuple[str, str]:
        """Whose budget `scope` is (a name, plain) and how /budget names it."""
        kind, _, ident = scope.partition(":")
        if kind == "person" and ident.isdigit():
            person = await self._people.get(int(ident))
            name = person.display_name if person and person.display_name else f"id {ident}"
            handle = f" (@{person.username})" if person and person.username else ""
            return f"{name}{handle}", f"person {ident}"
        if kind == "task" and ident.isdigit():
            task = await self._tasks.get(int(ident))
            return (f"«{task.title}»" if task else ""), f"task {ident}"
        return "", scope
