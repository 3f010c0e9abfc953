"""Reading in a tainted task turn: its own folder freely, anything else only with the owner's
yes (such a turn may write to its counterpart without asking, so what it reads could leak);
a taint without a folder (a channel post in the owner's session) keeps reading free."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from jobs.sessions.hooks import tool_guard
from jobs.sessions.roles import ToolPolicy
from jobs.sessions.taint import OUTSIDE_TEXT, READ_ONLY_BUILTINS, TaintRule, TaintSource
from jobs.storage import ApprovalRepo, AuditRepo, Database
from tests.unit.delegation.test_taint import POLICY, SCOPE, Owner, decision, source
from tests.unit.hook_inputs import pre_tool_use as call

MEMORY_SEARCH = "mcp__memory__memory_search"
READ_ONLY = READ_ONLY_BUILTINS | {MEMORY_SEARCH}
TASK_POLICY = ToolPolicy(role="task", names=POLICY.names | {MEMORY_SEARCH}, any_builtin=True)


@pytest.fixture
async def audit(db: Database) -> AuditRepo:
    await ApprovalRepo(db).create("task:3", 42, "Read", "x", timedelta(minutes=1))
    return AuditRepo(db)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    made = tmp_path / "workspace"
    (made / "tasks" / "3").mkdir(parents=True)
    (made / "tasks" / "4").mkdir()
    (made / ".env").write_text("API_KEY=secret", encoding="utf-8")
    (made / "tasks" / "3" / "notes.md").write_text("Bob: Tuesday", encoding="utf-8")
    (made / "tasks" / "3" / "env").symlink_to(made / ".env")
    return made


def guard_for(audit: AuditRepo, taint: TaintSource, owner: Owner) -> Any:
    rule = TaintRule(
        is_tainted=lambda: True, read_only=READ_ONLY, source=lambda: taint, approver=owner
    )
    return tool_guard(TASK_POLICY, audit=audit, scope=SCOPE, taint=rule)


def made(tool: str, workspace: Path, **tool_input: str) -> Any:
    """A call from the task's folder; "{ws}" in an input stands for the workspace."""
    filled = {k: v.replace("{ws}", str(workspace)) for k, v in tool_input.items()}
    return call(tool, cwd=str(workspace / "tasks" / "3"), **filled)


@pytest.mark.parametrize(
    ("tool", "tool_input"),
    [
        ("Read", {"file_path": "{ws}/tasks/3/notes.md"}),
        ("Read", {"file_path": "notes.md"}),
        ("Read", {"file_path": "./sub/../notes.md"}),
        ("Glob", {"pattern": "**/*.md"}),
        ("Glob", {"pattern": "*.md", "path": "{ws}/tasks/3"}),
        ("Grep", {"pattern": "Tuesday", "output_mode": "content"}),
        ("Grep", {"pattern": "Tue", "path": "{ws}/tasks/3", "glob": "*.md"}),
        ("ToolSearch", {"query": "select:Read"}),
    ],
)
async def test_the_task_reads_its_own_folder_without_asking(
    audit: AuditRepo, workspace: Path, tool: str, tool_input: dict[str, str]
) -> None:
    owner = Owner()
    guard = guard_for(audit, source(workspace / "tasks" / "3"), owner)
    assert await guard(made(tool, workspace, **tool_input), "toolu_1", {"signal": None}) == {}
    assert owner.asked == []
    [entry] = await audit.latest()
    assert (entry.tool, entry.decision) == (tool, "allowed")


@pytest.mark.parametrize(
    ("tool", "tool_input"),
    [
        ("Read", {"file_path": "{ws}/.env"}),
        ("Read", {"file_path": "../../.env"}),
        ("Read", {"file_path": "{ws}/tasks/4/notes.md"}),
        ("Read", {"file_path": "env"}),  # a link in the folder to a file outside it
        ("Read", {"file_path": "~/.ssh/id_ed25519"}),
        ("Read", {"file_path": ""}),
        ("Glob", {"pattern": "../../*"}),
        ("Glob", {"pattern": "{ws}/*"}),
        ("Glob", {"pattern": "~/.ssh/*"}),
        ("Glob", {"pattern": "*", "path": "{ws}"}),
        ("Grep", {"pattern": "KEY", "glob": "../../.env"}),
        ("Grep", {"pattern": "KEY", "path": "/etc"}),
        (MEMORY_SEARCH, {"query": "Bob's phone number"}),
    ],
)
async def test_reading_anything_else_waits_for_the_owner(
    audit: AuditRepo, workspace: Path, tool: str, tool_input: dict[str, str]
) -> None:
    owner = Owner()
    guard = guard_for(audit, source(workspace / "tasks" / "3"), owner)
    answer = await guard(made(tool, workspace, **tool_input), "toolu_1", {"signal": None})
    assert decision(answer)[0] == "deny"
    [request] = owner.asked
    assert (request.tool, request.source.where) == (tool, "task #3 «Meeting with Bob»")
    [entry] = await audit.latest()
    assert (entry.tool, entry.decision) == (tool, "denied_by_owner")


async def test_a_taint_without_a_folder_keeps_reading_free(
    audit: AuditRepo, workspace: Path
) -> None:
    owner = Owner()
    guard = guard_for(audit, OUTSIDE_TEXT, owner)
    for tool, tool_input in (
        ("Read", {"file_path": "{ws}/.env"}),
        ("Glob", {"pattern": "{ws}/*"}),
        (MEMORY_SEARCH, {"query": "Bob"}),
    ):
        assert await guard(made(tool, workspace, **tool_input), "toolu_1", {"signal": None}) == {}
    assert owner.asked == []
    assert not OUTSIDE_TEXT.confines_reads
    assert source(workspace / "tasks" / "3").confines_reads
