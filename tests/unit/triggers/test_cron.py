from __future__ import annotations

import pytest

from jobs.triggers.cron import for_apscheduler


@pytest.mark.parametrize(
    ("cron", "apscheduler"),
    [
        ("0 9 * * *", "0 9 * * *"),
        ("0 9 * * 1-5", "0 9 * * mon,tue,wed,thu,fri"),
        ("0 9 * * 0", "0 9 * * sun"),
        ("0 9 * * 7", "0 9 * * sun"),
        ("0 9 * * 5-7", "0 9 * * sun,fri,sat"),
        ("0 9 * * */2", "0 9 * * sun,tue,thu,sat"),
        ("0 9 * * MON,wed", "0 9 * * mon,wed"),
        ("0 9 * * 6,0", "0 9 * * sun,sat"),
        ("0   9 1 * ?", "0 9 1 * *"),
    ],
)
def test_weekdays_count_from_sunday_as_in_cron(cron: str, apscheduler: str) -> None:
    assert for_apscheduler(cron) == apscheduler


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 9 * *", "5 fields"),
        ("0 9 1 * 1", "not both"),
        ("0 9 * * 8", "bad day of the week"),
        ("0 9 * * 5-1", "bad day-of-week part"),
        ("0 9 * * xyz", "bad day of the week"),
    ],
)
def test_bad_expressions_say_why(cron: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        for_apscheduler(cron)
