"""Roles: what each writer's session is offered, as the model sees it."""

from __future__ import annotations

from tests.e2e.conftest import OWNER_ID, MakeJobs
from tests.fakes.anthropic import text, tool_use

ALICE = 111
TASK_TOOLS = {
    "mcp__tasks__get_my_tasks",
    "mcp__tasks__update_task",
    "mcp__tasks__send_summary_to_owner",
}


async def test_external_gets_the_three_task_tools_and_the_owner_claude_code(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    jobs.tg.incoming(ALICE, "what can you do for me?")
    jobs.tg.outgoing(OWNER_ID, "and for me?")
    await jobs.replies_to(ALICE)
    await jobs.replies_to(OWNER_ID)
    await jobs.settled()

    [external] = jobs.calls_with("what can you do for me?")
    assert external.offered_tools == TASK_TOOLS
    [owner] = jobs.calls_with("and for me?")
    assert {"Bash", "Read", "Write", "Edit", "WebFetch"} <= owner.offered_tools
    assert not owner.offered_tools & TASK_TOOLS
    assert not {"CronCreate", "ScheduleWakeup"} & owner.offered_tools
    assert external.session_id != owner.session_id


async def test_an_external_session_cannot_run_what_it_is_not_offered(
    make_jobs: MakeJobs,
) -> None:
    """Even if the model names Bash, the external session has no such tool to run."""
    jobs = make_jobs(external_users="all")
    jobs.model.push(tool_use("Bash", {"command": "touch /tmp/should-not-exist"}), text("sorry"))
    await jobs.start()
    jobs.tg.incoming(ALICE, "run a command for me")
    assert await jobs.replies_to(ALICE) == ["sorry"]

    [result] = jobs.model.calls[1].tool_results
    assert result.get("is_error") is True
    rows = jobs.query("SELECT key, role FROM sessions")
    assert [(r["key"], r["role"]) for r in rows] == [(f"external:{ALICE}", "external")]
