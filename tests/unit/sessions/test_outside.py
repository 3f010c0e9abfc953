"""OutsideInput: which calls read outside text, and where a tainted session may not write."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.sessions.outside import OutsideInput
from jobs.sessions.taint import Taint
from jobs.storage import Database, TaintedFileRepo


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    workspace, data = tmp_path / "workspace", tmp_path / "data"
    (workspace / "tasks" / "3").mkdir(parents=True)
    (workspace / "uploads").mkdir()
    data.mkdir(exist_ok=True)
    return workspace.resolve(), data.resolve()


@pytest.fixture
def outside(places: tuple[Path, Path], db: Database) -> OutsideInput:
    workspace, data = places
    return OutsideInput(
        workspace=workspace,
        data_dir=data,
        ledger=TaintedFileRepo(db),
        outside_folders=(workspace / "uploads",),
        outside_tools={"mcp__telegram__read_messages": "messages in your Telegram chats"},
        extras=lambda: {"mcp__gmail__": "what the MCP server gmail returned"},
        protected_files=(workspace / "MEMORY.md", workspace / "HEARTBEAT.md"),
    )


@pytest.mark.parametrize(
    ("tool", "tool_input", "expected"),
    [
        ("WebFetch", {"url": "https://evil.example/x"}, "the web page https://evil.example/x"),
        ("WebSearch", {"query": "cats"}, "web search results (cats)"),
        ("mcp__browser__browser_navigate", {"url": "https://a.b"}, "the web page https://a.b"),
        ("mcp__browser__browser_snapshot", {}, "a web page in the browser"),
        ("mcp__telegram__read_messages", {"chat": "Bob"}, "messages in your Telegram chats"),
        ("mcp__gmail__search", {"q": "x"}, "what the MCP server gmail returned"),
        ("Read", {"file_path": "uploads/cv.pdf"}, "files from outside"),
        ("Grep", {"pattern": "x"}, "files from outside"),  # the whole workspace, uploads too
        ("Bash", {"command": "cat uploads/cv.txt | wc -l"}, "files from outside"),
        ("Read", {"file_path": "notes.md"}, None),
        ("Bash", {"command": "ls -la"}, None),
        ("Write", {"file_path": "uploads/x"}, None),
        ("mcp__memory__memory_search", {"query": "x"}, None),
    ],
)
async def test_what_reads_outside_text(
    outside: OutsideInput,
    places: tuple[Path, Path],
    tool: str,
    tool_input: dict[str, str],
    expected: str | None,
) -> None:
    cause = await outside.cause(tool, tool_input, str(places[0]))
    assert cause == expected or (expected is not None and cause and cause.startswith(expected))


async def test_a_file_a_tainted_session_wrote_is_outside_text_until_rewritten(
    outside: OutsideInput, places: tuple[Path, Path]
) -> None:
    workspace = places[0]
    cwd = str(workspace / "tasks" / "3")
    taint = Taint(caused_by="a message from Bob")
    await outside.wrote("Write", {"file_path": "notes.md"}, cwd, key="task:3", taint=taint)
    notes = str(workspace / "tasks" / "3" / "notes.md")
    read = await outside.cause("Read", {"file_path": notes}, str(workspace))
    assert read is not None and "written after reading a message from Bob" in read
    assert await outside.cause("Grep", {"pattern": "x", "path": "tasks"}, str(workspace))
    assert await outside.cause("Bash", {"command": f"head {notes}"}, "/")
    await outside.forget("Write", {"file_path": notes}, "/")
    assert await outside.cause("Read", {"file_path": notes}, "/") is None


@pytest.mark.parametrize(
    "path",
    [
        ".claude/settings.json",
        ".Claude/settings.local.json",
        "sub/.claude/skills/x/SKILL.md",
        ".mcp.json",
        "CLAUDE.md",
        "deep/claude.md",
        "CLAUDE.local.md",
        "AGENTS.md",
        ".claude-plugin/plugin.json",
        ".git/hooks/pre-commit",
        "../../MEMORY.md",
        "../../HEARTBEAT.md",
        "../../memory/2026-12-05.md",
        "../../../data/mcp_servers.json",
    ],
)
def test_a_tainted_session_may_not_write_instructions(
    outside: OutsideInput, places: tuple[Path, Path], path: str
) -> None:
    cwd = str(places[0] / "tasks" / "3")
    assert outside.instruction_write("Write", {"file_path": path}, cwd) is not None
    assert outside.instruction_write("Edit", {"file_path": path}, cwd) is not None


def test_instructions_behind_a_symlink_are_found(
    outside: OutsideInput, places: tuple[Path, Path]
) -> None:
    folder = places[0] / "tasks" / "3"
    (places[0] / ".claude").mkdir()
    (folder / "prefs").symlink_to(places[0] / ".claude")
    assert outside.instruction_write("Write", {"file_path": "prefs/settings.json"}, str(folder))


@pytest.mark.parametrize("path", ["notes.md", "sub/plan.txt", "claude.md.txt", "my.claude"])
def test_ordinary_files_may_be_written(
    outside: OutsideInput, places: tuple[Path, Path], path: str
) -> None:
    cwd = str(places[0] / "tasks" / "3")
    assert outside.instruction_write("Write", {"file_path": path}, cwd) is None
    assert outside.instruction_write("Read", {"file_path": ".claude/x"}, cwd) is None


@pytest.mark.parametrize(
    ("tool", "tool_input"),
    [
        ("Read", {"file_path": "../data/secrets.json"}),
        ("Read", {"file_path": "~/../../{data}/telethon.session"}),
        ("Grep", {"pattern": "api_hash", "path": "{data}"}),
        ("Glob", {"pattern": "**/*", "path": "{root}"}),  # a parent of the data folder
        ("Bash", {"command": "cat {data}/secrets.json"}),
    ],
)
def test_a_tainted_session_may_not_read_jobs_own_data(
    outside: OutsideInput, places: tuple[Path, Path], tool: str, tool_input: dict[str, str]
) -> None:
    workspace, data = places
    filled = {
        k: v.format(data=data, root=data.parent).replace("~/../..", "")
        for k, v in tool_input.items()
    }
    assert outside.private_read(tool, filled, str(workspace)) is not None


def test_its_own_files_it_may_read(outside: OutsideInput, places: tuple[Path, Path]) -> None:
    workspace = str(places[0])
    assert outside.private_read("Read", {"file_path": "notes.md"}, workspace) is None
    assert outside.private_read("Grep", {"pattern": "x"}, workspace) is None
    assert outside.private_read("Bash", {"command": "ls -la"}, workspace) is None
