"""The owner's /budget and /model: the budgets in force and what was spent against them, and
the model each kind of conversation runs; every malformed one answered with how to write it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from jobs.conversation.builtin_commands import MAX_ID_DIGITS
from jobs.conversation.commands import Command, CommandContext, CommandSpec, CommandTable
from jobs.conversation.untrusted import plain_name
from jobs.messages import Body
from jobs.richtext import RichText
from jobs.spend_terms import Limit, Models, models, money, parse_limit, tokens
from jobs.spending import GROUPS, Budgets, ModelBook, PauseSwitch, group_of
from jobs.spending.budgets import Periods
from jobs.spending.report import by_payer
from jobs.storage import PeopleRepo, Spent, TaskRepo, UsageRepo

BUDGET_USAGE: Final = (
    "How to set a budget (a day; the month for `month`):\n"
    "/budget people $0.50 — each person other than you\n"
    "/budget person @alice $2 — one person (or their id)\n"
    "/budget tasks $2 — each task; /budget task 5 $3 — one task\n"
    "/budget triggers $1 — schedules, the heartbeat and watched channels together\n"
    "/budget month $30 — everything together (your own messages go on)\n"
    "/budget owner $5 — your own messages\n"
    "An amount is $2.50 or 200k tokens; off means no limit, default the setting's."
)
MODEL_USAGE: Final = (
    "How to choose a model: /model <owner|people|tasks|triggers> <model> [fallback], e.g. "
    "/model people haiku, /model owner opus sonnet (sonnet when opus is overloaded). A model "
    "is opus, sonnet, haiku or a full id such as claude-sonnet-4-5; default goes back to the "
    "setting."
)
_SCOPE_WORDS: Final = {
    "people": "people",
    "persons": "people",
    "everyone": "people",
    "person": "person",
    "tasks": "tasks",
    "task": "task",
    "triggers": "triggers",
    "trigger": "triggers",
    "month": "month",
    "monthly": "month",
    "owner": "owner",
    "me": "owner",
    "mine": "owner",
}
_NAMES: Final = {
    "owner": "your own messages",
    "people": "each other person",
    "tasks": "each task",
    "triggers": "the triggers",
    "month": "the month",
}
_GROUP_NAMES: Final = {
    "owner": "your conversation",
    "people": "other people's conversations",
    "tasks": "tasks",
    "triggers": "reading watched channels",
}


@dataclass(frozen=True, slots=True)
class SpendSources:
    """What /budget and /model read and change."""

    budgets: Budgets
    models: ModelBook
    usage: UsageRepo
    people: PeopleRepo
    tasks: TaskRepo


class _Bad(ValueError):
    """A malformed command: its message is the answer."""


@dataclass(frozen=True, slots=True)
class _Who:
    """A budget's scope and how the owner is shown it (a name or title: plain)."""

    scope: str
    before: str
    name: str = ""
    after: str = ""

    def write(self, out: RichText, /) -> RichText:
        return out.text(self.before).plain(self.name).text(self.after)


def add_spend_commands(table: CommandTable, sources: SpendSources, /) -> None:
    async def budget(ctx: CommandContext, command: Command) -> Body:
        if not command.args:
            return await _standing(sources)
        try:
            return await _set_budget(sources, command.args)
        except _Bad as bad:
            return f"{bad}\n\n{BUDGET_USAGE}"

    async def model(ctx: CommandContext, command: Command) -> Body:
        if not command.args:
            return _models(sources.models)
        try:
            return await _set_model(sources.models, command.args)
        except _Bad as bad:
            return f"{bad}\n\n{MODEL_USAGE}"

    table.add(
        "budget",
        CommandSpec(
            budget,
            "budgets and what was spent against them; set one",
            owner_only=True,
            usage="[people|person <who>|tasks|task <id>|triggers|month|owner <$ or tokens|off>]",
        ),
    )
    table.add(
        "model",
        CommandSpec(
            model,
            "the model of each kind of conversation; choose one",
            owner_only=True,
            usage="[owner|people|tasks|triggers <model> [fallback]]",
        ),
    )


async def _set_budget(sources: SpendSources, args: tuple[str, ...]) -> Body:
    word = _SCOPE_WORDS.get(args[0].lower())
    if word is None:
        raise _Bad(f"Which budget is {plain_name(args[0])}?")
    rest = list(args[1:])
    who = _Who(word, _NAMES.get(word, word))
    if word in ("person", "task"):
        if not rest:
            raise _Bad(f"Which {word}? Say /budget {word} <{'who' if word == 'person' else 'id'}>.")
        who = await _target(sources, word, rest.pop(0))
    if not rest:
        raise _Bad("How much? Add an amount, off or default.")
    amount = " ".join(rest)
    book = sources.budgets.book
    if amount.lower() in ("default", "reset"):
        await book.reset(who.scope)
        return await _confirm(sources, who)
    try:
        limit = parse_limit(amount)
    except ValueError as exc:
        raise _Bad(f"{plain_name(str(exc), limit=200)}.") from None
    await book.set(who.scope, limit)
    return await _confirm(sources, who)


async def _target(sources: SpendSources, word: str, who: str) -> _Who:
    numeric = who.isascii() and who.isdigit() and len(who) <= MAX_ID_DIGITS
    if word == "task":
        task = await sources.tasks.get(int(who)) if numeric else None
        if task is None:
            raise _Bad(f"There is no task {plain_name(who)}: /tasks lists them.")
        return _Who(f"task:{task.id}", f"task #{task.id} «", task.title, "»")
    person = await sources.people.find_by_username(who) if not numeric else None
    if person is None and numeric:
        person = await sources.people.get(int(who))
    if person is None:
        raise _Bad(f"I don't know anyone called {plain_name(who)} yet.")
    handle = f" (@{person.username})" if person.username else ""
    return _Who(f"person:{person.user_id}", "", f"{person.display_name or person.user_id}{handle}")


async def _confirm(sources: SpendSources, who: _Who) -> Body:
    budgets = sources.budgets
    scope = who.scope
    limit = budgets.book.limit(scope)
    spent = await budgets.spent(scope, budgets.periods())
    period = "this month" if scope == "month" else "today"
    shown = who.write(RichText().text("Done: "))
    shown.text(f": {_limit_text(limit, scope)}")
    if not budgets.book.set_by_owner(scope):
        shown.text(" (the setting's)")
    shown.text(f". Spent {period}: {_spent_text(spent, limit)}.")
    return shown.build()


async def _standing(sources: SpendSources) -> Body:
    """Every budget in force, with what was spent against it, and who spent today."""
    budgets = sources.budgets
    periods = budgets.periods()
    out = RichText().text("Budgets, and what was spent against them:\n")
    for scope in ("owner", "people", "tasks", "triggers", "month"):
        limit = budgets.book.limit(scope)
        out.text(f"• {_NAMES[scope]}: {_limit_text(limit, scope)}")
        if scope in ("owner", "triggers", "month"):
            spent = await budgets.spent(scope, periods)
            period = "this month" if scope == "month" else "today"
            out.text(f" — {_spent_text(spent, limit)} {period}")
        out.text("\n")
        if scope in ("people", "tasks"):
            await _each(out, sources, "person" if scope == "people" else "task", periods)
    return out.text(f"\n{BUDGET_USAGE}").build()


async def _each(out: RichText, sources: SpendSources, kind: str, periods: Periods) -> None:
    """The people (or tasks) who spent today or have a budget of their own."""
    book = sources.budgets.book
    spent = {
        payer.payer: Spent(payer.totals.turns, payer.totals.cost_usd, payer.totals.tokens)
        for payer in by_payer(await sources.usage.lines(periods.day))
        if payer.payer.startswith(f"{kind}:")
    }
    scopes = sorted(set(spent) | {s for s in book.own() if s.startswith(f"{kind}:")})
    for scope in scopes[:20]:
        limit = book.limit(scope)
        (await _target_quietly(sources, kind, scope)).write(out.text("   - "))
        out.text(f": {_spent_text(spent.get(scope, Spent()), limit)} today")
        if book.set_by_owner(scope):
            out.text(f" (own budget: {_limit_text(limit, scope)})")
        out.text("\n")


async def _target_quietly(sources: SpendSources, kind: str, scope: str) -> _Who:
    try:
        return await _target(sources, kind, scope.split(":", 1)[1])
    except _Bad:  # a person or task gone since
        return _Who(scope, scope.replace(":", " "))


def _limit_text(limit: Limit | None, scope: str) -> str:
    if limit is None:
        return "no limit"
    return f"{limit.describe()} {'a month' if scope == 'month' else 'a day'}"


def _spent_text(spent: Spent, limit: Limit | None) -> str:
    if limit is not None and limit.unit == "tokens":
        return tokens(spent.tokens)
    return money(spent.cost_usd)


def _models(book: ModelBook) -> str:
    lines = ["Models:"]
    for group in GROUPS:
        chosen = book.of(group)
        whose = "" if book.chosen_by_owner(group) else " (the setting)"
        lines.append(f"• {_GROUP_NAMES[group]}: {chosen.describe()}{whose}")
    lines += ["", MODEL_USAGE]
    return "\n".join(lines)


async def _set_model(book: ModelBook, args: tuple[str, ...]) -> str:
    group = group_of(args[0])
    if group is None:
        raise _Bad(f"Whose model is {plain_name(args[0])}? Say owner, people, tasks or triggers.")
    if len(args) < 2 or len(args) > 3:
        raise _Bad("Say the model, and a fallback if you like.")
    if args[1].lower() in ("default", "reset") and len(args) == 2:
        await book.choose(group, None)
        return f"Done: {_GROUP_NAMES[group]} run on {book.of(group).describe()} (the setting)."
    try:
        chosen = models(args[1], args[2] if len(args) == 3 else None)
    except ValueError as exc:
        raise _Bad(f"{plain_name(str(exc), limit=200)}.") from None
    await book.choose(group, chosen)
    return (
        f"Done: {_GROUP_NAMES[group]} run on {chosen.describe()} from the next message on "
        "(a running conversation picks it up where it is)."
    )


async def status_lines(
    sources: SpendSources,
    switch: PauseSwitch,
    *,
    held_messages: Callable[[], Awaitable[int]],
    held_events: Callable[[], Awaitable[int]],
) -> list[str]:
    """/status's lines about spending: /pause, the models, today's spend by kind."""
    lines = []
    if switch.since is not None:
        waiting = f"{await held_messages()} message(s), {await held_events()} trigger(s) held"
        lines.append(
            f"Paused since {switch.since:%Y-%m-%d %H:%M} UTC: other people, tasks and triggers "
            f"wait ({waiting}); /resume lets them go on"
        )
    chosen = [f"{_SHORT[group]} {_short(sources.models.of(group))}" for group in GROUPS]
    lines.append("Models: " + ", ".join(chosen) + " (/model)")
    budgets = sources.budgets
    periods = budgets.periods()
    payers = by_payer(await sources.usage.lines(periods.day))
    kinds = {"owner": "you", "person": "people", "task": "tasks", "trigger": "triggers"}
    parts = [
        f"{word} {money(cost)}"
        for kind, word in kinds.items()
        if (cost := sum(p.totals.cost_usd for p in payers if p.kind == kind))
    ]
    spent = money(sum(p.totals.cost_usd for p in payers))
    month = await budgets.spent("month", periods)
    cap = budgets.book.limit("month")
    of_cap = f" of {cap.describe()}" if cap is not None else ""
    split = f" ({', '.join(parts)})" if parts else ""
    lines.append(
        f"Spent today: {spent}{split}; this month {money(month.cost_usd)}{of_cap} (/usage, /budget)"
    )
    return lines


_SHORT: Final = {"owner": "you", "people": "people", "tasks": "tasks", "triggers": "channels"}


def _short(chosen: Models) -> str:
    name = chosen.model or "default"
    return f"{name} (→ {chosen.fallback})" if chosen.fallback else name
