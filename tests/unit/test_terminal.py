"""How `jobs chat` shows a reply: Markdown rendered, links spelled out, ANSI only on a terminal."""

from __future__ import annotations

import io

from jobs.messages import OutboundMessage
from jobs.richtext import RichText
from jobs.terminal import TerminalChannel, render_for_terminal


def test_plain_output_has_no_markdown_markers_and_spells_out_links() -> None:
    shown = render_for_terminal("**Ada** wrote [the plan](https://example.org/p)", color=False)
    assert shown == "Ada wrote the plan <https://example.org/p>"


def test_escaped_names_lose_their_backslashes() -> None:
    assert render_for_terminal(r"Hi Eve\_x, 2 \* 3", color=False) == "Hi Eve_x, 2 * 3"


def test_colour_marks_each_style_and_resets_after_it() -> None:
    shown = render_for_terminal("a **b _c_** d", color=True)
    assert shown == "a \x1b[0m\x1b[1mb \x1b[0m\x1b[1;3mc\x1b[0m d"


def test_offsets_count_utf16_like_telegram() -> None:
    shown = render_for_terminal("😀 **x** `y`", color=True)
    assert shown == "😀 \x1b[0m\x1b[1mx\x1b[0m \x1b[0m\x1b[36my\x1b[0m"


async def test_a_pipe_gets_no_colour() -> None:
    out = io.StringIO()
    await TerminalChannel(out=out).send(OutboundMessage(chat_id=0, text="**hi**"))
    assert out.getvalue() == "jobs> hi\n\n"


def test_a_notice_shows_its_quote_barred_and_their_markup_as_written() -> None:
    body = (
        RichText()
        .text("From ", bold=True)
        .plain("Eve")
        .text(":\n")
        .quote("**hi**\n[x](https://e.example)")
        .build()
    )
    assert render_for_terminal(body, color=False) == (
        "From Eve:\n│ **hi**\n│ [x](https://e.example)"
    )


async def test_the_terminal_prints_a_notice_as_built() -> None:
    out = io.StringIO()
    body = RichText().text("Said:\n").quote("**hi**").build()
    await TerminalChannel(out=out).send(OutboundMessage.formatted(0, body))
    assert out.getvalue() == "jobs> Said:\n│ **hi**\n\n"
