"""What the owner writes about spending, parsed and shown: a model (and its fallback) and a
budget limit ($1.50, 200k tokens, off). Pure; settings and commands share it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from jobs.i18n.translator import Translator, english

Unit = Literal["usd", "tokens"]

MODEL_ALIASES: Final = ("opus", "sonnet", "haiku")
"""Claude Code's names for the newest model of each family."""
DEFAULT_MODEL: Final = "default"
"""Claude Code's own default model (no --model)."""
_MODEL_ID = re.compile(r"claude-(?:[a-z0-9]+[-.])*?(?:opus|sonnet|haiku)(?:[-.][a-z0-9]+)*")
_NO_LIMIT: Final = frozenset({"off", "none", "no", "unlimited", "nolimit"})
_MONEY = re.compile(r"\$\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:\$|usd|dollars?)")
_TOKENS = re.compile(r"(\d+(?:\.\d+)?)\s*([km]?)\s*(?:tokens?)?")
_SCALE: Final = {"": 1, "k": 1_000, "m": 1_000_000}
MAX_USD: Final = 100_000.0
MAX_TOKENS: Final = 10**12


@dataclass(frozen=True, slots=True)
class Models:
    """A role's model and fallback; None: Claude Code's default model / no fallback."""

    model: str | None = None
    fallback: str | None = None

    def describe(self, t: Translator | None = None) -> str:
        t = t or english()
        shown = self.model or t.gettext("Claude Code's default")
        if not self.fallback:
            return shown
        return t.gettext("{model}, falling back to {fallback}", model=shown, fallback=self.fallback)


def parse_model(text: str, /, t: Translator | None = None) -> str | None:
    """A model name as Claude Code takes it (an alias or a full id), or None for `default`.
    ValueError says what is accepted (in `t`'s words)."""
    t = t or english()
    name = text.strip().lower()
    if name == DEFAULT_MODEL:
        return None
    if name in MODEL_ALIASES or _MODEL_ID.fullmatch(name):
        return name
    raise ValueError(
        t.gettext(
            "{name} is not a model I know: use opus, sonnet or haiku, a full Claude model id "
            "such as claude-sonnet-4-5, or default",
            name=repr(text.strip()[:40]),
        )
    )


def parse_models(text: str, /) -> Models:
    """`model` or `model,fallback` (a setting); ValueError says what is wrong."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > 2 or not all(parts):
        raise ValueError("expected a model, or a model and a fallback: opus,sonnet")
    return models(parts[0], parts[1] if len(parts) == 2 else None)


def models(model: str, fallback: str | None = None, /, t: Translator | None = None) -> Models:
    """A checked model and fallback (`none` or None: no fallback)."""
    t = t or english()
    chosen = parse_model(model, t)
    backup = None
    if fallback is not None and fallback.strip().lower() not in ("none", "off"):
        backup = parse_model(fallback, t)
        if backup is None:
            raise ValueError(t.gettext("the fallback must be a model, not default"))
        if backup == chosen:
            raise ValueError(t.gettext("the fallback must be another model than the model itself"))
    return Models(chosen, backup)


@dataclass(frozen=True, slots=True)
class Limit:
    """A budget: `amount` dollars or tokens."""

    amount: float
    unit: Unit

    def describe(self, t: Translator | None = None) -> str:
        return money(self.amount) if self.unit == "usd" else tokens(self.amount, t)

    def reached(self, *, cost_usd: float, used_tokens: int) -> bool:
        return (cost_usd if self.unit == "usd" else used_tokens) >= self.amount


def parse_limit(text: str, /, t: Translator | None = None) -> Limit | None:
    """`$1.50`, `1.5 usd`, `200k tokens`, `2M tokens`, `50000 tokens`, or `off` (None: no
    limit). A bare number is refused: dollars and tokens differ a thousandfold. ValueError
    says why, in `t`'s words."""
    t = t or english()
    words = text.strip().lower().replace(",", "").replace("_", "")
    if words.replace(" ", "") in _NO_LIMIT:
        return None
    if (found := _MONEY.fullmatch(words)) is not None:
        amount = float(found.group(1) or found.group(2))
        if amount > MAX_USD:
            raise ValueError(
                t.gettext("{amount} is more than I take as a budget", amount=money(amount))
            )
        return Limit(amount, "usd")
    found = _TOKENS.fullmatch(words)
    if found is None:
        raise ValueError(
            t.gettext(
                "{text} is not a budget: write it as $2.50, as 200k tokens, or off",
                text=repr(text.strip()[:40]),
            )
        )
    if not found.group(2) and "token" not in words:
        raise ValueError(
            t.gettext(
                "{n} of what? Write ${n} for dollars or {n} tokens for tokens",
                n=found.group(1),
            )
        )
    count = float(found.group(1)) * _SCALE[found.group(2)]
    if count > MAX_TOKENS:
        raise ValueError(
            t.gettext("{amount} is more than I take as a budget", amount=tokens(count, t))
        )
    return Limit(round(count), "tokens")


def describe_limit(limit: Limit | None, /, t: Translator | None = None) -> str:
    t = t or english()
    return t.gettext("no limit") if limit is None else limit.describe(t)


def money(amount: float, /) -> str:
    """Dollars as people read them: $0.50, $12.30, $0.0042 for tiny amounts."""
    if 0 < abs(amount) < 0.01:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


def tokens(count: float, /, t: Translator | None = None) -> str:
    # Three significant figures, no more: 21.4k, not 21.366k (a budget is no ledger).
    t = t or english()
    if count >= 999_500:
        amount = f"{_figure(count / 1_000_000)}M"
    elif count >= 10_000:
        amount = f"{_figure(count / 1_000)}k"
    else:
        amount = f"{count:,.0f}"
    return t.gettext("{amount} tokens", amount=amount)


def _figure(value: float, /) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
