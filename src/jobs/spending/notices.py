"""What Jobs says when a budget is reached: the owner's notice (what was spent, how to raise
it; names plain, never markup), a short polite note to anyone else (no amounts: a person
learns nothing about budgets), and the owner's own when their cap stops them."""

from __future__ import annotations

from datetime import datetime, tzinfo

from jobs.richtext import FormattedText, RichText
from jobs.spend_terms import Limit, money, tokens
from jobs.spending.budgets import Over

MORE_PEOPLE = (
    "💸 More people reached their daily budget today; I don't tell you of each one. "
    "/usage lists what everyone spent, /budget people raises theirs."
)


def spent_text(over: Over, /) -> str:
    if over.limit.unit == "usd":
        return money(over.spent.cost_usd)
    return tokens(over.spent.tokens)


def raised(limit: Limit, /) -> str:
    """A limit twice as high, as the owner would type it."""
    if limit.unit == "usd":
        return money(max(limit.amount * 2, 0.5)).replace(",", "")
    return tokens(max(limit.amount * 2, 10_000)).replace(",", "")


def owner_notice(over: Over, *, who: str, scope_arg: str, zone: tzinfo) -> FormattedText:
    """The owner's one notice of `over`. `who`: the person's or task's name (plain text), ""
    for triggers and the month; `scope_arg`: what /budget takes (person 123, task 5, …)."""
    used = f"{spent_text(over)} of {over.limit.describe()}"
    notice = RichText().text("💸 ")
    if over.scope.startswith("person:"):
        notice.plain(who).text(f" reached their daily budget: {used} today. I don't answer ")
        notice.text("them until tomorrow.")
    elif over.scope.startswith("task:"):
        notice.text(f"Task #{over.scope.removeprefix('task:')} ").plain(who)
        notice.text(f" reached its daily budget: {used} today. It does not run until tomorrow")
        notice.text(", and messages from the person it talks with are not passed on.")
    elif over.scope == "triggers":
        notice.text("Schedules, the heartbeat and watched channels reached their daily budget: ")
        notice.text(f"{used} today. They don't run until tomorrow.")
    else:
        notice.text(f"This month's cap is reached: {used}. Until {_date(over.until, zone)} only ")
        notice.text("your own messages are answered.")
    return notice.text(f"\n/budget {scope_arg} {raised(over.limit)} raises it.").build()


def person_note(*, monthly: bool) -> str:
    """What someone other than the owner is told, once, when their turns stop."""
    if monthly:
        return "I can't take on any more right now, sorry. Please write again later."
    return (
        "I've done as much as I can for you today, so I'll stop here. Please write again tomorrow."
    )


def owner_own_note(over: Over, *, zone: tzinfo) -> str:
    """The owner's own message, not answered: their own cap is reached."""
    used = f"{spent_text(over)} of {over.limit.describe()}"
    return (
        f"Not answered: your own daily budget is spent ({used} today). /budget owner "
        f"{raised(over.limit)} raises it; it starts again {_date(over.until, zone)}."
    )


def _date(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}"
