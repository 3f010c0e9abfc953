from __future__ import annotations

import pytest

from jobs.memory.document import (
    DocumentError,
    add_entry,
    parse,
    remove_entry,
    remove_section,
    replace_entry,
    replace_section,
    within_budget,
)

DOC = """# Memory

## People
- Anna (wife): birthday May 3
  loves tulips
- Bob: allergic to peanuts

  - nested after a blank line

## Work
Project Zephyr is due on Friday.

Standup at 10:00.
"""


def test_parse_sections_and_entries() -> None:
    lines = DOC.splitlines()
    sections = {s.title: s for s in parse(lines)}
    people = sections["People"]
    assert [lines[b.start] for b in people.entries] == [
        "- Anna (wife): birthday May 3",
        "- Bob: allergic to peanuts",
    ]
    bob = people.entries[1]
    assert lines[bob.end - 1] == "  - nested after a blank line"  # the nested list stays
    assert [lines[b.start] for b in sections["Work"].entries] == [
        "Project Zephyr is due on Friday.",
        "Standup at 10:00.",
    ]


def test_add_to_existing_and_new_section() -> None:
    text = add_entry(DOC, "people", "Carol: new neighbour")
    assert "  - nested after a blank line\n- Carol: new neighbour\n\n## Work" in text
    text = add_entry(text, "Hobbies", "chess\non Sundays")
    assert text.endswith("## Hobbies\n\n- chess\n  on Sundays\n")


def test_add_to_empty_file_makes_title_and_section() -> None:
    assert add_entry("", "Notes", "first") == "# Memory\n\n## Notes\n\n- first\n"


def test_replace_and_remove_one_entry() -> None:
    text = replace_entry(DOC, "anna", "Anna (wife): birthday May 4")
    assert "- Anna (wife): birthday May 4\n- Bob" in text
    assert "loves tulips" not in text
    text = remove_entry(text, "Zephyr", section="Work")
    assert "Zephyr" not in text and "## Work\n\nStandup at 10:00.\n" in text


def test_ambiguous_or_missing_entry_is_refused() -> None:
    with pytest.raises(DocumentError, match="2 entries contain"):
        replace_entry(DOC, ":", "x", section="People")
    with pytest.raises(DocumentError, match="No entry contains"):
        remove_entry(DOC, "nobody")
    with pytest.raises(DocumentError, match="no section 'Pets'"):
        remove_entry(DOC, "Anna", section="Pets")


def test_replace_and_remove_section() -> None:
    text = replace_section(DOC, "Work", "- only this")
    assert "## Work\n\n- only this\n" in text and "Zephyr" not in text
    text = remove_section(text, "people")
    assert "Anna" not in text and "## People" not in text and "## Work" in text
    with pytest.raises(DocumentError, match="Sections: Memory, Work"):
        remove_section(text, "People")


def test_within_budget_cuts_at_entry_boundaries() -> None:
    assert within_budget(DOC, 10_000) == (DOC, 0)
    shown, left_out = within_budget(DOC, 90)
    assert shown == "# Memory\n\n## People\n- Anna (wife): birthday May 3\n  loves tulips\n"
    assert left_out == 3
    assert len(shown.encode()) <= 90


def test_within_budget_counts_bytes_not_characters() -> None:
    text = "## Notes\n" + "".join(f"- заметка номер {i}\n" for i in range(50))
    shown, left_out = within_budget(text, 200)
    assert len(shown.encode()) <= 200 and shown.endswith("\n") and left_out > 0
