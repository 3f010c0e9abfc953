"""An owner turn drives the real browser: the scripted model calls the real @playwright/mcp,
connected over CDP (through the proxy) to the Chromium of browser/start.sh; then a headless
browser opens the noVNC viewer and sees that same page on the remote desktop."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from jobs.extensions.browser import BrowserConfig
from jobs.extensions.playwright import pinned_tools
from jobs.sessions import OWNER, SessionManager
from jobs.sessions.keys import OWNER_KEY
from jobs.storage import Database
from jobs.tools import ToolServers
from jobs.tools.browser import BrowserTools
from jobs.tools.browser_admin import ADMIN_SERVER_NAME, BrowserAdminTools
from tests.browser.conftest import (
    PAGE_COLOUR,
    Site,
    cdp_env,
    launch_args,
    playwright_mcp,
    text_of,
)
from tests.browser.png import share_of
from tests.browser.service import BrowserService, needs_browser
from tests.fakes.anthropic import Call, FakeAnthropic, Turn, text, tool_use
from tests.session_stack import session_manager

pytestmark = pytest.mark.browser

# The owner's role once "browser_admin" is among OWNER_SERVERS (a no-op from then on).
ROLE = replace(OWNER, servers=tuple(dict.fromkeys((*OWNER.servers, ADMIN_SERVER_NAME))))


@dataclass
class Owner:
    manager: SessionManager
    workspace: Path
    sent: list[tuple[str, Path | None]] = field(default_factory=list)


@pytest.fixture
async def owner(
    tmp_path: Path, claude_env: dict[str, str], browser_service: BrowserService
) -> AsyncIterator[Owner]:
    _, command = needs_browser()
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    config = BrowserConfig(
        cdp_url=browser_service.cdp_url,
        mcp_command=command,
        output_dir=workspace / "browser",
        token_file=browser_service.token_file,
    )
    browser = BrowserTools.over(config, workspace=workspace)
    sent: list[tuple[str, Path | None]] = []

    async def to_owner(text: str, photo: Path | None) -> None:
        sent.append((text, photo))

    admin = BrowserAdminTools(config=config, to_owner=to_owner, workspace=workspace)
    db = await Database.open(tmp_path / "data" / "db.sqlite")
    manager = session_manager(
        db,
        root=tmp_path,
        env=claude_env,
        workspace=workspace,
        tools=ToolServers([browser.server(), admin.server()]),
    )
    try:
        yield Owner(manager=manager, workspace=workspace, sent=sent)
    finally:
        await manager.aclose()
        await browser.aclose()
        await db.close()


def results(call: Call) -> str:
    """The text of the tool results the model got back in this call."""
    parts: list[str] = []
    for block in call.tool_results:
        content: Any = block.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [c.get("text", "") for c in content if isinstance(c, dict)]
    return "\n".join(parts)


async def test_owner_turn_fills_a_form_and_sees_the_result(
    owner: Owner, fake_model: FakeAnthropic, site: Site
) -> None:
    refs: dict[str, str] = {}

    def type_name(call: Call) -> Turn:
        snapshot = results(call)
        refs["name"] = re.findall(r'textbox "Name" \[ref=(\w+)\]', snapshot)[0]
        refs["greet"] = re.findall(r'button "Greet" \[ref=(\w+)\]', snapshot)[0]
        return tool_use(
            "mcp__browser__browser_type",
            {"target": refs["name"], "element": "Name field", "text": "Ada"},
        )

    fake_model.push(
        tool_use("mcp__browser__browser_navigate", {"url": site.url}),
        tool_use("mcp__browser__browser_snapshot"),
        type_name,
        lambda _call: tool_use(
            "mcp__browser__browser_click", {"target": refs["greet"], "element": "Greet button"}
        ),
        tool_use("mcp__browser__browser_wait_for", {"text": "Hello, Ada!"}),
        tool_use("mcp__browser__browser_take_screenshot", {"filename": "greeted.png"}),
        tool_use("mcp__browser_admin__send_screenshot", {"path": "greeted.png", "caption": "Done"}),
        text("The page now says: Hello, Ada!"),
    )
    reply = await owner.manager.run_turn(OWNER_KEY, ROLE, "Greet Ada on the test page.")

    assert reply.text == "The page now says: Hello, Ada!"
    calls = fake_model.calls
    offered = {t for t in calls[0].offered_tools if t.startswith("mcp__browser__")}
    assert offered == {f"mcp__browser__{tool.name}" for tool in pinned_tools()}
    assert "Page Title: Greeter" in results(calls[1])
    assert site.greeted == ["Ada"]  # the click reached the page's server with the typed name
    assert "Hello, Ada!" in results(calls[5])  # wait_for saw the page's answer
    assert "Sent greeted.png to the owner as a photo." in results(calls[7])
    [(caption, photo)] = owner.sent
    assert caption == "Done" and photo == (owner.workspace / "greeted.png").resolve()
    assert share_of(photo, PAGE_COLOUR) > 0.5


async def test_novnc_viewer_shows_the_page_on_the_remote_desktop(
    browser_service: BrowserService, site: Site, tmp_path: Path
) -> None:
    async with playwright_mcp(
        "--cdp-endpoint", browser_service.cdp_url, cwd=tmp_path, env=cdp_env(browser_service)
    ) as cdp:
        shown = await cdp.call_tool("browser_navigate", {"url": site.url + "?watched"})
        assert "Page Title: Greeter" in text_of(shown)
    async with playwright_mcp(*launch_args(tmp_path / "out"), cwd=tmp_path) as viewer:
        await viewer.call_tool("browser_resize", {"width": 800, "height": 500})
        opened = await viewer.call_tool("browser_navigate", {"url": browser_service.viewer_url()})
        assert "noVNC" in text_of(opened)
        share = 0.0
        for attempt in range(20):  # the first frames can be partly stale: wait for the page
            shot = tmp_path / f"viewer-{attempt}.png"
            await viewer.call_tool("browser_take_screenshot", {"filename": shot.name})
            share = share_of(shot, PAGE_COLOUR)
            if share > 0.5:
                break
            await asyncio.sleep(1)
    assert share > 0.5, f"the page's colour covers {share:.0%} of {shot}"


async def test_downloads_land_in_the_downloads_dir(
    browser_service: BrowserService, site: Site, tmp_path: Path
) -> None:
    saved = browser_service.home / "downloads" / "report.txt"
    async with playwright_mcp(
        "--cdp-endpoint", browser_service.cdp_url, cwd=tmp_path, env=cdp_env(browser_service)
    ) as cdp:
        await cdp.call_tool("browser_navigate", {"url": site.url})
        clicked = await cdp.call_tool("browser_click", {"target": "a", "element": "Report link"})
        assert not clicked.is_error, text_of(clicked)
        for _ in range(100):
            if saved.exists() and saved.read_bytes() == b"quarterly numbers\n":
                break
            await asyncio.sleep(0.1)
    assert saved.read_bytes() == b"quarterly numbers\n"
