"""The one @playwright/mcp process the owner's sessions share, and its pinned tool list.

Started at the first browser call rather than with each session (an idle owner costs no Node
process: ≈ 140 MiB), stopped after `idle_seconds` without a call, and started again when the
command or environment it would get changes (a restarted browser service has a new token).
Each Claude Code CLI used to start a server of its own; now Jobs' `browser` server (in-process,
tools/browser.py) passes every call to this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

import anyio
from claude_agent_sdk.types import McpStdioServerConfig
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, Tool

from jobs.errors import BrowserDown

TOOLS_FILE: Final = Path(__file__).with_name("playwright_tools.json")
"""The tools @playwright/mcp (PLAYWRIGHT_MCP_VERSION) lists with Jobs' arguments, kept so a
session can be offered them without starting the server; tests compare it with the live list."""
DEFAULT_IDLE_SECONDS: Final = 300.0
_STOP_SECONDS: Final = 10.0
_STDERR_TAIL: Final = 800

logger = logging.getLogger(__name__)


def pinned_tools() -> list[Tool]:
    """The tools of the pinned server, as it lists them."""
    return [Tool.model_validate(item) for item in json.loads(TOOLS_FILE.read_text("utf-8"))]


@dataclass(frozen=True, slots=True)
class Launch:
    """How the server is started; a change means a new process."""

    command: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    cwd: Path

    @classmethod
    def of(cls, config: McpStdioServerConfig, *, cwd: Path) -> Launch:
        env = tuple(sorted((config.get("env") or {}).items()))
        return cls(config["command"], tuple(config.get("args") or ()), env, cwd)


@dataclass
class _Child:
    """One started server: a task holds its stdio connection open until `stop` is set (the
    connection's cancel scopes must be entered and left in the same task)."""

    launch: Launch
    errlog: TextIO = field(default_factory=lambda: tempfile.TemporaryFile("w+", errors="replace"))  # noqa: SIM115 - closed when `hold` ends
    session: asyncio.Future[ClientSession] = field(default_factory=asyncio.Future)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def hold(self) -> None:
        params = StdioServerParameters(
            command=self.launch.command,
            args=list(self.launch.args),
            env=dict(self.launch.env),
            cwd=self.launch.cwd,
        )
        try:
            async with (
                stdio_client(params, errlog=self.errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                self.session.set_result(session)
                await self.stop.wait()
        except Exception as exc:  # noqa: BLE001 - whatever ended it, callers get BrowserDown
            if not self.session.done():
                self.session.set_exception(BrowserDown(self.failure(exc)))
            logger.info("Playwright MCP server ended: %s", exc)
        finally:
            if not self.session.done():
                self.session.set_exception(BrowserDown(self.failure(None)))
            self.errlog.close()

    def failure(self, exc: BaseException | None) -> str:
        """Why the server could not be used, with the end of what it printed."""
        tail = ""
        with contextlib.suppress(OSError, ValueError):
            self.errlog.seek(0)
            tail = self.errlog.read()[-_STDERR_TAIL:].strip()
        why = f"the Playwright MCP server ({self.launch.command}) stopped"
        if exc is not None:
            why += f": {_plain(exc)}"
        return f"{why}; its error output ends with: {tail}" if tail else why


def _plain(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _plain(exc.exceptions[0])
    return str(exc) or type(exc).__name__


class PlaywrightProcess:
    """Calls tools on the shared server, starting it when needed (see the module docstring)."""

    def __init__(
        self,
        *,
        launch: Callable[[], Launch],
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
    ) -> None:
        """`launch` is asked before every call: its answer may change (a new token)."""
        self._launch = launch
        self._idle_seconds = idle_seconds
        self._child: _Child | None = None
        self._starting = asyncio.Lock()
        self._calls = 0
        self._idle: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._child is not None and not self._child.stop.is_set()

    async def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        """The server's result; BrowserDown when the server cannot be started or stops
        answering (the next call starts a new one)."""
        self._calls += 1
        if self._idle is not None:
            self._idle.cancel()
        try:
            child = await self._current()
            session = await child.session
            try:
                return await session.call_tool(name, arguments)
            except (MCPError, anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
                await self._end(child)
                raise BrowserDown(child.failure(exc)) from exc
        finally:
            self._calls -= 1
            if self._calls == 0 and self._child is not None:
                self._idle = asyncio.create_task(self._stop_when_idle(), name="playwright-idle")

    async def _current(self) -> _Child:
        async with self._starting:
            launch = self._launch()
            child = self._child
            if child is not None and (
                child.launch != launch or child.task is None or child.task.done()
            ):
                logger.info("Starting the Playwright MCP server again (its settings changed)")
                await self._end(child)
                child = None
            if child is None:
                child = self._child = _Child(launch)
                child.task = asyncio.create_task(child.hold(), name="playwright-mcp")
            return child

    async def _stop_when_idle(self) -> None:
        await asyncio.sleep(self._idle_seconds)
        if self._calls == 0 and self._child is not None:
            logger.info(
                "Stopping the Playwright MCP server: no browser call for %gs", self._idle_seconds
            )
            await self._end(self._child)

    async def _end(self, child: _Child) -> None:
        if self._child is child:
            self._child = None
        child.stop.set()
        if child.task is not None:
            try:
                async with asyncio.timeout(_STOP_SECONDS):
                    await asyncio.shield(child.task)
            except TimeoutError:
                child.task.cancel()

    async def aclose(self) -> None:
        """Stop the server (if running) and its idle timer."""
        if self._idle is not None:
            self._idle.cancel()
            await asyncio.gather(self._idle, return_exceptions=True)
        if self._child is not None:
            await self._end(self._child)
