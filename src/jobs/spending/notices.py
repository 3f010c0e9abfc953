"""What Jobs says when a budget is reached: the owner's notice (what was spent, how to raise
it; names plain, never markup), a short polite note to anyone else (no amounts: a person
learns nothing about budgets), and the owner's own when their cap stops them."""

from __future__ import annotations

from datetime import datetime, tzinfo

from jobs.i18n.translator import Translator, gettext_noop
from jobs.richtext import FormattedText, RichText
from jobs.spend_terms import Limit, money, tokens
from jobs.spending.budgets import Over

MORE_PEOPLE = gettext_noop(
    "💸 More people reached their daily budget today; I don't tell you of each one. "
    "/usage lists what everyone spent, /budget people raises theirs."
)
"""Said in the owner's words: `t.later(MORE_PEOPLE)`."""


def spent_text(over: Over, t: Translator, /) -> str:
    if over.limit.unit == "usd":
        return money(over.spent.cost_usd)
    return tokens(over.spent.tokens, t)


def raised(limit: Limit, /) -> str:
    """A limit twice as high, as the owner would type it (a command's argument: English)."""
    if limit.unit == "usd":
        return money(max(limit.amount * 2, 0.5)).replace(",", "")
    return tokens(max(limit.amount * 2, 10_000)).replace(",", "")


def owner_notice(
    over: Over, t: Translator, /, *, who: str, scope_arg: str, zone: tzinfo
) -> FormattedText:
    """The owner's one notice of `over`, in the owner's words `t`. `who`: the person's or
    task's name (plain text), "" for triggers and the month; `scope_arg`: what /budget takes
    (person 123, task 5, …)."""
    used = t.gettext("{spent} of {limit}", spent=spent_text(over, t), limit=over.limit.describe(t))
    notice = RichText().text("💸 ")
    if over.scope.startswith("person:"):
        t.rich(
            notice,
            "{who} reached their daily budget: {used} today. I don't answer them until tomorrow.",
            who=who,
            used=used,
        )
    elif over.scope.startswith("task:"):
        t.rich(
            notice,
            "Task #{id} {who} reached its daily budget: {used} today. It does not run until "
            "tomorrow, and messages from the person it talks with are not passed on.",
            id=over.scope.removeprefix("task:"),
            who=who,
            used=used,
        )
    elif over.scope == "triggers":
        notice.text(
            t.gettext(
                "Schedules, the heartbeat and watched channels reached their daily budget: "
                "{used} today. They don't run until tomorrow.",
                used=used,
            )
        )
    else:
        notice.text(
            t.gettext(
                "This month's cap is reached: {used}. Until {date} only your own messages are "
                "answered.",
                used=used,
                date=_date(over.until, zone),
            )
        )
    return notice.text(
        "\n"
        + t.gettext(
            "/budget {scope} {amount} raises it.", scope=scope_arg, amount=raised(over.limit)
        )
    ).build()


def person_note(t: Translator, /, *, monthly: bool) -> str:
    """What someone other than the owner is told, once, in their words, when their turns
    stop."""
    if monthly:
        return t.gettext("I can't take on any more right now, sorry. Please write again later.")
    return t.gettext(
        "I've done as much as I can for you today, so I'll stop here. Please write again tomorrow."
    )


def owner_own_note(over: Over, t: Translator, /, *, zone: tzinfo) -> str:
    """The owner's own message, not answered: their own cap is reached."""
    used = t.gettext("{spent} of {limit}", spent=spent_text(over, t), limit=over.limit.describe(t))
    return t.gettext(
        "Not answered: your own daily budget is spent ({used} today). /budget owner {amount} "
        "raises it; it starts again {date}.",
        used=used,
        amount=raised(over.limit),
        date=_date(over.until, zone),
    )


def _date(moment: datetime, zone: tzinfo) -> str:
    # ISO-like and without month names, so it reads the same in every language.
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d}"
