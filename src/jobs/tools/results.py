"""The MCP tool result shape, built in one place: text_result() and error_result()."""

from __future__ import annotations

from typing import Any

ToolResult = dict[str, Any]
"""What an SDK MCP tool handler returns: `{"content": [...], "is_error"?: bool}`."""


def text_result(text: str, /) -> ToolResult:
    """A successful result the model reads as plain text."""
    return {"content": [{"type": "text", "text": text}]}


def error_result(message: str, /) -> ToolResult:
    """A failed call: the model sees `message` (say what to do instead), nothing is raised."""
    return {"content": [{"type": "text", "text": message}], "is_error": True}
