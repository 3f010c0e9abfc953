"""UsageReport: what Jobs spent, explained — by person, task and trigger, today, over the last
week or this month, with cache reads against cache writes and the models that ran; and the
weekly cost line. Names are other people's words: plain in the owner's notice, and left out
of the text the owner's session reads (ids only)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Final, Literal

from jobs.clock import Clock
from jobs.i18n.translator import Translator, english, gettext_noop
from jobs.richtext import RichText
from jobs.spend_terms import money
from jobs.spending.budgets import Periods
from jobs.storage import PeopleRepo, TaskRepo, UsageLine, UsageRepo, UsageTotals

Span = Literal["today", "week", "month"]
SPANS: Final = ("today", "week", "month")
SHOWN: Final = 12
"""Payers listed one by one; the rest are summed in one line."""
_TRIGGER_ICONS: Final = {"schedule": "⏰", "heartbeat": "💓", "channel": "📣"}


@dataclass
class Payer:
    """One payer's turns over a span, every model together."""

    payer: str
    label: str
    totals: UsageTotals
    models: set[str] = field(default_factory=set)

    @property
    def kind(self) -> str:
        return self.payer.split(":", 1)[0]


def _add(a: UsageTotals, b: UsageTotals) -> UsageTotals:
    return UsageTotals(
        turns=a.turns + b.turns,
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
        cache_read_tokens=a.cache_read_tokens + b.cache_read_tokens,
        cache_write_tokens=a.cache_write_tokens + b.cache_write_tokens,
        cost_usd=a.cost_usd + b.cost_usd,
        duration_ms=a.duration_ms + b.duration_ms,
    )


ZERO: Final = UsageTotals(0, 0, 0, 0, 0, 0.0, 0)


def by_payer(lines: Iterable[UsageLine], /) -> list[Payer]:
    """The lines (one per payer and model) folded by payer, the costliest first."""
    folded: dict[str, Payer] = {}
    for line in lines:
        payer = folded.setdefault(line.payer, Payer(line.payer, line.label, ZERO))
        payer.totals = _add(payer.totals, line.totals)
        payer.label = payer.label or line.label
        if line.model:
            payer.models.add(line.model.removeprefix("claude-"))
    return sorted(folded.values(), key=lambda p: (-p.totals.cost_usd, p.payer))


def total(payers: Iterable[Payer], /) -> UsageTotals:
    summed = ZERO
    for payer in payers:
        summed = _add(summed, payer.totals)
    return summed


class UsageReport:
    """Reads the usage rows; the owner's /usage and the owner session's usage tool use it."""

    def __init__(
        self,
        *,
        usage: UsageRepo,
        people: PeopleRepo,
        tasks: TaskRepo,
        clock: Clock,
        zone: tzinfo,
    ) -> None:
        self._usage = usage
        self._people = people
        self._tasks = tasks
        self._clock = clock
        self._zone = zone

    def start_of(self, span: Span, /) -> datetime:
        periods = Periods.at(self._clock(), self._zone)
        if span == "today":
            return periods.day
        if span == "month":
            return periods.month
        return periods.day - timedelta(days=6)

    async def payers(self, since: datetime, until: datetime | None = None, /) -> list[Payer]:
        return by_payer(await self._usage.lines(since, until))

    @property
    def zone(self) -> tzinfo:
        return self._zone

    async def notice(
        self, span: Span, /, t: Translator | None = None, *, lead: str = ""
    ) -> RichText:
        """/usage, in `t`'s words: each payer's cost, turns and models over `span`, then the
        tokens (after `lead`; more may be added)."""
        t = t or english()
        since = self.start_of(span)
        payers = await self.payers(since)
        out = RichText().text(lead).text(f"{_title(span, since, t)}: ", bold=True)
        if not payers:
            return out.text(t.gettext("nothing spent."))
        summed = total(payers)
        out.text(f"{money(summed.cost_usd)}, {_turns(summed.turns, t)}\n")
        for payer in payers[:SHOWN]:
            out.text("• ")
            await self._name(out, payer, t, plain=True)
            models = f" — {', '.join(sorted(payer.models))}" if payer.models else ""
            turns = _turns(payer.totals.turns, t)
            out.text(f": {money(payer.totals.cost_usd)}, {turns}{models}\n")
        if len(payers) > SHOWN:
            rest = total(payers[SHOWN:])
            out.text(
                t.gettext("• {n} more: {cost}", n=len(payers) - SHOWN, cost=money(rest.cost_usd))
                + "\n"
            )
        return out.text(tokens_line(summed, t))

    async def text(self, span: Span, /) -> str:
        """The same for the owner's session (its usage tool): no names, ids only; English,
        for the model."""
        t = english()
        since = self.start_of(span)
        payers = await self.payers(since)
        if not payers:
            return f"{_title(span, since, t)}: nothing spent."  # i18n: skip
        summed = total(payers)
        lines = [f"{_title(span, since, t)}: {money(summed.cost_usd)}, {_turns(summed.turns, t)}"]
        for payer in payers[:SHOWN]:
            label = await self._name(RichText(), payer, t, plain=False)
            turns = _turns(payer.totals.turns, t)
            lines.append(f"- {label}: {money(payer.totals.cost_usd)}, {turns}")
        lines.append(tokens_line(summed, t))
        return "\n".join(lines)

    async def week_line(self, t: Translator | None = None) -> str:
        """One line, in `t`'s words: the last seven days' cost by kind, against the seven
        before."""
        t = t or english()
        since = self.start_of("week")
        payers = await self.payers(since)
        before = total(await self.payers(since - timedelta(days=7), since))
        parts = []
        for kind, word in _KINDS.items():
            cost = sum(p.totals.cost_usd for p in payers if p.kind == kind)
            if cost:
                parts.append(f"{t.later(word)} {money(cost)}")
        split = f" ({', '.join(parts)})" if parts else ""
        return t.gettext(
            "This week (since {day}): {cost}{split}; the week before: {before}.",
            day=_day(since),
            cost=money(total(payers).cost_usd),
            split=split,
            before=money(before.cost_usd),
        )

    async def _name(self, out: RichText, payer: Payer, t: Translator, *, plain: bool) -> str:
        """Adds who `payer` is to `out` (their name plain when `plain`), and returns it as the
        owner's session may read it (no names, no @usernames, no titles: ids)."""
        kind, _, ident = payer.payer.partition(":")
        said = payer.payer
        if kind == "owner":
            said = t.gettext("you")
            out.text(said)
        elif kind == "person" and ident.isdigit():
            # The session reads the id alone: a name or @username is the person's own words.
            said = t.gettext("person {id}", id=ident)
            if plain:
                person = await self._people.get(int(ident))
                handle = f" (@{person.username})" if person and person.username else ""
                name = person.display_name if person and person.display_name else said
                out.plain(f"{name}{handle}")
            else:
                out.text(said)
        elif kind == "task" and ident.isdigit():
            task = await self._tasks.get(int(ident))
            said = t.gettext("task #{id}", id=ident)
            out.text(said)
            if plain and task is not None:
                out.text(" «").plain(task.title).text("»")
        else:
            what = ident.split(":", 1)[0]
            said = f"{_TRIGGER_ICONS.get(what, '⚙️')} {what}"
            out.text(said)
            if plain and payer.label:
                out.text(" «").plain(payer.label).text("»")
        return said


def tokens_line(summed: UsageTotals, /, t: Translator | None = None) -> str:
    """Where the input tokens went: cache reads (a tenth of the price) against writes."""
    t = t or english()
    sent = summed.input_tokens + summed.cache_read_tokens + summed.cache_write_tokens
    share = (
        t.gettext(
            " ({share} of the input from the cache)",
            share=format(summed.cache_read_tokens / sent, ".0%"),
        )
        if sent
        else ""
    )
    return t.gettext(
        "Tokens: {read} cache read, {write} cache write, {input} uncached input, {output} "
        "output{share}.",
        read=f"{summed.cache_read_tokens:,}",
        write=f"{summed.cache_write_tokens:,}",
        input=f"{summed.input_tokens:,}",
        output=f"{summed.output_tokens:,}",
        share=share,
    )


_KINDS: Final = {
    "owner": gettext_noop("you"),
    "person": gettext_noop("people"),
    "task": gettext_noop("tasks"),
    "trigger": gettext_noop("triggers"),
}


def _title(span: Span, since: datetime, t: Translator) -> str:
    if span == "today":
        zone = since.tzname() or ""
        return t.gettext("Today (since 00:00 {zone})", zone=zone).replace(" )", ")")
    if span == "month":
        return t.gettext("This month (since {day})", day=_day(since))
    return t.gettext("The last 7 days (since {day})", day=_day(since))


def _day(moment: datetime) -> str:
    # Numbers only: a month's name would be English in every language.
    return f"{moment:%Y-%m-%d}"


def _turns(n: int, t: Translator) -> str:
    return t.ngettext("{n} turn", "{n} turns", n)
