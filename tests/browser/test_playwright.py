"""Jobs' one Playwright MCP server, with the real @playwright/mcp and Chromium: its pinned tool
list is what the installed server lists; it starts at the first browser call (not with a
session), stops when idle without closing the owner's pages, starts again with the new token
after the browser service restarts, and after it died."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.extensions.browser import BrowserConfig
from jobs.extensions.playwright import TOOLS_FILE
from jobs.tools.browser import BrowserTools
from jobs.tools.registry import ToolScope
from tests.browser.conftest import Site, text_of
from tests.browser.pinned_tools import live_tools
from tests.browser.service import (
    BrowserService,
    children,
    eventually,
    needs_browser,
    running_service,
)

pytestmark = pytest.mark.browser


def servers() -> list[int]:
    """Playwright MCP servers this test process started."""
    return [pid for pid in children(os.getpid()) if "playwright-mcp" in _cmdline(pid)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def _environ(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")


def tools_on(service: BrowserService, workspace: Path, idle_seconds: float = 300) -> BrowserTools:
    _, command = needs_browser()
    workspace.mkdir(exist_ok=True)
    config = BrowserConfig(
        cdp_url=service.cdp_url,
        mcp_command=command,
        output_dir=workspace / "browser",
        token_file=service.token_file,
    )
    return BrowserTools.over(config, workspace=workspace, idle_seconds=idle_seconds)


@pytest.fixture
def own_service(tmp_path: Path) -> Iterator[BrowserService]:
    """A browser service of this test's own, to stop and start."""
    with running_service(tmp_path / "svc") as service:
        yield service


async def test_the_pinned_tool_list_is_what_the_installed_server_lists() -> None:
    _, command = needs_browser()
    pinned = json.loads(TOOLS_FILE.read_text())
    assert await live_tools(command) == pinned, (
        "@playwright/mcp lists other tools than playwright_tools.json: after changing its "
        "version, run .venv/bin/python -m tests.browser.pinned_tools"
    )


async def test_started_at_the_first_call_and_stopped_when_idle_leaving_the_page_open(
    browser_service: BrowserService, site: Site, tmp_path: Path
) -> None:
    tools = tools_on(browser_service, tmp_path / "ws", idle_seconds=1)
    try:
        tools.server().build(ToolScope())  # what each session start does
        assert servers() == []
        opened = await tools.call("browser_navigate", {"url": site.url + "?kept"})
        assert not opened.is_error and "Page Title: Greeter" in text_of(opened)
        [first] = servers()
        await eventually(lambda: servers() == [], within=30, what="the idle server stopped")
        pages = json.loads(browser_service.get("/json/list"))
        assert any(page["url"] == site.url + "?kept" for page in pages)  # still on screen
        again = await tools.call("browser_snapshot", {})
        assert not again.is_error and "Greeter" in text_of(again)
        assert servers() not in ([], [first])
    finally:
        await tools.aclose()
    assert servers() == []


async def test_a_restarted_service_has_a_new_token_and_the_server_follows(
    own_service: BrowserService, site: Site, tmp_path: Path
) -> None:
    tools = tools_on(own_service, tmp_path / "ws")
    try:
        assert not (await tools.call("browser_navigate", {"url": site.url})).is_error
        token = own_service.token_file.read_text()
        own_service.stop()
        down = await tools.call("browser_snapshot", {})
        assert down.is_error and text_of(down).startswith("The browser is not available:")
        own_service.start()
        assert own_service.token_file.read_text() != token
        back = await tools.call("browser_navigate", {"url": site.url + "?back"})
        assert not back.is_error, text_of(back)
        assert len(servers()) == 1
    finally:
        await tools.aclose()


async def test_a_server_that_died_is_started_again(
    browser_service: BrowserService, site: Site, tmp_path: Path
) -> None:
    tools = tools_on(browser_service, tmp_path / "ws")
    try:
        assert not (await tools.call("browser_navigate", {"url": site.url})).is_error
        [server] = servers()
        os.kill(server, signal.SIGKILL)
        failed = await tools.call("browser_snapshot", {})
        assert failed.is_error and "the Playwright MCP server" in text_of(failed)
        assert "The next call starts it again" in text_of(failed)
        works = await tools.call("browser_snapshot", {})
        assert not works.is_error and "Greeter" in text_of(works)
    finally:
        await tools.aclose()


async def test_the_server_gets_neither_jobs_credentials_nor_the_token_on_its_command_line(
    browser_service: BrowserService, site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """browser_run_code_unsafe runs JavaScript in this process: it must hold nothing of Jobs'
    (the CLI used to start it with its own environment, Claude credentials included)."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-for-the-browser")
    monkeypatch.setenv("TG_API_HASH", "0123456789abcdef0123456789abcdef")
    tools = tools_on(browser_service, tmp_path / "ws")
    try:
        assert not (await tools.call("browser_navigate", {"url": site.url})).is_error
        [server] = servers()
        environ = _environ(server)
        token = browser_service.token_file.read_text().strip()
        assert not [v for v in environ if v.startswith(("ANTHROPIC_", "TG_", "CLAUDE"))]
        assert f"PLAYWRIGHT_MCP_CDP_HEADERS=Authorization: Bearer {token}" in environ
        assert token not in _cmdline(server)
    finally:
        await tools.aclose()
