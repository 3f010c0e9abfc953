from __future__ import annotations

from jobs.sessions import summary


def test_roll_appends_and_trims_each_side() -> None:
    rolled = summary.roll("", "hello\n  there", "x" * 1000)
    assert rolled.startswith("Person: hello there\nYou: ")
    assert len(rolled.split("\nYou: ")[1]) == summary.MAX_PART_CHARS


def test_roll_keeps_the_last_exchanges_within_the_limit() -> None:
    text = ""
    for i in range(50):
        text = summary.roll(text, f"question {i}", f"answer {i}", limit=200)
    assert len(text) <= 200
    assert text.endswith("answer 49") and "question 0" not in text


def test_primed_prompt() -> None:
    assert summary.primed("", "hi") == "hi"
    primed = summary.primed("Person: a\nYou: b", "hi")
    assert "Person: a\nYou: b" in primed and primed.endswith("\n\nhi")
