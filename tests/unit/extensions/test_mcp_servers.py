from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from jobs.errors import ExtensionError
from jobs.extensions.mcp_probe import probe
from jobs.extensions.mcp_servers import (
    McpServers,
    StdioSpec,
    UrlSpec,
    describe,
    parse_spec,
    references,
    sdk_config,
)
from jobs.extensions.references import expand
from tests.fakes import mcp_server

ENV = {"PATH": "/usr/bin:/bin", "MY_TOKEN": "tok-123456", "HOME": "/root"}


@pytest.fixture
def servers(tmp_path: Path) -> McpServers:
    return McpServers(path=tmp_path / "mcp_servers.json", reserved={"memory"}, environ=ENV)


def stdio(**extra: object) -> StdioSpec:
    spec = parse_spec({"command": sys.executable, **extra})
    assert isinstance(spec, StdioSpec)
    return spec


def test_parse_defaults_to_stdio_and_validates() -> None:
    assert stdio(args=["-V"]).type == "stdio"
    http = parse_spec({"type": "http", "url": "https://example.com/mcp"})
    assert isinstance(http, UrlSpec) and http.type == "http"
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "type must be stdio"),
        ({"type": "ftp", "url": "x"}, "type must be stdio"),
        ({"type": "http", "url": "file:///etc"}, "http:// or https://"),
        ({"command": "x", "env": {"BAD KEY": "v"}}, "not environment variable names"),
        ({"command": "x", "surprise": 1}, "surprise"),
        ({"type": "sse", "url": "http://h", "headers": {"a b": "c"}}, "not header names"),
    ]
    for bad, message in cases:
        with pytest.raises(ExtensionError, match=message):
            parse_spec(bad)


def test_references_and_expansion() -> None:
    spec = stdio(env={"A": "${MY_TOKEN}", "B": "x-${OTHER:-dflt}", "C": "plain"})
    assert references(spec) == ["MY_TOKEN"]
    assert expand("Bearer ${MY_TOKEN} ${NOPE:-d} ${NOPE}", ENV) == "Bearer tok-123456 d "


def test_add_list_enable_disable_remove(servers: McpServers, tmp_path: Path) -> None:
    servers.add("gh", stdio(env={"TOKEN": "${MY_TOKEN}", "LEVEL": "debug-secretish"}))
    servers.add("web", parse_spec({"type": "http", "url": "https://u:p@h.io:8443/mcp?key=abc"}))
    assert servers.active().keys() == {"gh", "web"}
    assert sdk_config(servers.get("gh"))["env"] == {  # type: ignore[typeddict-item]
        "TOKEN": "${MY_TOKEN}",
        "LEVEL": "debug-secretish",
    }
    lines = "\n".join(describe(e) for e in servers.entries())
    assert "TOKEN=${MY_TOKEN}" in lines and "LEVEL=(set, hidden)" in lines
    assert "debug-secretish" not in lines and "tok-123456" not in lines
    assert "https://h.io:8443/mcp" in lines and "key=abc" not in lines and "u:p" not in lines
    assert servers.set_enabled("gh", False) and not servers.set_enabled("gh", False)
    assert servers.active().keys() == {"web"}
    servers.remove("web")
    assert [e.name for e in servers.entries()] == ["gh"]
    assert servers.revision == 4
    stored = json.loads((tmp_path / "mcp_servers.json").read_text())
    assert stored["servers"]["gh"]["env"]["TOKEN"] == "${MY_TOKEN}"
    assert (tmp_path / "mcp_servers.json").stat().st_mode & 0o777 == 0o600
    reloaded = McpServers(path=tmp_path / "mcp_servers.json", environ=ENV)
    assert [(e.name, e.spec.enabled) for e in reloaded.entries()] == [("gh", False)]


def test_refusals_save_nothing(servers: McpServers, tmp_path: Path) -> None:
    for name, spec, message in [
        ("memory", stdio(), "reserved"),
        ("plugin_x", stdio(), "reserved"),
        ("Bad Name", stdio(), "not a valid server name"),
        ("a__b", stdio(), "not a valid server name"),
        ("x", parse_spec({"command": "no-such-command-jobs"}), "not found on Jobs' PATH"),
        ("x", parse_spec({"command": "/no/such/bin"}), "does not exist"),
        ("x", stdio(env={"K": "${ANTHROPIC_API_KEY}"}), "belong to Jobs itself"),
        ("x", stdio(env={"K": "${TG_SESSION}"}), "belong to Jobs itself"),
    ]:
        with pytest.raises(ExtensionError, match=message):
            servers.add(name, spec)
    assert not (tmp_path / "mcp_servers.json").exists()
    servers.add("ok", stdio())
    with pytest.raises(ExtensionError, match="exists; remove it first"):
        servers.add("ok", stdio())
    with pytest.raises(ExtensionError, match="no MCP server named 'nope'"):
        servers.remove("nope")


def test_servers_with_unset_variables_are_left_out(servers: McpServers) -> None:
    servers.add("needs", stdio(env={"K": "${NOT_SET_ANYWHERE}"}))
    assert servers.missing(servers.get("needs")) == ["NOT_SET_ANYWHERE"]
    assert servers.active() == {}


def test_a_broken_file_is_reported_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "mcp_servers.json"
    path.write_text('{"servers": {"x": {"type": "stdio"}}}')
    with pytest.raises(ExtensionError, match=r"mcp_servers\.json is not valid"):
        McpServers(path=path)
    assert path.read_text() == '{"servers": {"x": {"type": "stdio"}}}'


async def test_probe_lists_the_tools_of_a_real_server() -> None:
    command, args = mcp_server.command()
    result = await probe(stdio(args=args, env={"X": "${MY_TOKEN}"}), environ=ENV)
    assert result.ok and result.server == "fake"
    assert {t.name for t in result.tools} == set(mcp_server.TOOLS)
    assert command == sys.executable


async def test_probe_explains_failures_without_secrets() -> None:
    _, args = mcp_server.command("--crash", "bad token tok-123456 refused")
    crashed = await probe(stdio(args=args, env={"X": "${MY_TOKEN}"}), environ=ENV)
    assert crashed.error is not None and "exited before answering" in crashed.error
    assert "bad token *** refused" in crashed.error and "tok-123456" not in crashed.error
    missing = await probe(stdio(env={"X": "${UNSET_VAR}"}), environ=ENV)
    assert missing.error == "Not set in Jobs' environment: UNSET_VAR."
    gone = await probe(StdioSpec(command="/no/such/server"), environ=ENV)
    assert gone.error is not None and "command was not found" in gone.error
    silent = stdio(args=["-c", "import sys; sys.stdin.read()"])  # reads, never answers
    slow = await probe(silent, environ=ENV, time_limit=0.5)
    assert slow.error is not None and "no answer within 0.5 s" in slow.error
    closed = await probe(UrlSpec(type="http", url="http://127.0.0.1:1/mcp"), environ=ENV)
    assert closed.error is not None and "could not reach the URL" in closed.error
