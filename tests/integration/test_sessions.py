"""SessionManager and AgentSession with the real SDK and CLI against the scripted model server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import McpServerConfig, RateLimitInfo, ResultMessage, SdkPluginConfig, tool

from jobs.errors import TurnTimeout
from jobs.sessions import OWNER, AgentSession, SessionManager, SessionSettings
from jobs.sessions.charges import Charge
from jobs.sessions.keys import OWNER_KEY, SessionKey
from jobs.sessions.options import build_options
from jobs.sessions.roles import tool_policy
from jobs.storage import AuditRepo, Database, SessionRepo, UsageRepo
from jobs.tools import ToolServer, ToolServers, text_result
from tests.fakes.anthropic import FakeAnthropic, cut, error, hang, text, tool_use

FAST = {"CLAUDE_CODE_MAX_RETRIES": "1", "API_TIMEOUT_MS": "4000"}


@dataclass
class Stack:
    """A database, repos and a SessionManager over it; `manager()` builds another on the same DB."""

    db: Database
    tmp: Path
    env: dict[str, str]
    tools: ToolServers
    managers: list[SessionManager] = field(default_factory=list)

    def manager(
        self,
        *,
        max_live: int = 4,
        turn_timeout: float = 30.0,
        extensions: OnePlugin | None = None,
    ) -> SessionManager:
        config = SessionSettings(
            workspace_dir=self.tmp / "workspace",
            people_dir=self.tmp / "data" / "people",
            env=self.env,
            max_live=max_live,
            turn_timeout=turn_timeout,
            interrupt_grace=2.0,
        )
        made = SessionManager(
            config=config,
            sessions=SessionRepo(self.db),
            usage=UsageRepo(self.db),
            audit=AuditRepo(self.db),
            tools=self.tools,
            extensions=extensions,
        )
        self.managers.append(made)
        return made

    @property
    def transcripts(self) -> Path:
        return Path(self.env["CLAUDE_CONFIG_DIR"]) / "projects"


@dataclass
class OnePlugin:
    """The owner's extensions: one local plugin (jobs.sessions.options.ExtensionsSource)."""

    path: Path
    version: int = 1

    def mcp_servers(self) -> Mapping[str, McpServerConfig]:
        return {}

    def plugins(self) -> Sequence[SdkPluginConfig]:
        return [{"type": "local", "path": str(self.path)}]

    def tool_prefixes(self) -> frozenset[str]:
        return frozenset()


class SlowTool:
    """An owner MCP tool ("memory" server) that takes a while, to inject follow-ups into."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.running = asyncio.Event()

    def server(self) -> ToolServer:
        @tool("slow", "Takes a while.", {})
        async def slow(_args: dict[str, Any]) -> dict[str, Any]:
            self.running.set()
            await asyncio.sleep(self.seconds)
            return text_result("slow done")

        return ToolServer.in_process("memory", [slow])


@pytest.fixture
def slow_tool() -> SlowTool:
    return SlowTool(1.5)


@pytest.fixture
async def stack(
    tmp_path: Path, claude_env: dict[str, str], slow_tool: SlowTool
) -> AsyncIterator[Stack]:
    db = await Database.open(tmp_path / "data" / "db.sqlite")
    made = Stack(db, tmp_path, {**claude_env, **FAST}, ToolServers([slow_tool.server()]))
    try:
        yield made
    finally:
        for manager in made.managers:
            await manager.aclose()
        await db.close()


def body_text(call: Any) -> str:
    return json.dumps(call.body)


async def test_turn_records_session_id_usage_and_summary(
    stack: Stack, fake_model: FakeAnthropic
) -> None:
    manager = stack.manager()
    reply = await manager.run_turn(OWNER_KEY, OWNER, "hello there")
    assert reply.text == "echo: hello there"
    assert not reply.is_error and reply.session_id
    row = await SessionRepo(stack.db).get("owner")
    assert row is not None and row.sdk_session_id == reply.session_id
    assert "hello there" in row.summary and "echo: hello there" in row.summary
    totals = await UsageRepo(stack.db).totals(row.created_at.replace(year=2000))
    reported = fake_model.calls[-1].usage
    assert totals["owner"].turns == 1
    assert totals["owner"].output_tokens == reported["output_tokens"] == reply.usage.output_tokens
    assert totals["owner"].cache_write_tokens == reported["cache_creation_input_tokens"] > 0
    assert fake_model.calls[-1].session_id == reply.session_id


async def test_each_turn_costs_its_own_share_of_the_session_total(
    stack: Stack, fake_model: FakeAnthropic
) -> None:
    """Claude Code's total_cost_usd counts the whole session, across resumes: a turn's cost
    is the difference, and a resumed session's first turn does not count the earlier ones."""
    manager = stack.manager()
    first = await manager.run_turn(OWNER_KEY, OWNER, "one")
    second = await manager.run_turn(OWNER_KEY, OWNER, "two")
    await manager.aclose()
    third = await stack.manager().run_turn(OWNER_KEY, OWNER, "three")
    costs = [reply.usage.cost_usd for reply in (first, second, third)]
    assert all(cost > 0 for cost in costs)
    # The first turn writes the prefix to the cache; the next ones read it: cheaper each.
    assert costs[1] < costs[0] and costs[2] < costs[0], costs
    rows = await stack.db.fetch_all("SELECT cost_usd, payer FROM usage ORDER BY id")
    assert [round(r["cost_usd"], 9) for r in rows] == [round(c, 9) for c in costs]
    assert {r["payer"] for r in rows} == {"owner"}
    record = await SessionRepo(stack.db).get("owner")
    assert record is not None and abs(record.cost_total - sum(costs)) < 1e-9


async def test_resume_after_restart_shows_history(stack: Stack, fake_model: FakeAnthropic) -> None:
    first = stack.manager()
    before = await first.run_turn(OWNER_KEY, OWNER, "remember banana")
    await first.aclose()
    second = stack.manager()
    after = await second.run_turn(OWNER_KEY, OWNER, "what fruit?")
    assert after.session_id == before.session_id
    assert fake_model.calls[-1].user_texts[0] == "remember banana"
    assert fake_model.calls[-1].last_user_text == "what fruit?"


async def test_resume_failure_starts_fresh_from_summary(
    stack: Stack, fake_model: FakeAnthropic
) -> None:
    first = stack.manager()
    before = await first.run_turn(OWNER_KEY, OWNER, "remember banana")
    await first.aclose()
    shutil.rmtree(stack.transcripts)  # the transcript is gone: resume must fail
    second = stack.manager()
    after = await second.run_turn(OWNER_KEY, OWNER, "what fruit?")
    assert not after.is_error and after.session_id != before.session_id
    sent = fake_model.calls[-1].last_user_text
    assert "remember banana" in sent and sent.endswith("what fruit?")
    row = await SessionRepo(stack.db).get("owner")
    assert row is not None and row.sdk_session_id == after.session_id


async def test_lru_cap_closes_idle_and_resumes(stack: Stack, fake_model: FakeAnthropic) -> None:
    manager = stack.manager(max_live=1)
    await manager.run_turn(OWNER_KEY, OWNER, "owner says one")
    assert manager.live_keys == (OWNER_KEY,)
    await manager.run_turn(SessionKey.task(1), OWNER, "task says one")
    assert manager.live_keys == (SessionKey.task(1),)
    reply = await manager.run_turn(OWNER_KEY, OWNER, "owner says two")
    assert manager.live_keys == (OWNER_KEY,)
    assert reply.text == "echo: owner says two"
    assert fake_model.calls[-1].user_texts[0] == "owner says one"  # resumed, history intact


async def test_follow_up_during_tool_is_absorbed(
    stack: Stack, fake_model: FakeAnthropic, slow_tool: SlowTool
) -> None:
    manager = stack.manager()
    fake_model.push(tool_use("mcp__memory__slow"), text("both handled"))
    turn = asyncio.create_task(manager.run_turn(OWNER_KEY, OWNER, "start the slow thing"))
    await asyncio.wait_for(slow_tool.running.wait(), 10)
    assert await manager.follow_up(OWNER_KEY, "and one more thing")
    reply = await turn
    assert reply.text == "both handled"
    assert "and one more thing" in body_text(fake_model.calls[-1])
    assert not await manager.follow_up(OWNER_KEY, "too late")  # no turn runs now
    after = await manager.run_turn(OWNER_KEY, OWNER, "next")
    assert after.text == "echo: next"  # no stray result leaked into this turn


async def test_follow_up_during_text_gets_its_own_answer(
    stack: Stack, fake_model: FakeAnthropic
) -> None:
    manager = stack.manager()
    fake_model.push(text("A" * 40, delay=0.05, chunk=2))
    turn = asyncio.create_task(manager.run_turn(OWNER_KEY, OWNER, "long answer please"))
    await fake_model.wait_calls_async(1)
    assert await manager.follow_up(OWNER_KEY, "and a follow-up")
    reply = await turn
    assert reply.text == "A" * 40 + "\n\necho: and a follow-up"
    after = await manager.run_turn(OWNER_KEY, OWNER, "next")
    assert after.text == "echo: next"


async def test_interrupt_marks_reply(stack: Stack, fake_model: FakeAnthropic) -> None:
    manager = stack.manager()
    assert not await manager.interrupt(OWNER_KEY)
    fake_model.push(text("B" * 200, delay=0.05, chunk=2))
    turn = asyncio.create_task(manager.run_turn(OWNER_KEY, OWNER, "talk a lot"))
    await fake_model.wait_calls_async(1)
    await asyncio.sleep(0.3)
    assert await manager.interrupt(OWNER_KEY)
    reply = await asyncio.wait_for(turn, 10)
    assert reply.interrupted and not reply.is_error
    after = await manager.run_turn(OWNER_KEY, OWNER, "still there?")
    # The CLI tells the model about the interrupt in the next user message.
    assert after.text.endswith("still there?") and not after.interrupted


async def test_stop_also_stops_queued_follow_ups(stack: Stack, fake_model: FakeAnthropic) -> None:
    manager = stack.manager()
    fake_model.push(text("C" * 200, delay=0.05, chunk=2))
    turn = asyncio.create_task(manager.run_turn(OWNER_KEY, OWNER, "talk a lot"))
    await fake_model.wait_calls_async(1)
    assert await manager.follow_up(OWNER_KEY, "queued before the stop")
    await asyncio.sleep(0.3)
    assert await manager.interrupt(OWNER_KEY)
    assert not await manager.follow_up(OWNER_KEY, "after the stop")  # becomes its own turn
    reply = await asyncio.wait_for(turn, 10)
    assert reply.interrupted and "C" * 200 not in reply.text
    after = await manager.run_turn(OWNER_KEY, OWNER, "fresh question")
    assert after.text.endswith("fresh question") and not after.interrupted


async def test_reset_forgets_and_close_idle_keeps(stack: Stack, fake_model: FakeAnthropic) -> None:
    manager = stack.manager()
    await manager.run_turn(OWNER_KEY, OWNER, "remember banana")
    assert await manager.close_idle(0) == 1 and manager.live_keys == ()
    await manager.run_turn(OWNER_KEY, OWNER, "still remember?")
    assert fake_model.calls[-1].user_texts[0] == "remember banana"  # closed, then resumed
    await manager.reset(OWNER_KEY)
    assert manager.live_keys == ()
    row = await SessionRepo(stack.db).get("owner")
    assert row is not None and row.sdk_session_id is None and row.summary == ""
    await manager.run_turn(OWNER_KEY, OWNER, "who are you?")
    assert fake_model.calls[-1].user_texts == ["who are you?"]


async def test_timeout_on_hang_then_resumes(stack: Stack, fake_model: FakeAnthropic) -> None:
    stack.env["API_TIMEOUT_MS"] = "60000"
    manager = stack.manager(turn_timeout=1.0)
    first = await manager.run_turn(OWNER_KEY, OWNER, "first")
    fake_model.push(hang())
    with pytest.raises(TurnTimeout):
        await manager.run_turn(OWNER_KEY, OWNER, "this hangs")
    assert manager.live_keys == ()
    reply = await manager.run_turn(OWNER_KEY, OWNER, "after the hang")
    assert reply.text == "echo: after the hang" and reply.session_id == first.session_id


async def test_overloaded_then_success(stack: Stack, fake_model: FakeAnthropic) -> None:
    fake_model.push(error(529), text("fine after a retry"))
    reply = await stack.manager().run_turn(OWNER_KEY, OWNER, "hi")
    assert reply.text == "fine after a retry" and not reply.is_error


async def test_overloaded_forever_gives_apology(stack: Stack, fake_model: FakeAnthropic) -> None:
    fake_model.push(error(529), error(529))  # CLAUDE_CODE_MAX_RETRIES=1: two attempts
    manager = stack.manager()
    reply = await manager.run_turn(OWNER_KEY, OWNER, "hi")
    assert reply.is_error and reply.error_kind == "server_error"
    assert reply.text.startswith("Sorry") and "529" not in reply.text
    again = await manager.run_turn(OWNER_KEY, OWNER, "better now?")
    # The unanswered "hi" is cut from the history (the conversation sends a held message
    # again itself): the model reads each message once. The session goes on as a fork.
    assert again.text == "echo: better now?" and not again.is_error
    assert all("hi" not in text for text in fake_model.calls[-1].user_texts)


async def test_an_unanswered_turn_is_cut_from_a_longer_history(
    stack: Stack, fake_model: FakeAnthropic
) -> None:
    manager = stack.manager()
    assert (
        await manager.run_turn(OWNER_KEY, OWNER, "remember: blue")
    ).text == "echo: remember: blue"
    first_id = (await SessionRepo(stack.db).get("owner")).sdk_session_id  # type: ignore[union-attr]
    fake_model.push(error(529), error(529))
    failed = await manager.run_turn(OWNER_KEY, OWNER, "which colour?")
    assert failed.error_kind == "server_error"
    again = await manager.run_turn(OWNER_KEY, OWNER, "which colour?")
    assert again.text == "echo: which colour?"
    said = fake_model.calls[-1].user_texts
    assert sum("which colour?" in t for t in said) == 1  # once, not twice
    assert any("remember: blue" in t for t in said)  # what came before is kept
    record = await SessionRepo(stack.db).get("owner")
    assert record is not None and record.sdk_session_id not in (None, first_id)  # a fork
    assert record.resume_at is None


async def test_stream_cut_is_retried(stack: Stack, fake_model: FakeAnthropic) -> None:
    fake_model.push(cut(text("this will be cut off", chunk=3), after_events=4), text("whole"))
    reply = await stack.manager().run_turn(OWNER_KEY, OWNER, "hi")
    assert reply.text == "whole" and not reply.is_error
    assert len(fake_model.calls) == 2


class Results:
    async def session_id_changed(self, session: AgentSession, session_id: str, /) -> None:
        pass

    async def result_received(
        self, session: AgentSession, result: ResultMessage, /, *, model: str | None
    ) -> float:
        return 0.0

    def rate_limit_changed(self, session: AgentSession, info: RateLimitInfo, /) -> None:
        pass


async def test_stuck_cli_is_killed_after_grace(
    tmp_path: Path, claude_env: dict[str, str], fake_model: FakeAnthropic
) -> None:
    tools = ToolServers()
    options = build_options(
        OWNER,
        cwd=tmp_path,
        resume=None,
        servers={},
        mcp_tools=(),
        env={**claude_env, **FAST},
        hooks=None,
    )
    session = AgentSession(
        key=OWNER_KEY,
        role=OWNER,
        person_id=None,
        options=options,
        policy=tool_policy(OWNER, tools),
        observer=Results(),
        turn_timeout=1.0,
        interrupt_grace=0.5,
    )
    await session.start()
    try:
        assert session.pid is not None
        os.kill(session.pid, signal.SIGSTOP)  # answers nothing, not even the interrupt
        with pytest.raises(TurnTimeout):
            await session.run_turn("hello")
        await asyncio.sleep(0.2)
        with pytest.raises(ProcessLookupError):
            os.kill(session.pid, 0)
        assert not session.usable
    finally:
        await session.close()


async def test_a_plain_answer_comes_back_before_the_cli_reports_its_usage(
    stack: Stack, fake_model: FakeAnthropic
) -> None:
    """record_later: the reply comes back when the model's answer ends, not after the CLI's
    bookkeeping; the usage follows, recorded against the turn's charge by flush(key), and
    the next turn waits for it (each turn's cost is its own share of the session's total)."""
    manager = stack.manager()
    charge = Charge.trigger("schedule:7", "digest")
    first = await manager.run_turn(OWNER_KEY, OWNER, "one", record_later=True, charge=charge)
    assert first.text == "echo: one" and first.session_id and not first.is_error
    assert first.usage.output_tokens == 0  # given back before the CLI reported it
    await manager.flush(OWNER_KEY)
    rows = await stack.db.fetch_all("SELECT payer, output_tokens, cost_usd FROM usage")
    assert [(r["payer"], r["output_tokens"]) for r in rows] == [
        (charge.payer, fake_model.calls[-1].usage["output_tokens"])
    ]
    second = await manager.run_turn(OWNER_KEY, OWNER, "two", record_later=True)
    third = await manager.run_turn(OWNER_KEY, OWNER, "three", record_later=True)
    assert (second.text, third.text) == ("echo: two", "echo: three")
    await manager.flush(OWNER_KEY)
    rows = await stack.db.fetch_all("SELECT payer, cost_usd FROM usage ORDER BY id")
    assert [r["payer"] for r in rows] == [charge.payer, "owner", "owner"]
    costs = [r["cost_usd"] for r in rows]
    assert all(cost > 0 for cost in costs) and costs[1] < costs[0]  # shares, not totals
    record = await SessionRepo(stack.db).get("owner")
    assert record is not None and abs(record.cost_total - sum(costs)) < 1e-9
    assert "echo: three" in record.summary


async def test_a_turn_that_used_a_tool_is_given_back_whole(
    stack: Stack, fake_model: FakeAnthropic, slow_tool: SlowTool
) -> None:
    slow_tool.seconds = 0.0
    manager = stack.manager()
    fake_model.push(tool_use("mcp__memory__slow"), text("done"))
    reply = await manager.run_turn(OWNER_KEY, OWNER, "run it", record_later=True)
    assert reply.text == "done" and reply.usage.output_tokens > 0  # after the result


STOP_HOOK = """
import json, sys
if not json.load(sys.stdin).get("stop_hook_active"):
    print(json.dumps({"decision": "block", "reason": "add the second part"}))
"""


def stop_plugin(tmp_path: Path) -> Path:
    """A plugin whose Stop hook makes the CLI go on once after the model's answer."""
    plugin = tmp_path / "stopper"
    (plugin / ".claude-plugin").mkdir(parents=True)
    (plugin / ".claude-plugin" / "plugin.json").write_text('{"name": "stopper"}')
    (plugin / "hooks").mkdir()
    (plugin / "stop.py").write_text(STOP_HOOK)
    command = f"{sys.executable} {plugin / 'stop.py'}"
    hooks = {"Stop": [{"hooks": [{"type": "command", "command": command}]}]}
    (plugin / "hooks" / "hooks.json").write_text(json.dumps({"hooks": hooks}))
    return plugin


async def test_a_stop_hook_that_goes_on_is_waited_for(
    stack: Stack, fake_model: FakeAnthropic, tmp_path: Path
) -> None:
    """A plugin's Stop hook makes the CLI go on after the model's first answer: the session
    does not give that answer back early, so the reply holds what came after it too."""
    manager = stack.manager(extensions=OnePlugin(stop_plugin(tmp_path)))
    fake_model.push(text("part one"), text("part two"))
    reply = await manager.run_turn(OWNER_KEY, OWNER, "tell me", record_later=True)
    assert "add the second part" in body_text(fake_model.calls[-1])  # the hook ran
    assert reply.text == "part one\n\npart two"


async def test_what_the_cli_says_after_an_early_answer_is_logged_not_leaked(
    tmp_path: Path,
    claude_env: dict[str, str],
    fake_model: FakeAnthropic,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Why Stop hooks turn early answers off: forced on, the answer comes back before the
    hook makes the CLI go on; that rest is logged when the turn settles, and the next turn
    gets only its own answer."""
    plugin = stop_plugin(tmp_path)
    options = build_options(
        OWNER,
        cwd=tmp_path,
        resume=None,
        servers={},
        mcp_tools=(),
        env={**claude_env, **FAST},
        hooks=None,
        plugins=[{"type": "local", "path": str(plugin)}],
    )
    session = AgentSession(
        key=OWNER_KEY,
        role=OWNER,
        person_id=None,
        options=options,
        policy=tool_policy(OWNER, ToolServers()),
        observer=Results(),
        turn_timeout=20.0,
        settle_early=True,
    )
    await session.start()
    try:
        fake_model.push(text("part one"), text("part two"))
        first = await session.run_turn("tell me", early=True)
        assert first.text == "part one" and session.settling
        await session.settled()
        assert "10 characters not sent" in caplog.text  # "\n\npart two"
        after = await session.run_turn("next", early=True)
        assert after.text == "echo: next"
    finally:
        await session.close()
