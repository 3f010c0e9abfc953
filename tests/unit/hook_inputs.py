"""The PreToolUse input the CLI hands a hook, for tests of the sessions' guard."""

from __future__ import annotations

from typing import Any


def pre_tool_use(tool: str, *, cwd: str = "/c", **tool_input: Any) -> Any:
    """A PreToolUse hook input for `tool` called with `tool_input`, in `cwd`."""
    return {
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "toolu_1",
        "session_id": "s",
        "transcript_path": "/t",
        "cwd": cwd,
    }
