"""Where a session resumes after a turn the model never answered (the API failed before it
said anything): from just before that turn's prompt, so the message, sent again once the model
is back, is in the conversation once, not twice.

Claude Code's transcript (`<projects>/<cwd>/<session id>.jsonl`) is a chain of entries, each
naming its parent (`parentUuid`); the prompts Jobs sends carry uuids of Jobs' own. A turn that
used a tool is never rewound: what the tool did happened, and the model must keep knowing it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

logger = logging.getLogger(__name__)

UNANSWERED: Final = frozenset(
    {"server_error", "rate_limit", "authentication_failed", "billing_error"}
)
"""A Reply's error kinds that mean the model never got to answer (the message is held and
sent again when it is back: conversation/outage.py)."""


@dataclass(frozen=True, slots=True)
class Rewind:
    """Resume at transcript entry `at` (None: the prompt was the first entry, start afresh)."""

    at: str | None


def rewind_point(transcript: Path, prompt_id: str, /) -> Rewind | None:
    """Where to resume so the turn that began with prompt `prompt_id` is gone; None when it
    must stay (a tool ran in it, or the transcript does not show the prompt)."""
    entries = _entries(transcript)
    index = next((i for i, e in enumerate(entries) if e.get("uuid") == prompt_id), None)
    if index is None:
        return None
    if any(_acted(entry) for entry in entries[index + 1 :]):
        return None
    parent = entries[index].get("parentUuid")
    return Rewind(at=parent if isinstance(parent, str) else None)


def _entries(transcript: Path) -> list[dict[str, Any]]:
    try:
        lines = transcript.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        logger.warning("transcript %s not read: %s", transcript.name, exc)
        return []
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def _acted(entry: dict[str, Any]) -> bool:
    """A tool was called or answered in this entry."""
    message = entry.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return False
    kinds = {block.get("type") for block in content if isinstance(block, dict)}
    return bool(kinds & {"tool_use", "tool_result", "server_tool_use"})
