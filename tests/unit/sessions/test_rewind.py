"""Where a session resumes after a turn the model never answered: just before its prompt,
unless a tool ran in it (its effects happened) or the transcript does not show it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jobs.sessions.rewind import Rewind, rewind_point


def transcript(tmp_path: Path, *entries: dict[str, Any]) -> Path:
    path = tmp_path / "session.jsonl"
    lines = [json.dumps(e) for e in entries]
    path.write_text("\n".join([*lines, '{"cut by a cra']), encoding="utf-8")
    return path


def user(uuid: str, parent: str | None, text: str = "hi") -> dict[str, Any]:
    return {"type": "user", "uuid": uuid, "parentUuid": parent, "message": {"content": text}}


def assistant(uuid: str, parent: str, *blocks: dict[str, Any]) -> dict[str, Any]:
    content = list(blocks) or [{"type": "text", "text": "API Error: 529 overloaded"}]
    return {
        "type": "assistant",
        "uuid": uuid,
        "parentUuid": parent,
        "message": {"content": content},
    }


def test_an_unanswered_turn_is_cut_after_the_entry_before_its_prompt(tmp_path: Path) -> None:
    path = transcript(
        tmp_path,
        user("u1", None),
        assistant("a1", "u1", {"type": "text", "text": "Hello."}),
        user("u2", "a1", "first note"),
        assistant("a2", "u2"),
    )
    assert rewind_point(path, "u2") == Rewind(at="a1")


def test_a_first_prompt_unanswered_starts_afresh(tmp_path: Path) -> None:
    path = transcript(tmp_path, user("u1", None), assistant("a1", "u1"))
    assert rewind_point(path, "u1") == Rewind(at=None)


def test_a_turn_in_which_a_tool_ran_is_kept(tmp_path: Path) -> None:
    path = transcript(
        tmp_path,
        user("u1", None),
        assistant("a1", "u1", {"type": "tool_use", "id": "t", "name": "Bash", "input": {}}),
        {
            "type": "user",
            "uuid": "r1",
            "parentUuid": "a1",
            "message": {"content": [{"type": "tool_result", "tool_use_id": "t"}]},
        },
        assistant("a2", "r1"),
    )
    assert rewind_point(path, "u1") is None


def test_a_prompt_the_transcript_does_not_show_changes_nothing(tmp_path: Path) -> None:
    assert rewind_point(transcript(tmp_path, user("u1", None)), "u9") is None
    assert rewind_point(tmp_path / "missing.jsonl", "u1") is None
