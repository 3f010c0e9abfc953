from __future__ import annotations

import json
from typing import Any

import pytest

from jobs.memory import MemoryStore
from jobs.tools.memory import TOOL_NAMES, MemoryTools


def text(result: dict[str, Any]) -> str:
    return "\n".join(part["text"] for part in result["content"])


@pytest.fixture
def tools(store: MemoryStore) -> MemoryTools:
    return MemoryTools(store=store)


def test_server_declares_the_four_tools(tools: MemoryTools) -> None:
    server = tools.server()
    assert server.name == "memory" and server.tools == frozenset(TOOL_NAMES)
    schemas = {t.name: t.input_schema for t in tools.tools()}
    assert schemas["memory_write"]["properties"]["action"]["enum"] == ["add", "replace", "remove"]


async def test_write_add_replace_remove(tools: MemoryTools, store: MemoryStore) -> None:
    added = await tools.write({"action": "add", "section": "People", "text": "Anna loves tulips"})
    assert "MEMORY.md updated" in text(added) and not added.get("is_error")
    await tools.write({"action": "add", "text": "Pay the rent on the 1st"})
    await tools.write({"action": "replace", "entry": "tulips", "text": "Anna loves orchids"})
    await tools.write({"action": "remove", "entry": "rent"})
    memory = store.files.memory_path.read_text()
    assert memory == "# Memory\n\n## People\n\n- Anna loves orchids\n\n## Notes\n"
    await tools.write({"action": "replace", "section": "Notes", "text": "- fresh"})
    await tools.write({"action": "remove", "section": "People"})
    assert store.files.memory_path.read_text() == "# Memory\n\n## Notes\n\n- fresh\n"
    assert "fresh" in text(await tools.search({"query": "fresh"}))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"action": "add"}, "add needs `text`"),
        ({"action": "replace", "entry": "x"}, "replace needs `text`"),
        ({"action": "remove"}, "needs `entry`"),
        ({"action": "rename", "text": "x"}, "action must be"),
        ({"action": "remove", "entry": "nobody"}, "No entry contains 'nobody'"),
        ({"action": "remove", "section": "Pets"}, "There is no section 'Pets'"),
        ({"action": "add", "text": "x" * 5000}, "keep an entry under"),
    ],
)
async def test_write_refuses_bad_input(
    tools: MemoryTools, store: MemoryStore, args: dict[str, Any], message: str
) -> None:
    await tools.write({"action": "add", "text": "keep me"})
    before = store.files.memory_path.read_text()
    result = await tools.write(args)
    assert result["is_error"] is True and message in text(result)
    assert store.files.memory_path.read_text() == before


async def test_search_renders_citations_and_how_found(tools: MemoryTools) -> None:
    await tools.write({"action": "add", "section": "People", "text": "Anna (wife) loves tulips"})
    await tools.log({"text": "Bought a bouquet for the anniversary"})
    out = text(await tools.search({"query": "what flowers does my spouse like", "limit": 2}))
    assert out.startswith("[1] MEMORY.md:3-5 (meaning)\n## People")
    assert "[2] memory/2026-11-27.md:1-3" in out
    kw = text(await tools.search({"query": "tulips"}))
    assert kw.startswith("[1] MEMORY.md:3-5 (words+meaning)")
    none = await tools.search({"query": "   "})
    assert none["is_error"] is True
    assert (await tools.search({"query": "x", "limit": 50}))["is_error"] is True


async def test_log_and_read(tools: MemoryTools) -> None:
    logged = await tools.log({"text": "Called the plumber"})
    assert text(logged) == "Added to memory/2026-11-27.md (lines 3-3)."
    read = text(await tools.read({"file": "today"}))
    assert read == "    1  # 2026-11-27\n    2  \n    3  - 09:30 Called the plumber"
    assert text(await tools.read({})) == "MEMORY.md is empty (nothing written there yet)."
    refused = await tools.read({"file": "../.env"})
    assert refused["is_error"] is True and "is not a memory file" in text(refused)
    future = await tools.log({"text": "x", "date": "2030-01-01"})
    assert future["is_error"] is True and "future" in text(future)
    bad = await tools.log({"text": "x", "date": "31/12/2025"})
    assert bad["is_error"] is True and "not a date" in text(bad)
    assert (await tools.read({"file": "MEMORY.md", "start_line": 0}))["is_error"] is True


async def test_results_are_json_serialisable(tools: MemoryTools) -> None:
    json.dumps(await tools.search({"query": "anything"}))


async def test_a_memory_that_is_not_utf8_is_not_rewritten(
    tools: MemoryTools, store: MemoryStore
) -> None:
    raw = "# Memory\n\n- café\n".encode("latin-1")
    store.files.memory_path.write_bytes(raw)
    result = await tools.write({"action": "add", "text": "more"})
    assert result["is_error"] is True and "not UTF-8" in text(result)
    assert store.files.memory_path.read_bytes() == raw
    assert "caf\ufffd" in text(await tools.read({}))
