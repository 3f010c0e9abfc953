"""Roles end to end: which tools each role is offered (as the model server saw it), the external
trio working against the tasks table, and a session offered more than its role is refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import tool

from jobs.errors import RoleViolation
from jobs.sessions import EXTERNAL, OWNER, SessionManager, SessionSettings
from jobs.sessions.keys import OWNER_KEY, SessionKey
from jobs.sessions.roles import SELF_STARTING_TOOLS
from jobs.storage import (
    AuditRepo,
    Database,
    PeopleRepo,
    SessionRepo,
    TaskRepo,
    TaskStatus,
    UsageRepo,
)
from jobs.tools import ToolServer, ToolServers, text_result
from jobs.tools.tasks import ExternalTaskTools
from tests.fakes.anthropic import FakeAnthropic, text, tool_use

TRIO = {
    "mcp__tasks__get_my_tasks",
    "mcp__tasks__update_task",
    "mcp__tasks__send_summary_to_owner",
}
CORE_BUILTINS = {"Bash", "Read", "Write", "Edit", "WebFetch", "WebSearch", "Skill"}


@dataclass
class Roles:
    db: Database
    tmp: Path
    env: dict[str, str]
    tasks: TaskRepo
    trio: ExternalTaskTools
    notes: list[tuple[int, str]] = field(default_factory=list)
    managers: list[SessionManager] = field(default_factory=list)

    def manager(self, tools: ToolServers | None = None) -> SessionManager:
        config = SessionSettings(
            workspace_dir=self.tmp / "workspace",
            people_dir=self.tmp / "data" / "people",
            env=self.env,
        )
        made = SessionManager(
            config=config,
            sessions=SessionRepo(self.db),
            usage=UsageRepo(self.db),
            audit=AuditRepo(self.db),
            tools=tools or ToolServers([self.trio.server(), memory_server()]),
        )
        self.managers.append(made)
        return made


def memory_server() -> ToolServer:
    """Stands in for an owner feature's server: the owner gets it, an external person never."""

    @tool("recall", "Recall something.", {})
    async def recall(_args: dict[str, Any]) -> dict[str, Any]:
        return text_result("nothing")

    return ToolServer.in_process("memory", [recall])


@pytest.fixture
async def roles(tmp_path: Path, claude_env: dict[str, str]) -> AsyncIterator[Roles]:
    db = await Database.open(tmp_path / "data" / "db.sqlite")
    tasks = TaskRepo(db)
    notes: list[tuple[int, str]] = []

    async def notify_owner(person_id: int, summary: str) -> None:
        notes.append((person_id, summary))

    trio = ExternalTaskTools(tasks=tasks, notify_owner=notify_owner)
    made = Roles(db, tmp_path, claude_env, tasks, trio, notes)
    try:
        yield made
    finally:
        for manager in made.managers:
            await manager.aclose()
        await db.close()


def result_text(call: Any) -> str:
    return json.dumps(call.tool_results)


async def test_owner_is_offered_claude_code_tools_and_owner_servers(
    roles: Roles, fake_model: FakeAnthropic
) -> None:
    await roles.manager().run_turn(OWNER_KEY, OWNER, "hi")
    offered = fake_model.calls[0].offered_tools
    assert offered >= CORE_BUILTINS
    assert {t for t in offered if t.startswith("mcp__")} == {"mcp__memory__recall"}
    assert not offered & set(SELF_STARTING_TOOLS)  # Jobs' own scheduler starts turns


async def test_external_is_offered_exactly_its_three_tools(
    roles: Roles, fake_model: FakeAnthropic
) -> None:
    await roles.manager().run_turn(SessionKey.person(42), EXTERNAL, "hi", person_id=42)
    call = fake_model.calls[0]
    assert call.offered_tools == TRIO
    folder = roles.tmp / "data" / "people" / "42"
    assert folder.is_dir() and not any(folder.iterdir())
    assert str(folder.resolve()) in json.dumps(call.body)  # the session ran in that folder
    assert "send_summary_to_owner" in call.system_text


async def test_external_tools_are_scoped_to_the_person(
    roles: Roles, fake_model: FakeAnthropic
) -> None:
    for person in (42, 43):
        await PeopleRepo(roles.db).upsert_seen(person, display_name=f"Person {person}")
    mine = await roles.tasks.create("Water the plants", assignee_id=42)
    theirs = await roles.tasks.create("Secret errand", assignee_id=43)
    fake_model.push(
        tool_use("mcp__tasks__get_my_tasks"),
        tool_use("mcp__tasks__update_task", {"task_id": theirs.id, "status": "done"}),
        tool_use("mcp__tasks__update_task", {"task_id": mine.id, "status": "done", "note": "ok"}),
        tool_use("mcp__tasks__send_summary_to_owner", {"text": "Plants watered."}),
        text("All done."),
    )
    reply = await roles.manager().run_turn(SessionKey.person(42), EXTERNAL, "status?", person_id=42)
    assert reply.text == "All done."
    listed, refused, updated, sent = (result_text(c) for c in fake_model.calls[1:5])
    assert "Water the plants" in listed and "Secret errand" not in listed
    assert f"You have no task #{theirs.id}" in refused and '"is_error": true' in refused
    assert "[done]" in updated
    assert "Sent to the owner" in sent
    stored_mine, stored_theirs = await roles.tasks.get(mine.id), await roles.tasks.get(theirs.id)
    assert stored_mine is not None and stored_mine.status is TaskStatus.DONE
    assert stored_theirs is not None and stored_theirs.status is TaskStatus.OPEN
    assert roles.notes == [(42, "Plants watered.")]
    audited = [(e.tool, e.decision) for e in await AuditRepo(roles.db).latest()]
    assert ("mcp__tasks__send_summary_to_owner", "allowed") in audited


async def test_session_offered_more_than_its_role_is_refused(
    roles: Roles, fake_model: FakeAnthropic
) -> None:
    # The registry declares one tool, but the server it builds exposes three.
    narrow = ToolServer(
        name="tasks", tools=frozenset({"get_my_tasks"}), build=roles.trio.server().build
    )
    manager = roles.manager(ToolServers([narrow]))
    with pytest.raises(RoleViolation) as caught:
        await manager.run_turn(SessionKey.person(42), EXTERNAL, "hi", person_id=42)
    assert caught.value.extra == {"mcp__tasks__update_task", "mcp__tasks__send_summary_to_owner"}
    assert manager.live_keys == ()
    entries = await AuditRepo(roles.db).latest()
    violation = next(e for e in entries if e.event == "role_violation")
    assert violation.session_key == "external:42" and violation.decision == "refused"
