"""The browser feature's pure parts: the MCP server config (the token in its environment, not
its arguments), finding the pinned server, the viewer link, and the registry entry."""

from __future__ import annotations

import json
from pathlib import Path

from jobs.extensions.browser import (
    PLAYWRIGHT_MCP_VERSION,
    BrowserConfig,
    find_playwright_mcp,
    playwright_mcp_config,
    start_script,
)
from jobs.extensions.browser_viewer import novnc_link, reachable_from_outside
from jobs.extensions.playwright import pinned_tools
from jobs.tools.browser import SERVER_NAME, BrowserTools
from jobs.tools.registry import ToolScope

ROOT = Path(__file__).resolve().parents[3]
CONFIG = BrowserConfig(
    cdp_url="http://browser:9223",
    mcp_command=("/app/browser/node_modules/.bin/playwright-mcp",),
    output_dir=Path("/ws/browser"),
)


def test_config_connects_over_cdp_and_refuses_page_tools() -> None:
    config = playwright_mcp_config(CONFIG)
    assert config["type"] == "stdio"
    assert config["command"] == "/app/browser/node_modules/.bin/playwright-mcp"
    args = config["args"]
    assert args[args.index("--cdp-endpoint") + 1] == "http://browser:9223"
    assert args[args.index("--output-dir") + 1] == "/ws/browser"
    assert args[args.index("--cdp-timeout") + 1] == "10000"
    assert "--no-webmcp" in args
    assert "env" not in config  # no token file: nothing to send


def test_the_token_goes_in_the_environment_read_at_each_start(tmp_path: Path) -> None:
    token = tmp_path / "cdp-token"
    token.write_text("first-token\n")
    config = BrowserConfig(
        cdp_url="http://browser:9223", mcp_command=("pw",), output_dir=tmp_path, token_file=token
    )
    first = playwright_mcp_config(config)
    assert first.get("env") == {"PLAYWRIGHT_MCP_CDP_HEADERS": "Authorization: Bearer first-token"}
    assert not any("first-token" in arg for arg in first["args"])  # ps shows arguments
    token.write_text("second-token\n")  # the service started again
    assert "second-token" in str(playwright_mcp_config(config).get("env"))


def test_a_command_with_arguments_keeps_them_first() -> None:
    config = playwright_mcp_config(
        BrowserConfig(cdp_url="http://h:1", mcp_command=("node", "cli.js"), output_dir=Path("o"))
    )
    assert config["command"] == "node" and config["args"][:2] == ["cli.js", "--cdp-endpoint"]


def test_registry_entry_declares_the_pinned_tools(tmp_path: Path) -> None:
    server = BrowserTools.over(CONFIG, workspace=tmp_path).server()
    assert server.name == SERVER_NAME == "browser"
    assert server.tools == {tool.name for tool in pinned_tools()} and len(server.tools) == 25
    wanted = {
        "browser_navigate", "browser_snapshot", "browser_click", "browser_type",
        "browser_fill_form", "browser_select_option", "browser_hover", "browser_press_key",
        "browser_take_screenshot", "browser_evaluate", "browser_wait_for", "browser_tabs",
        "browser_handle_dialog",
    }  # fmt: skip
    assert wanted <= server.tools
    built, other = server.build(ToolScope()), server.build(ToolScope(person_id=42))
    assert built["type"] == "sdk" and other["type"] == "sdk"  # Jobs' own, in-process
    assert built["name"] == "browser" and other["instance"] is not built["instance"]


def test_pinned_version_matches_package_json_and_lock() -> None:
    package = json.loads((ROOT / "browser" / "package.json").read_text())
    assert package["dependencies"]["@playwright/mcp"] == PLAYWRIGHT_MCP_VERSION
    lock = json.loads((ROOT / "browser" / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@playwright/mcp"]["version"] == PLAYWRIGHT_MCP_VERSION


def test_finds_the_project_local_server_first(tmp_path: Path) -> None:
    assert find_playwright_mcp(tmp_path / "nowhere") in (None, find_playwright_mcp(tmp_path))
    local = tmp_path / "browser" / "node_modules" / ".bin" / "playwright-mcp"
    local.parent.mkdir(parents=True)
    local.write_text("#!/bin/sh\n")
    assert find_playwright_mcp(tmp_path) == (str(local),)


def test_start_script_is_found_in_a_checkout(tmp_path: Path) -> None:
    assert start_script() == ROOT / "browser" / "start.sh"
    assert start_script(tmp_path) is None


def test_novnc_link_percent_encodes_every_character_of_the_password() -> None:
    assert novnc_link("http://vps.example:6080/", "a&b cé") == (
        "http://vps.example:6080/vnc.html?autoconnect=1&resize=scale&password=%61%26%62%20%63%C3%A9"
    )


def test_service_names_are_not_reachable_from_a_phone() -> None:
    assert not reachable_from_outside("http://browser:6080")
    for url in ("http://127.0.0.1:6080", "http://localhost:6080", "http://vps.example.org:6080"):
        assert reachable_from_outside(url)
