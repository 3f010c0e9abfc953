"""The owner's "browser" MCP server: Playwright's tools (the pinned list), served in-process by
Jobs and passed to the one shared @playwright/mcp process; while the browser is down a call
gets Jobs' own notice instead of Playwright's error.

Tool names stay `mcp__browser__browser_*`, as when each CLI ran the server itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from claude_agent_sdk.types import McpSdkServerConfig
from mcp.server.lowlevel import Server
from mcp.types import (
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
    Tool,
)

from jobs.errors import BrowserDown
from jobs.extensions.browser import PLAYWRIGHT_MCP_VERSION, BrowserConfig, playwright_mcp_config
from jobs.extensions.browser_health import BrowserHealth, down_notice
from jobs.extensions.playwright import (
    DEFAULT_IDLE_SECONDS,
    Launch,
    PlaywrightProcess,
    pinned_tools,
)
from jobs.tools.registry import ToolServer, qualified_name

SERVER_NAME: Final = "browser"
LOOKERS: Final = (
    "browser_snapshot",
    "browser_take_screenshot",
    "browser_find",
    "browser_console_messages",
    "browser_network_requests",
    "browser_network_request",
    "browser_wait_for",
    "browser_resize",
    "browser_close",
)
"""Tools that only look at the page (or close it): a tainted owner session may use them
without asking; they still taint it (a page is outside text). Whatever could make the page
send a request — navigate, click, type, hover, press a key, evaluate, open a tab, emulate
media — asks the owner in a tainted session."""
READ_ONLY_TOOLS: Final = frozenset(qualified_name(SERVER_NAME, name) for name in LOOKERS)
_ANSI: Final = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # Playwright colours its call logs


class BrowserTools:
    """Playwright's tools for every session that has the `browser` server, one process behind
    them all. Owns that process and the browser's health (`health`, for the owner's note)."""

    def __init__(
        self, *, playwright: PlaywrightProcess, health: BrowserHealth, tools: list[Tool]
    ) -> None:
        self._playwright = playwright
        self.health = health
        self._tools = tools

    @classmethod
    def over(
        cls, config: BrowserConfig, *, workspace: Path, idle_seconds: float = DEFAULT_IDLE_SECONDS
    ) -> BrowserTools:
        """The tools on the service `config` names; files a tool names without a folder (a
        screenshot's filename) go to `workspace`."""
        playwright = PlaywrightProcess(
            launch=lambda: Launch.of(playwright_mcp_config(config), cwd=workspace),
            idle_seconds=idle_seconds,
        )
        return cls(playwright=playwright, health=BrowserHealth(config=config), tools=pinned_tools())

    def server(self) -> ToolServer:
        """The registry entry; each session gets an MCP server object of its own, all of them
        calling through this one."""
        return ToolServer(
            name=SERVER_NAME,
            tools=frozenset(tool.name for tool in self._tools),
            build=lambda _person: McpSdkServerConfig(
                type="sdk", name=SERVER_NAME, instance=self._mcp_server()
            ),
        )

    async def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        """Playwright's result, or Jobs' notice when the browser is down (checked before the
        call when the last check found it down, and again whenever a call fails)."""
        if (problem := await self.health.problem()) is not None:
            return _error(down_notice(problem))
        try:
            result = await self._playwright.call(name, arguments)
        except BrowserDown as exc:
            problem = await self.health.recheck()
            return _error(
                down_notice(problem) if problem else f"{exc}. The next call starts it again."
            )
        if result.is_error and (problem := await self.health.recheck()) is not None:
            return _error(down_notice(problem))
        return _without_colours(result)

    async def aclose(self) -> None:
        await self._playwright.aclose()

    def _mcp_server(self) -> Server[Any]:
        async def list_tools(_ctx: Any, _params: PaginatedRequestParams | None) -> ListToolsResult:
            return ListToolsResult(tools=self._tools)

        async def call_tool(_ctx: Any, params: CallToolRequestParams) -> CallToolResult:
            return await self.call(params.name, dict(params.arguments or {}))

        return Server(
            SERVER_NAME,
            version=PLAYWRIGHT_MCP_VERSION,
            on_list_tools=list_tools,
            on_call_tool=call_tool,
        )


def _error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def _without_colours(result: CallToolResult) -> CallToolResult:
    if not any(isinstance(part, TextContent) and "\x1b" in part.text for part in result.content):
        return result
    content = [
        part.model_copy(update={"text": _ANSI.sub("", part.text)})
        if isinstance(part, TextContent)
        else part
        for part in result.content
    ]
    return result.model_copy(update={"content": content})
