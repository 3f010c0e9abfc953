from __future__ import annotations

from typing import Any

import pytest
from claude_agent_sdk import AssistantMessage, ResultMessage, TextBlock, ToolUseBlock

from jobs.sessions.replies import TurnCollector, Usage, apology, error_kind


def said(*texts: str, error: Any = None, parent: str | None = None) -> AssistantMessage:
    return AssistantMessage(
        content=[TextBlock(text=t) for t in texts],
        model="claude-x",
        parent_tool_use_id=parent,
        error=error,
    )


def result(**fields: Any) -> ResultMessage:
    base: dict[str, Any] = {
        "subtype": "success",
        "duration_ms": 100,
        "duration_api_ms": 90,
        "is_error": False,
        "num_turns": 1,
        "session_id": "sid",
        "usage": {
            "input_tokens": 10,
            "output_tokens": 5,
            "cache_read_input_tokens": 3,
            "cache_creation_input_tokens": 2,
        },
        "total_cost_usd": 0.5,
    }
    return ResultMessage(**{**base, **fields})


def test_usage_of_and_sum() -> None:
    # The cost is the caller's: total_cost_usd counts the whole session.
    usage = Usage.of(result(), cost_usd=0.125)
    assert usage == Usage(10, 5, 3, 2, 0.125, 100)
    assert usage.tokens == 20
    assert usage + usage == Usage(20, 10, 6, 4, 0.25, 200)
    assert Usage.of(result(usage=None), cost_usd=0) == Usage(duration_ms=100)


def test_texts_of_kept_segments_are_joined() -> None:
    turn = TurnCollector()
    turn.add(said("Let me look.", " "))
    turn.add(AssistantMessage(content=[ToolUseBlock(id="1", name="x", input={})], model="m"))
    turn.add(said("sub-agent noise", parent="toolu_1"))
    turn.add(said("Found it."))
    turn.end_segment(result(), keep=True)
    turn.add(said("stray text"))
    turn.end_segment(result(session_id="other"), keep=False)
    turn.add(said("And the follow-up."))
    turn.end_segment(result(), keep=True)
    reply = turn.reply()
    assert reply.text == "Let me look.\n\nFound it.\n\nAnd the follow-up."
    assert reply.session_id == "sid" and reply.model == "claude-x"
    assert reply.usage.output_tokens == 15  # the stray's usage counts: it was paid for
    assert not reply.is_error and not reply.interrupted


def test_api_error_becomes_an_apology() -> None:
    turn = TurnCollector()
    turn.add(said("API Error: 529 overloaded (127.0.0.1:1234)", error="server_error"))
    turn.end_segment(result(is_error=True, api_error_status=529), keep=True)
    reply = turn.reply()
    assert reply.is_error and reply.error_kind == "server_error"
    assert reply.text == apology("server_error") and "127.0.0.1" not in reply.text


def test_interrupt_is_not_an_error() -> None:
    turn = TurnCollector()
    turn.add(said("partial"))
    interrupted = result(
        subtype="error_during_execution", is_error=True, terminal_reason="aborted_streaming"
    )
    turn.end_segment(interrupted, keep=True)
    reply = turn.reply()
    assert reply.interrupted and not reply.is_error and reply.text == "partial"


def test_denied_tools_are_listed() -> None:
    turn = TurnCollector()
    turn.end_segment(result(permission_denials=[{"tool_name": "Bash"}, "odd"]), keep=True)
    assert turn.reply().denied_tools == ("Bash",)


@pytest.mark.parametrize(
    ("fields", "assistant_error", "kind"),
    [
        ({}, None, None),
        ({"is_error": True, "subtype": "error_max_turns"}, None, "max_turns"),
        ({"is_error": True}, "rate_limit", "rate_limit"),
        ({"is_error": True}, "not-a-kind", "unknown"),
        ({"is_error": True, "api_error_status": 429}, None, "rate_limit"),
        ({"is_error": True, "api_error_status": 401}, None, "authentication_failed"),
        ({"is_error": True, "api_error_status": 500}, None, "server_error"),
        ({"is_error": True}, None, "unknown"),
        ({"is_error": True, "terminal_reason": "aborted_tools"}, None, None),
    ],
)
def test_error_kind(fields: dict[str, Any], assistant_error: str | None, kind: str | None) -> None:
    assert error_kind(result(**fields), assistant_error) == kind
