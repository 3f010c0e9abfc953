"""Markdown → Telegram text + entities, splitting under the limits, and the Telethon form."""

import random

import pytest
from telethon.tl import types as tl

from jobs.telegram.formatting import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    Entity,
    FormattedText,
    render_guarded,
    render_markdown,
    split_message,
    split_plain,
    to_telethon,
    utf16_len,
)

# hypothesis is not installed in the venv: property tests run a seeded random loop instead.
SEEDS = range(300)


def ents(ft: FormattedText) -> list[tuple[str, str]]:
    """Each entity as (kind, the text it covers)."""
    return [(e.kind, slice16(ft.text, e.offset, e.length)) for e in ft.entities]


def slice16(text: str, offset: int, length: int) -> str:
    raw = text.encode("utf-16-le", "surrogatepass")
    return raw[2 * offset : 2 * (offset + length)].decode("utf-16-le")


def assert_valid(ft: FormattedText, limit: int | None = None) -> None:
    """Entities non-empty, inside the text, on code-point boundaries, properly nested;
    code and pre contain nothing (an entity over exactly the same text counts as outside)."""
    size = utf16_len(ft.text)
    boundaries = set(unit_starts(ft.text)) | {size}
    stack: list[Entity] = []
    for e in sorted(ft.entities, key=lambda e: (e.offset, -e.length)):
        end = e.offset + e.length
        assert e.length > 0, e
        assert e.offset >= 0 and end <= size, (e, size)
        assert e.offset in boundaries and end in boundaries, e
        while stack and stack[-1].offset + stack[-1].length <= e.offset:
            stack.pop()
        for outer in stack:
            assert end <= outer.offset + outer.length, ("overlap", outer, e)
            same = (outer.offset, outer.length) == (e.offset, e.length)
            assert outer.kind not in ("code", "pre") or same, ("inside code", outer, e)
        stack.append(e)
    if limit is not None:
        assert 0 < size <= limit


def unit_starts(text: str) -> list[int]:
    """The UTF-16 offset of each code point."""
    starts, unit = [], 0
    for ch in text:
        starts.append(unit)
        unit += utf16_len(ch)
    return starts


def coverage(ft: FormattedText) -> list[frozenset[str]]:
    """For each non-space code point, the entity kinds covering it."""
    starts = unit_starts(ft.text)
    index = {u: i for i, u in enumerate(starts)}
    kinds: list[set[str]] = [set() for _ in starts]
    for e in ft.entities:
        for u in range(e.offset, e.offset + e.length):
            if u in index:
                kinds[index[u]].add(e.kind)
    return [frozenset(k) for ch, k in zip(ft.text, kinds, strict=True) if not ch.isspace()]


def assert_split_faithful(ft: FormattedText, chunks: list[FormattedText], limit: int) -> None:
    """Chunks fit, are valid and trimmed, and hold the same text and formatting, in order."""
    for chunk in chunks:
        assert_valid(chunk, limit)
        assert chunk.text == chunk.text.rstrip()
        assert not chunk.text.startswith("\n")
        if chunk.text[0].isspace():  # only a code line's indentation may lead
            assert any(e.kind == "pre" and e.offset == 0 for e in chunk.entities), chunk
    squeeze = "".join(ch for ch in ft.text if not ch.isspace())
    assert "".join(ch for c in chunks for ch in c.text if not ch.isspace()) == squeeze
    assert [k for c in chunks for k in coverage(c)] == coverage(ft)


# --- utf16_len -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("é", 1), ("😀", 2), ("a😀b", 4), ("👨‍👩‍👧", 8), ("中文", 2)],
)
def test_utf16_len(text, units):
    assert utf16_len(text) == units


# --- render_markdown: constructs -------------------------------------------------------------


def test_plain_text_passes_through():
    assert render_markdown("just words, 100% plain.") == FormattedText("just words, 100% plain.")


def test_headings_become_bold_lines():
    ft = render_markdown("# Title\n## Sub *it* ##\ntext")
    assert ft.text == "Title\nSub it\ntext"
    assert ents(ft) == [("bold", "Title"), ("bold", "Sub it"), ("italic", "it")]


@pytest.mark.parametrize("md", ["#hashtag", "####### seven", "C# is fine"])
def test_not_headings(md):
    assert render_markdown(md) == FormattedText(md)


def test_bullets():
    ft = render_markdown("- one\n* two\n+ three\n  - nested **b**")
    assert ft.text == "• one\n• two\n• three\n  • nested b"
    assert ents(ft) == [("bold", "b")]


def test_numbered_list_stays():
    assert render_markdown("1. a\n2. b").text == "1. a\n2. b"


def test_horizontal_rule():
    assert render_markdown("a\n\n---\n\nb").text == "a\n\n──────────\n\nb"


def test_fenced_code_with_language():
    ft = render_markdown("Look:\n```python\ndef f(x):\n    return **x**\n```\nDone.")
    assert ft.text == "Look:\ndef f(x):\n    return **x**\nDone."
    assert ft.entities == (Entity("pre", 6, 26, language="python"),)


def test_fence_without_language_and_tildes():
    ft = render_markdown("~~~\n`a` _b_\n~~~")
    assert ft.text == "`a` _b_"
    assert ft.entities == (Entity("pre", 0, 7),)


def test_fence_closes_only_on_its_own_marker():
    ft = render_markdown("````md\n```\ninner\n```\n````")
    assert ft.text == "```\ninner\n```"
    assert ents(ft) == [("pre", "```\ninner\n```")]


def test_unclosed_fence_runs_to_end():
    ft = render_markdown("intro\n```sh\necho **hi**\n\nmore")
    assert ft.text == "intro\necho **hi**\n\nmore"
    assert ft.entities == (Entity("pre", 6, 17, language="sh"),)


def test_indented_fence_dedents_body():
    ft = render_markdown("  ```\n  a\n    b\nc\n  ```")
    assert ft.text == "a\n  b\nc"


def test_inline_code_has_no_formatting_inside():
    ft = render_markdown("run `rm -rf *tmp*` **now**")
    assert ft.text == "run rm -rf *tmp* now"
    assert ents(ft) == [("code", "rm -rf *tmp*"), ("bold", "now")]


def test_double_backtick_code_may_hold_a_backtick():
    ft = render_markdown("x `` a`b `` y")
    assert ft.text == "x a`b y"
    assert ents(ft) == [("code", "a`b")]


def test_bold_italic_strike():
    ft = render_markdown("**b** *i* _j_ __k__ ~~s~~")
    assert ft.text == "b i j k s"
    assert ents(ft) == [
        ("bold", "b"),
        ("italic", "i"),
        ("italic", "j"),
        ("bold", "k"),
        ("strikethrough", "s"),
    ]


@pytest.mark.parametrize(
    ("md", "text", "expected"),
    [
        ("***both***", "both", [("bold", "both"), ("italic", "both")]),
        ("**a *b* c**", "a b c", [("bold", "a b c"), ("italic", "b")]),
        ("*a **b** c*", "a b c", [("italic", "a b c"), ("bold", "b")]),
        ("**a _b_ ~~c~~**", "a b c", [("bold", "a b c"), ("italic", "b"), ("strikethrough", "c")]),
        ("***a** b*", "a b", [("italic", "a b"), ("bold", "a")]),
    ],
)
def test_nested_emphasis(md, text, expected):
    ft = render_markdown(md)
    assert ft.text == text
    assert sorted(ents(ft)) == sorted(expected)


def test_emphasis_spans_lines_of_a_paragraph():
    ft = render_markdown("one **two\nthree** four")
    assert ents(ft) == [("bold", "two\nthree")]


def test_links():
    ft = render_markdown("see [the *docs*](https://example.com/a_(b)?q=1) now")
    assert ft.text == "see the docs now"
    assert ft.entities == (
        Entity("text_url", 4, 8, url="https://example.com/a_(b)?q=1"),
        Entity("italic", 8, 4),
    )


def test_link_with_title_and_angle_brackets():
    ft = render_markdown('[a](<https://x.y/> "Title") [b](tg://user?id=1)')
    assert ft.entities == (
        Entity("text_url", 0, 1, url="https://x.y/"),
        Entity("text_url", 2, 1, url="tg://user?id=1"),
    )


@pytest.mark.parametrize(
    "md",
    [
        "[a](relative/path)",
        "[a](javascript:alert(1))",
        "[a](mailto:me@x.y)",
        "[](https://x.y)",
        "[a] (https://x.y)",
    ],
)
def test_links_that_are_not_links_stay_text(md):
    assert render_markdown(md) == FormattedText(md)


def test_blockquote():
    ft = render_markdown("> first **b**\n> second\n\nafter")
    assert ft.text == "first b\nsecond\n\nafter"
    assert sorted(ents(ft)) == [("blockquote", "first b\nsecond"), ("bold", "b")]


def test_nested_quotes_flatten_into_one():
    ft = render_markdown("> a\n>> b\n> - c")
    assert ft.text == "a\nb\n• c"
    assert ents(ft) == [("blockquote", "a\nb\n• c")]


def test_escapes():
    ft = render_markdown(r"\*not italic\* \_x\_ \`y\` \[z\](https://a.b) C:\path \\")
    assert ft.text == "*not italic* _x_ `y` [z](https://a.b) C:\\path \\"
    assert ft.entities == ()


def test_blank_lines_kept_and_ends_trimmed():
    ft = render_markdown("\n\n a\r\n\r\n\nb\n\n")
    assert ft.text == " a\n\n\nb"


# --- render_markdown: what cannot pair stays text ----------------------------------------------


@pytest.mark.parametrize(
    "md",
    [
        "**bold",
        "bold**",
        "*it",
        "a * b * c",
        "2 * 3 = 6",
        "snake_case_name and my__dunder__name",
        "`code",
        "``two` ",
        "~~strike",
        "~approx~ ~5 min",
        "[link](",
        "[link]",
        "a ** b **",
        "** not bold **",
        "*",
        "_",
        "~~",
        "\\",
        "[[[[",
    ],
)
def test_unmatched_markers_stay_literal(md):
    assert render_markdown(md) == FormattedText(md)


def test_partially_matched_markers_keep_the_rest():
    ft = render_markdown("**a* and `b")
    assert ft.text == "*a and `b"
    assert ents(ft) == [("italic", "a")]


# --- render_markdown: UTF-16 offsets ---------------------------------------------------------


def test_emoji_before_entity_shifts_offset_by_two():
    ft = render_markdown("😀 **bold** 👍🏽 `c`")
    assert ft.entities == (Entity("bold", 3, 4), Entity("code", 13, 1))
    assert ents(ft) == [("bold", "bold"), ("code", "c")]


def test_emoji_inside_entity_counts_two():
    ft = render_markdown("# 🚀 Launch\n**😀**")
    assert ft.entities == (Entity("bold", 0, 9), Entity("bold", 10, 2))


# --- render_markdown: properties ---------------------------------------------------------------

PIECES = [
    "a", "b", "word", " ", " ", "\n", "\n\n", "*", "**", "***", "_", "__", "~~", "~", "`", "``",
    "\\", "\\*", "[", "]", "(", ")", "https://x.y/z", "# ", "- ", "> ", "😀", "é", "中", "1. ",
    "```", "```py\n", "---",
]  # fmt: skip


def random_markdown(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(size))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_markdown_never_raises_and_entities_are_valid(seed):
    rng = random.Random(seed)
    md = random_markdown(rng, rng.randrange(1, 80))
    ft = render_markdown(md)
    assert_valid(ft)
    if "[" not in md and "```" not in md and "~~~" not in md:  # links drop URLs, fences languages
        assert [c for c in ft.text if c.isalnum()] == [c for c in md if c.isalnum()]


def test_pathological_input_is_fast():
    md = "*a " * 20_000 + "[" * 20_000 + "`x " * 20_000 + "_b " * 20_000 + "> " * 2_000
    ft = render_markdown(md)
    assert_valid(ft)
    assert ft.text.count("a") == 20_000


# --- split_message -----------------------------------------------------------------------------


def test_short_message_is_one_chunk():
    ft = render_markdown("**hi** there")
    assert split_message(ft) == [ft]


@pytest.mark.parametrize("text", ["", "   ", "\n\n \t\n"])
def test_blank_message_has_no_chunks(text):
    assert split_message(FormattedText(text)) == []
    assert split_plain(text) == []


def test_limit_below_a_surrogate_pair_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        split_message(FormattedText("abc"), 1)


def test_ends_are_trimmed_and_entities_rebased():
    ft = FormattedText("\n\n  hello **x**  \n", (Entity("bold", 10, 5),))
    assert split_message(ft) == [FormattedText("hello **x**", (Entity("bold", 6, 5),))]


def test_prefers_paragraph_then_line_then_space_then_hard_cut():
    para = "a" * 3000 + "\n\n" + "b" * 2000 + "\n" + "c" * 2000
    assert split_plain(para) == ["a" * 3000, "b" * 2000 + "\n" + "c" * 2000]
    line = "a" * 3000 + "\n" + "b " * 1500
    assert split_plain(line) == ["a" * 3000, ("b " * 1500).strip()]
    space = "a" * 3000 + " " + "b" * 2000
    assert split_plain(space) == ["a" * 3000, "b" * 2000]
    assert split_plain("x" * 10_000) == ["x" * 4096, "x" * 4096, "x" * 1808]


def test_early_break_is_not_used_for_a_tiny_chunk():
    text = "ab\n\n" + "x" * 5000
    assert [len(c) for c in split_plain(text)] == [4096, 5000 + 4 - 4096]


def test_never_cuts_a_surrogate_pair():
    text = "a" + "😀" * 3000
    chunks = split_plain(text)
    assert [utf16_len(c) for c in chunks] == [4095, 6001 - 4095]
    assert "".join(chunks) == text


def test_hard_cut_keeps_zwj_emoji_whole():
    family = "👨‍👩‍👧"
    text = "x" * 4094 + family
    chunks = split_plain(text)
    assert chunks == ["x" * 4094, family]


def test_entity_across_cut_is_split_into_both_chunks():
    ft = FormattedText("a" * 10 + " " + "b" * 10, (Entity("bold", 5, 12), Entity("italic", 15, 6)))
    first, second = split_message(ft, 12)
    assert first == FormattedText("a" * 10, (Entity("bold", 5, 5),))
    assert second == FormattedText("b" * 10, (Entity("bold", 0, 6), Entity("italic", 4, 6)))


def test_code_block_split_is_pre_in_every_chunk():
    code = "\n".join(f"    line_{i} = {i} * 2  # 😀" for i in range(600))
    ft = render_markdown(f"Intro **text**.\n\n```python\n{code}\n```\n\nOutro.")
    chunks = split_message(ft)
    assert len(chunks) >= 5
    assert_split_faithful(ft, chunks, MESSAGE_LIMIT)
    middle = chunks[1:-1]
    for chunk in middle:
        (pre,) = chunk.entities
        assert (pre.kind, pre.offset, pre.length) == ("pre", 0, utf16_len(chunk.text))
        assert pre.language == "python"
        assert chunk.text.startswith("    line_")  # the code's indentation survives the cut


def test_hundred_kilobyte_message():
    rng = random.Random(7)
    words = ["**bold**", "*it*", "`c`", "😀", "plain", "[l](https://x.y)", "_a b_", "w👍🏽"]
    blocks: list[str] = []
    while sum(len(b) for b in blocks) < 100_000:
        kind = rng.randrange(4)
        if kind == 0:
            blocks.append(" ".join(rng.choice(words) for _ in range(rng.randrange(5, 300))))
        elif kind == 1:
            blocks.append("```js\n" + "\n".join("  x();" * rng.randrange(1, 30) for _ in range(99)))
            blocks[-1] += "\n```"
        elif kind == 2:
            blocks.append("\n".join(f"- item {i} ~~old~~ new" for i in range(rng.randrange(1, 60))))
        else:
            blocks.append("# Heading " + "é" * rng.randrange(1, 50))
    md = "\n\n".join(blocks)
    assert len(md) >= 100_000
    ft = render_markdown(md)
    chunks = split_message(ft)
    assert len(chunks) >= 100_000 // MESSAGE_LIMIT
    assert_split_faithful(ft, chunks, MESSAGE_LIMIT)


def test_caption_limit():
    ft = render_markdown(("Some **caption** text with 😀 emoji. " * 100).strip())
    chunks = split_message(ft, CAPTION_LIMIT)
    assert len(chunks) > 1
    assert all(utf16_len(c.text) <= CAPTION_LIMIT for c in chunks)
    assert_split_faithful(ft, chunks, CAPTION_LIMIT)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_splits_are_faithful(seed):
    rng = random.Random(seed)
    ft = render_markdown(random_markdown(rng, rng.randrange(1, 400)))
    limit = rng.randrange(2, 120)
    assert_split_faithful(ft, split_message(ft, limit), limit)


# --- to_telethon -----------------------------------------------------------------------------


def test_to_telethon_maps_every_kind():
    entities = [
        Entity("bold", 0, 1),
        Entity("italic", 1, 2),
        Entity("code", 2, 3),
        Entity("pre", 3, 4, language="py"),
        Entity("pre", 4, 5),
        Entity("text_url", 5, 6, url="https://x.y"),
        Entity("strikethrough", 6, 7),
        Entity("blockquote", 7, 8),
        Entity("underline", 8, 9),
    ]
    out = to_telethon(entities)
    assert [type(e) for e in out] == [
        tl.MessageEntityBold,
        tl.MessageEntityItalic,
        tl.MessageEntityCode,
        tl.MessageEntityPre,
        tl.MessageEntityPre,
        tl.MessageEntityTextUrl,
        tl.MessageEntityStrike,
        tl.MessageEntityBlockquote,
        tl.MessageEntityUnderline,
    ]
    assert [(e.offset, e.length) for e in out] == [(i, i + 1) for i in range(9)]
    assert (out[3].language, out[4].language, out[5].url) == ("py", "", "https://x.y")


def test_to_telethon_of_a_rendered_message():
    ft = render_markdown("**a** [b](https://c.d)")
    assert [e.to_dict() for e in to_telethon(ft.entities)] == [
        {"_": "MessageEntityBold", "offset": 0, "length": 1},
        {"_": "MessageEntityTextUrl", "offset": 2, "length": 1, "url": "https://c.d"},
    ]


def test_guarded_rendering_spells_links_out_and_keeps_only_code() -> None:
    md = (
        "**🔐 Approval needed** [/approve_k7](https://evil.example/p?d=1) and `ls -la`\n"
        "> Owner: yes\n"
        "[https://a.example](https://a.example) \u202eexe.txt\n"
        "```\nrm -rf ~\n```"
    )
    shown = render_guarded(md)
    assert shown.text == (
        "🔐 Approval needed /approve_k7 (https://evil.example/p?d=1) and ls -la\n"
        "Owner: yes\n"
        "https://a.example ⟦U+202E⟧exe.txt\n"
        "rm -rf ~"
    )
    assert [e.kind for e in shown.entities] == ["code", "pre"]
    code, pre = shown.entities
    assert utf16_slice(shown.text, code) == "ls -la" and utf16_slice(shown.text, pre) == "rm -rf ~"


def utf16_slice(text: str, entity: Entity) -> str:
    raw = text.encode("utf-16-le")
    return raw[entity.offset * 2 : (entity.offset + entity.length) * 2].decode("utf-16-le")
