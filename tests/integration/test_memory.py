"""Memory end to end: the real SDK and CLI on the scripted model call the memory tools, which
write real files, index them in SQLite and search them through the OpenAI client against the
fake embeddings server; an external person's session never sees a memory tool or memory text."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from jobs.memory import MemoryStore, OpenAIEmbedder, open_memory
from jobs.sessions import EXTERNAL, OWNER, SessionManager
from jobs.sessions.keys import OWNER_KEY, SessionKey
from jobs.storage import Database, TaskRepo
from jobs.tools import ToolServers
from jobs.tools.memory import TOOL_NAMES, MemoryTools
from jobs.tools.tasks import ExternalTaskTools
from tests.fakes.anthropic import FakeAnthropic, text, tool_use
from tests.fakes.embeddings import FakeEmbeddings
from tests.session_stack import session_manager

MEMORY_TOOLS = {f"mcp__memory__{name}" for name in TOOL_NAMES}
SECRET = "Zephyr-7731"


@dataclass
class World:
    db: Database
    store: MemoryStore
    manager: SessionManager
    embeddings: FakeEmbeddings
    workspace: Path


@pytest.fixture
async def world(tmp_path: Path, claude_env: dict[str, str]) -> AsyncIterator[World]:
    embeddings = FakeEmbeddings().start()
    db = await Database.open(tmp_path / "data" / "db.sqlite")
    embedder = OpenAIEmbedder(
        model="fake-embed", base_url=embeddings.url, api_key="test", max_retries=0
    )
    workspace = tmp_path / "workspace"
    store = open_memory(db=db, workspace=workspace, zone=UTC, embedder=embedder)
    await store.start()

    async def notify_owner(_person: int, _text: str) -> None:
        return None

    tools = ToolServers(
        [
            MemoryTools(store=store).server(),
            ExternalTaskTools(tasks=TaskRepo(db), notify_owner=notify_owner).server(),
        ]
    )
    manager = session_manager(
        db,
        root=tmp_path,
        env=claude_env,
        workspace=workspace,
        tools=tools,
    )
    try:
        yield World(db, store, manager, embeddings, workspace)
    finally:
        await manager.aclose()
        await store.aclose()
        await db.close()
        embeddings.stop()


def results(call: Any) -> str:
    return "\n".join(
        part.get("text", "") if isinstance(part, dict) else str(part)
        for block in call.tool_results
        for part in (block["content"] if isinstance(block["content"], list) else [block["content"]])
    )


async def test_owner_writes_and_finds_by_keyword_and_by_meaning(
    world: World, fake_model: FakeAnthropic
) -> None:
    fake_model.push(
        tool_use(
            "mcp__memory__memory_write",
            {"action": "add", "section": "People", "text": "Anna (wife) loves tulips"},
        ),
        tool_use("mcp__memory__daily_log_append", {"text": "Booked the boiler service"}),
        tool_use("mcp__memory__memory_search", {"query": "boiler"}),
        tool_use("mcp__memory__memory_search", {"query": "what flowers does my spouse like"}),
        text("Noted."),
    )
    reply = await world.manager.run_turn(OWNER_KEY, OWNER, "Remember that Anna loves tulips")
    assert reply.text == "Noted."
    calls = fake_model.calls
    assert calls[0].offered_tools >= MEMORY_TOOLS
    assert "MEMORY.md updated" in results(calls[1])
    assert (world.workspace / "MEMORY.md").read_text() == (
        "# Memory\n\n## People\n\n- Anna (wife) loves tulips\n"
    )
    assert "Added to memory/" in results(calls[2])
    by_word = results(calls[3])
    assert by_word.startswith("[1] memory/") and "Booked the boiler service" in by_word
    by_meaning = results(calls[4])
    assert by_meaning.startswith("[1] MEMORY.md:3-5 (meaning)") and "tulips" in by_meaning
    assert "what flowers does my spouse like" in world.embeddings.inputs


async def test_past_conversations_are_searchable(world: World, fake_model: FakeAnthropic) -> None:
    prompt = "My passport number ends in 4471, keep that in mind"
    reply = await world.manager.run_turn(OWNER_KEY, OWNER, prompt)
    # What the turn path does after each owner turn (see the wiring notes).
    at = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)
    assert await world.store.record_exchange("owner", prompt, reply.text, at)
    fake_model.push(tool_use("mcp__memory__memory_search", {"query": "passport"}), text("4471"))
    await world.manager.run_turn(OWNER_KEY, OWNER, "what was my passport number?")
    found = results(fake_model.calls[-1])
    assert "memory/conversations/2026-11-27.md" in found and "4471" in found
    log = (world.workspace / "memory" / "2026-11-27.md").read_text()
    assert '- 10:15 "My passport number ends in 4471' in log


async def test_external_sessions_never_see_memory(world: World, fake_model: FakeAnthropic) -> None:
    await world.store.edit_memory(lambda _old: f"# Memory\n\n## Work\n- Project {SECRET}\n")
    await world.store.append_daily(f"Worked on {SECRET}")
    fake_model.push(
        tool_use("mcp__memory__memory_read", {}),
        tool_use("mcp__memory__memory_search", {"query": "project"}),
        text("I can't see that."),
    )
    await world.manager.run_turn(
        SessionKey.person(42), EXTERNAL, "what is in MEMORY.md?", person_id=42
    )
    calls = fake_model.calls
    offered = calls[0].offered_tools
    assert not offered & MEMORY_TOOLS and not any("memory" in name for name in offered)
    everything = json.dumps([call.body for call in calls])
    assert SECRET not in everything
    assert "No such tool" in results(calls[1]) or "not available" in results(calls[1]).lower()


async def test_memory_md_is_in_the_owner_prompt_and_refreshed(
    world: World, fake_model: FakeAnthropic, tmp_path: Path, claude_env: dict[str, str]
) -> None:
    from jobs.memory import MemoryContext

    await world.store.edit_memory(
        lambda _old: "# Memory\n\n## People\n- Anna (wife) loves tulips\n"
    )
    db = world.db
    manager = session_manager(
        db,
        root=tmp_path,
        env=claude_env,
        workspace=world.workspace,
        tools=ToolServers([MemoryTools(store=world.store).server()]),
        context=MemoryContext(files=world.store.files),
    )
    try:
        await manager.run_turn(OWNER_KEY, OWNER, "hi")
        assert "Anna (wife) loves tulips" in fake_model.calls[-1].system_text
        await manager.run_turn(OWNER_KEY, OWNER, "again")  # same process, same prompt
        await world.store.edit_memory(lambda old: old + "- Bob is allergic to peanuts\n")
        await manager.run_turn(OWNER_KEY, OWNER, "and now?")
        latest = fake_model.calls[-1]
        assert "Bob is allergic to peanuts" in latest.system_text
        assert "again" in json.dumps(latest.messages)  # resumed: the conversation went on
        await manager.run_turn(SessionKey.person(42), EXTERNAL, "hi", person_id=42)
        assert "tulips" not in json.dumps(fake_model.calls[-1].body)
    finally:
        await manager.aclose()
