"""Names and text of other people, quoted in the owner's messages: literal, visible, bounded."""

from __future__ import annotations

import pytest

from jobs.conversation.untrusted import one_line, plain_name, preview
from jobs.telegram.formatting import render_markdown
from jobs.telegram.media import safe_file_name

TRICKS = "Bob\u202egnp.exe\u200b\u2066 **boss** [bank](http://evil.example)\x00\n/allow_1"


def test_a_tricky_name_is_one_plain_line() -> None:
    name = plain_name(TRICKS)
    rendered = render_markdown(name)
    assert not rendered.entities  # no bold, no link of theirs
    assert rendered.text == "Bob gnp.exe **boss** [bank](http://evil.example) /allow_1"
    assert not any(ch in rendered.text for ch in "\u202e\u200b\u2066\x00\n")


def test_names_are_bounded_and_empty_stays_empty() -> None:
    assert len(render_markdown(plain_name("x" * 10_000)).text) == 64
    assert plain_name("\u200b\u202e \x00") == plain_name(None) == ""


def test_for_a_notice_a_name_is_one_line_and_a_preview_keeps_lines() -> None:
    assert one_line("  Bob\n\n  **boss**\u202e ") == "Bob **boss**\u202e"  # RichText shows it
    assert one_line("x" * 100) == "x" * 63 + "…"
    said = preview("\n# Title\n> quote\n- item\n" + "a" * 400, limit=300)
    assert said.startswith("# Title\n> quote\n- item\n") and len(said) == 301
    assert said.endswith("…") and preview(" short ", limit=300) == "short"


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "..\\..\\boot.ini",
        "a\x00b.txt",
        "x" * 5000 + ".pdf",
        "\u202etxt.exe",
        "\u200b.bashrc",
        "..",
    ],
)
def test_upload_names_never_leave_their_folder(name: str) -> None:
    safe = safe_file_name(name, fallback="file")
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".") and 0 < len(safe) <= 100
    assert "\u202e" not in safe and "\u200b" not in safe
