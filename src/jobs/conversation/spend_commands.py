"""The owner's /budget and /model: the budgets in force and what was spent against them, and
the model each kind of conversation runs; every malformed one answered with how to write it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from jobs.conversation.builtin_commands import MAX_ID_DIGITS
from jobs.conversation.commands import Command, CommandContext, CommandSpec, CommandTable
from jobs.conversation.untrusted import plain_name
from jobs.i18n.translator import Translator, gettext_noop
from jobs.messages import Body
from jobs.richtext import RichText
from jobs.spend_terms import Limit, Models, models, money, parse_limit, tokens
from jobs.spending import GROUPS, Budgets, ModelBook, PauseSwitch, group_of
from jobs.spending.budgets import Periods
from jobs.spending.report import by_payer
from jobs.storage import PeopleRepo, Spent, TaskRepo, UsageRepo

BUDGET_USAGE: Final = gettext_noop(
    "How to set a budget (a day; the month for `month`):\n"
    "/budget people $0.50 — each person other than you\n"
    "/budget person @alice $2 — one person (or their id)\n"
    "/budget tasks $2 — each task; /budget task 5 $3 — one task\n"
    "/budget triggers $1 — schedules, the heartbeat and watched channels together\n"
    "/budget month $30 — everything together (your own messages go on)\n"
    "/budget owner $5 — your own messages\n"
    "An amount is $2.50 or 200k tokens; off means no limit, default the setting's."
)
MODEL_USAGE: Final = gettext_noop(
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
    "owner": gettext_noop("your own messages"),
    "people": gettext_noop("each other person"),
    "tasks": gettext_noop("each task"),
    "triggers": gettext_noop("the triggers"),
    "month": gettext_noop("the month"),
}
_GROUP_NAMES: Final = {
    "owner": gettext_noop("your conversation"),
    "people": gettext_noop("other people's conversations"),
    "tasks": gettext_noop("tasks"),
    "triggers": gettext_noop("reading watched channels"),
}
"""Said in the owner's words: `t.later(...)`."""


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
        t = ctx.words
        if not command.args:
            return await _standing(sources, t)
        try:
            return await _set_budget(sources, command.args, t)
        except _Bad as bad:
            return f"{bad}\n\n{t.later(BUDGET_USAGE)}"

    async def model(ctx: CommandContext, command: Command) -> Body:
        t = ctx.words
        if not command.args:
            return _models(sources.models, t)
        try:
            return await _set_model(sources.models, command.args, t)
        except _Bad as bad:
            return f"{bad}\n\n{t.later(MODEL_USAGE)}"

    table.add(
        "budget",
        CommandSpec(
            budget,
            gettext_noop("budgets and what was spent against them; set one"),
            owner_only=True,
            usage=gettext_noop(
                "[people|person <who>|tasks|task <id>|triggers|month|owner <$ or tokens|off>]"
            ),
        ),
    )
    table.add(
        "model",
        CommandSpec(
            model,
            gettext_noop("the model of each kind of conversation; choose one"),
            owner_only=True,
            usage=gettext_noop("[owner|people|tasks|triggers <model> [fallback]]"),
        ),
    )


async def _set_budget(sources: SpendSources, args: tuple[str, ...], t: Translator) -> Body:
    word = _SCOPE_WORDS.get(args[0].lower())
    if word is None:
        raise _Bad(t.gettext("Which budget is {what}?", what=plain_name(args[0])))
    rest = list(args[1:])
    who = _Who(word, t.later(_NAMES[word]) if word in _NAMES else word)
    if word == "person" and not rest:
        raise _Bad(t.gettext("Which person? Say /budget person <who>."))
    if word == "task" and not rest:
        raise _Bad(t.gettext("Which task? Say /budget task <id>."))
    if word in ("person", "task"):
        who = await _target(sources, word, rest.pop(0), t)
    if not rest:
        raise _Bad(t.gettext("How much? Add an amount, off or default."))
    amount = " ".join(rest)
    book = sources.budgets.book
    if amount.lower() in ("default", "reset"):
        await book.reset(who.scope)
        return await _confirm(sources, who, t)
    try:
        limit = parse_limit(amount, t)
    except ValueError as exc:
        raise _Bad(f"{plain_name(str(exc), limit=200)}.") from None
    await book.set(who.scope, limit)
    return await _confirm(sources, who, t)


async def _target(sources: SpendSources, word: str, who: str, t: Translator) -> _Who:
    numeric = who.isascii() and who.isdigit() and len(who) <= MAX_ID_DIGITS
    if word == "task":
        task = await sources.tasks.get(int(who)) if numeric else None
        if task is None:
            raise _Bad(t.gettext("There is no task {id}: /tasks lists them.", id=plain_name(who)))
        return _Who(f"task:{task.id}", t.gettext("task #{id} «", id=task.id), task.title, "»")
    person = await sources.people.find_by_username(who) if not numeric else None
    if person is None and numeric:
        person = await sources.people.get(int(who))
    if person is None:
        raise _Bad(t.gettext("I don't know anyone called {who} yet.", who=plain_name(who)))
    handle = f" (@{person.username})" if person.username else ""
    return _Who(f"person:{person.user_id}", "", f"{person.display_name or person.user_id}{handle}")


async def _confirm(sources: SpendSources, who: _Who, t: Translator) -> Body:
    budgets = sources.budgets
    scope = who.scope
    limit = budgets.book.limit(scope)
    spent = await budgets.spent(scope, budgets.periods())
    shown = who.write(RichText().text(t.gettext("Done: ")))
    shown.text(f": {_limit_text(limit, scope, t)}")
    if not budgets.book.set_by_owner(scope):
        shown.text(t.gettext(" (the setting's)"))
    spent_text = _spent_text(spent, limit, t)
    if scope == "month":
        shown.text(t.gettext(". Spent this month: {spent}.", spent=spent_text))
    else:
        shown.text(t.gettext(". Spent today: {spent}.", spent=spent_text))
    return shown.build()


async def _standing(sources: SpendSources, t: Translator) -> Body:
    """Every budget in force, with what was spent against it, and who spent today."""
    budgets = sources.budgets
    periods = budgets.periods()
    out = RichText().text(t.gettext("Budgets, and what was spent against them:") + "\n")
    for scope in ("owner", "people", "tasks", "triggers", "month"):
        limit = budgets.book.limit(scope)
        out.text(f"• {t.later(_NAMES[scope])}: {_limit_text(limit, scope, t)}")
        if scope in ("owner", "triggers", "month"):
            spent = _spent_text(await budgets.spent(scope, periods), limit, t)
            if scope == "month":
                out.text(t.gettext(" — {spent} this month", spent=spent))
            else:
                out.text(t.gettext(" — {spent} today", spent=spent))
        out.text("\n")
        if scope in ("people", "tasks"):
            await _each(out, sources, "person" if scope == "people" else "task", periods, t)
    return out.text(f"\n{t.later(BUDGET_USAGE)}").build()


async def _each(
    out: RichText, sources: SpendSources, kind: str, periods: Periods, t: Translator
) -> None:
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
        (await _target_quietly(sources, kind, scope, t)).write(out.text("   - "))
        out.text(
            t.gettext(": {spent} today", spent=_spent_text(spent.get(scope, Spent()), limit, t))
        )
        if book.set_by_owner(scope):
            out.text(t.gettext(" (own budget: {limit})", limit=_limit_text(limit, scope, t)))
        out.text("\n")


async def _target_quietly(sources: SpendSources, kind: str, scope: str, t: Translator) -> _Who:
    try:
        return await _target(sources, kind, scope.split(":", 1)[1], t)
    except _Bad:  # a person or task gone since
        return _Who(scope, scope.replace(":", " "))


def _limit_text(limit: Limit | None, scope: str, t: Translator) -> str:
    if limit is None:
        return t.gettext("no limit")
    if scope == "month":
        return t.gettext("{limit} a month", limit=limit.describe(t))
    return t.gettext("{limit} a day", limit=limit.describe(t))


def _spent_text(spent: Spent, limit: Limit | None, t: Translator) -> str:
    if limit is not None and limit.unit == "tokens":
        return tokens(spent.tokens, t)
    return money(spent.cost_usd)


def _models(book: ModelBook, t: Translator) -> str:
    lines = [t.gettext("Models:")]
    for group in GROUPS:
        chosen = book.of(group)
        whose = "" if book.chosen_by_owner(group) else t.gettext(" (the setting)")
        lines.append(f"• {t.later(_GROUP_NAMES[group])}: {chosen.describe(t)}{whose}")
    lines += ["", t.later(MODEL_USAGE)]
    return "\n".join(lines)


async def _set_model(book: ModelBook, args: tuple[str, ...], t: Translator) -> str:
    group = group_of(args[0])
    if group is None:
        raise _Bad(
            t.gettext(
                "Whose model is {what}? Say owner, people, tasks or triggers.",
                what=plain_name(args[0]),
            )
        )
    if len(args) < 2 or len(args) > 3:
        raise _Bad(t.gettext("Say the model, and a fallback if you like."))
    if args[1].lower() in ("default", "reset") and len(args) == 2:
        await book.choose(group, None)
        return t.gettext(
            "Done: {who} run on {model} (the setting).",
            who=t.later(_GROUP_NAMES[group]),
            model=book.of(group).describe(t),
        )
    try:
        chosen = models(args[1], args[2] if len(args) == 3 else None, t)
    except ValueError as exc:
        raise _Bad(f"{plain_name(str(exc), limit=200)}.") from None
    await book.choose(group, chosen)
    return t.gettext(
        "Done: {who} run on {model} from the next message on (a running conversation picks "
        "it up where it is).",
        who=t.later(_GROUP_NAMES[group]),
        model=chosen.describe(t),
    )


async def status_lines(
    sources: SpendSources,
    switch: PauseSwitch,
    t: Translator,
    *,
    held_messages: Callable[[], Awaitable[int]],
    held_events: Callable[[], Awaitable[int]],
) -> list[str]:
    """/status's lines about spending, in the owner's words: /pause, the models, today's
    spend by kind."""
    lines = []
    if switch.since is not None:
        lines.append(
            t.gettext(
                "Paused since {since} UTC: other people, tasks and triggers wait ({messages}, "
                "{events} held); /resume lets them go on",
                since=f"{switch.since:%Y-%m-%d %H:%M}",
                messages=t.ngettext("{n} message", "{n} messages", await held_messages()),
                events=t.ngettext("{n} trigger", "{n} triggers", await held_events()),
            )
        )
    chosen = [f"{t.later(_SHORT[group])} {_short(sources.models.of(group))}" for group in GROUPS]
    lines.append(t.gettext("Models: {models} (/model)", models=", ".join(chosen)))
    budgets = sources.budgets
    periods = budgets.periods()
    payers = by_payer(await sources.usage.lines(periods.day))
    kinds = {
        "owner": gettext_noop("you"),
        "person": gettext_noop("people"),
        "task": gettext_noop("tasks"),
        "trigger": gettext_noop("triggers"),
    }
    parts = [
        f"{t.later(word)} {money(cost)}"
        for kind, word in kinds.items()
        if (cost := sum(p.totals.cost_usd for p in payers if p.kind == kind))
    ]
    spent = money(sum(p.totals.cost_usd for p in payers))
    month = money((await budgets.spent("month", periods)).cost_usd)
    cap = budgets.book.limit("month")
    if cap is not None:
        month = t.gettext("{spent} of {limit}", spent=month, limit=cap.describe(t))
    split = f" ({', '.join(parts)})" if parts else ""
    lines.append(
        t.gettext(
            "Spent today: {spent}{split}; this month {month} (/usage, /budget)",
            spent=spent,
            split=split,
            month=month,
        )
    )
    return lines


_SHORT: Final = {
    "owner": gettext_noop("you"),
    "people": gettext_noop("people"),
    "tasks": gettext_noop("tasks"),
    "triggers": gettext_noop("channels"),
}


def _short(chosen: Models) -> str:
    name = chosen.model or "default"
    return f"{name} (→ {chosen.fallback})" if chosen.fallback else name
