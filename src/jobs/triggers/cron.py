"""Cron expressions as people write them, checked and turned into what APScheduler 3 reads.

APScheduler 3 counts numeric weekdays from Monday (cron: 0 and 7 are Sunday), so weekdays
are handed over as names. It also ANDs a restricted day of month with a restricted day of
week where cron ORs them; such expressions are refused rather than run differently.
"""

from __future__ import annotations

from typing import Final

_CRON_DAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def for_apscheduler(expr: str) -> str:
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"a cron expression has 5 fields, got {len(fields)}: {expr!r}")
    if fields[2] not in ("*", "?") and fields[4] not in ("*", "?"):
        raise ValueError("restrict the day of the month or the day of the week, not both")
    return " ".join([*fields[:4], _cron_days(fields[4])])


def _cron_days(field: str) -> str:
    """A cron day-of-week field as APScheduler day names (which count from Monday)."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        span, _, step = part.partition("/")
        if span == "*":
            low, high = 0, 6
        elif "-" in span:
            first, last = span.split("-", 1)
            low, high = _cron_day(first), _cron_day(last)
        else:
            low = _cron_day(span)
            high = 6 if step else low
        if low > high or (step and int(step) < 1):
            raise ValueError(f"bad day-of-week part {part!r}")
        days.update(day % 7 for day in range(low, high + 1, int(step) if step else 1))
    return ",".join(_CRON_DAYS[day] for day in sorted(days))


def _cron_day(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token[:3] in _CRON_DAYS:
        return _CRON_DAYS.index(token[:3])
    raise ValueError(f"bad day of the week {token!r} (0-7 or sun..sat)")
