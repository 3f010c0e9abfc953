"""The browser service as Jobs sees it: the pinned Playwright MCP server's config (over CDP),
the CDP health check, the noVNC viewer link, and which files can go to the owner as photos."""

from __future__ import annotations

import ipaddress
import shutil
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
from claude_agent_sdk.types import McpStdioServerConfig

PLAYWRIGHT_MCP_VERSION: Final = "0.0.83"
"""Pinned in browser/package.json (and its lock file); PLAYWRIGHT_TOOLS is measured on it."""
PLAYWRIGHT_TOOLS: Final = (
    "browser_click", "browser_close", "browser_console_messages", "browser_drag",
    "browser_drop", "browser_emulate_media", "browser_evaluate", "browser_file_upload",
    "browser_fill_form", "browser_find", "browser_handle_dialog", "browser_hover",
    "browser_navigate", "browser_navigate_back", "browser_network_request",
    "browser_network_requests", "browser_press_key", "browser_resize",
    "browser_run_code_unsafe", "browser_select_option", "browser_snapshot", "browser_tabs",
    "browser_take_screenshot", "browser_type", "browser_wait_for",
)  # fmt: skip
"""The tools @playwright/mcp 0.0.83 lists in the init message, with or without a browser."""
NOVNC_INFO_PATH: Final = "/jobs-browser/novnc"
"""Answered by browser/cdp_proxy.py: {"port": noVNC port, "password": its password}."""
DEFAULT_NOVNC_PORT: Final = 6080
MAX_PHOTO_BYTES: Final = 10 * 1024 * 1024  # Telegram's limit for a photo
_IMAGE_MAGIC: Final = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_PROJECT_ROOT: Final = Path(__file__).resolve().parents[3]


@dataclass(frozen=True, slots=True)
class BrowserConfig:
    """How sessions reach the browser service (from BROWSER_CDP_URL, NOVNC_URL, NOVNC_PASSWORD)."""

    cdp_url: str
    mcp_command: tuple[str, ...]
    """The pinned Playwright MCP server's command (find_playwright_mcp)."""
    output_dir: Path
    """Where screenshots and snapshots without a file name are written (in the workspace)."""
    novnc_url: str | None = None
    """The viewer's address as the owner opens it, e.g. http://my-server:6080."""
    novnc_password: str | None = None
    """Unset: asked of the CDP proxy, which knows the one the start script generated."""
    cdp_timeout_ms: int = 10_000


def find_playwright_mcp(project_root: Path = _PROJECT_ROOT) -> tuple[str, ...] | None:
    """The command of the pinned server: browser/node_modules (after `npm ci` in browser/),
    else `playwright-mcp` on PATH (the Docker image puts it there); None if neither exists."""
    local = project_root / "browser" / "node_modules" / ".bin" / "playwright-mcp"
    if local.exists():
        return (str(local),)
    found = shutil.which("playwright-mcp")
    return (found,) if found else None


def start_script(project_root: Path = _PROJECT_ROOT) -> Path | None:
    """browser/start.sh of this checkout, for `jobs browser` on a host without Docker (the
    jobs image has no such script: there the browser is a service of its own)."""
    script = project_root / "browser" / "start.sh"
    return script if script.is_file() else None


def playwright_mcp_config(config: BrowserConfig) -> McpStdioServerConfig:
    """The stdio server connected to the running browser over CDP."""
    command, *args = config.mcp_command
    return {
        "type": "stdio",
        "command": command,
        "args": [
            *args,
            "--cdp-endpoint", config.cdp_url,
            "--cdp-timeout", str(config.cdp_timeout_ms),
            "--output-dir", str(config.output_dir),
            # A page must not add tools to the owner's session (WebMCP): they would be
            # undeclared, and a web page would choose what the model can call.
            "--no-webmcp",
        ],
    }  # fmt: skip


async def cdp_health(url: str, *, seconds: float = 3.0) -> str | None:
    """None when Chromium's DevTools endpoint answers at `url`; else what is wrong, plainly."""
    version_url = url.rstrip("/") + "/json/version"
    try:
        async with httpx.AsyncClient(timeout=seconds, trust_env=False) as client:
            reply = await client.get(version_url)
    except httpx.TimeoutException:
        return f"the browser at {url} did not answer within {seconds:g} s"
    except httpx.HTTPError as exc:
        return f"nothing answers at {url} ({_reason(exc)}): the browser service is not running"
    if reply.status_code != 200:
        return f"the browser at {url} answered HTTP {reply.status_code}: {reply.text[:200]}"
    try:
        ws_url = reply.json().get("webSocketDebuggerUrl")
    except ValueError:
        ws_url = None
    if not ws_url:
        return f"{url} answered, but not as Chromium's DevTools endpoint"
    return None


def _reason(exc: httpx.HTTPError) -> str:
    cause = exc.__cause__ or exc
    return str(cause).split("] ")[-1] or type(exc).__name__


class BrowserHealth:
    """The owner-visible note while the browser is down, checked at most every `ttl` seconds
    (so each owner turn can ask without waiting on the network)."""

    def __init__(
        self,
        *,
        cdp_url: str,
        ttl: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = cdp_url
        self._ttl = ttl
        self._monotonic = monotonic
        self._checked_at: float | None = None
        self._problem: str | None = None

    async def problem(self) -> str | None:
        """What is wrong with the browser now (cached for `ttl`), None when it is up."""
        now = self._monotonic()
        if self._checked_at is None or now - self._checked_at >= self._ttl:
            self._problem = await cdp_health(self._url)
            self._checked_at = now
        return self._problem

    async def owner_note(self) -> str | None:
        """A line to put before the owner's message while the browser is down."""
        problem = await self.problem()
        if problem is None:
            return None
        return (
            f"[Jobs: the browser is unavailable: {problem}. The browser_* tools will fail "
            "until it is back. If this message needs the browser, tell the owner so plainly "
            "and that `docker compose up -d browser` (or browser/start.sh) starts it.]"
        )


async def novnc_info(cdp_url: str, *, seconds: float = 3.0) -> tuple[int, str] | None:
    """The noVNC port and password, as the CDP proxy reports them; None if it does not."""
    try:
        async with httpx.AsyncClient(timeout=seconds, trust_env=False) as client:
            reply = await client.get(cdp_url.rstrip("/") + NOVNC_INFO_PATH)
            data = reply.json() if reply.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return None
    port, password = data.get("port"), data.get("password")
    if isinstance(port, int) and isinstance(password, str) and password:
        return port, password
    return None


def novnc_link(base_url: str, password: str) -> str:
    """The viewer page that connects at once, scaled to the screen it is opened on."""
    query = urllib.parse.urlencode({"autoconnect": "1", "resize": "scale", "password": password})
    return f"{base_url.rstrip('/')}/vnc.html?{query}"


def reachable_from_outside(url: str) -> bool:
    """False for a compose service name (`browser`) the owner's phone cannot resolve."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "." in host or host == "localhost"
    return True


@dataclass(frozen=True, slots=True)
class ViewerLink:
    url: str
    """The noVNC page with its password."""
    internal_host: bool
    """True when the host is the browser's internal name: the owner should set NOVNC_URL."""


async def viewer_link(config: BrowserConfig) -> ViewerLink | str:
    """The viewer link (password from NOVNC_PASSWORD, else from the CDP proxy), or why not."""
    configured = config.novnc_url and config.novnc_password
    info = None if configured else await novnc_info(config.cdp_url)
    password = config.novnc_password or (info[1] if info else None)
    if password is None:
        problem = await cdp_health(config.cdp_url)
        return problem or "the browser did not say what the noVNC password is"
    base = config.novnc_url or _guess_novnc_url(config.cdp_url, info)
    return ViewerLink(
        url=novnc_link(base, password),
        internal_host=not config.novnc_url and not reachable_from_outside(base),
    )


def _guess_novnc_url(cdp_url: str, info: tuple[int, str] | None) -> str:
    host = urllib.parse.urlsplit(cdp_url).hostname or "localhost"
    port = info[0] if info else DEFAULT_NOVNC_PORT
    return f"http://{host}:{port}"


def photo_file(raw_path: str, workspace: Path) -> Path | str:
    """The image file to send (absolute), or why `raw_path` cannot be sent as a photo."""
    path = Path(raw_path).expanduser()
    if not path.is_absolute():
        path = workspace / path
    if not path.exists():
        return f"No file at {path}. Take the screenshot with a filename, then give that path."
    if not path.is_file():
        return f"{path} is not a file."
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        return f"Cannot read {path}: {exc.strerror}."
    if size > MAX_PHOTO_BYTES:
        return f"{path.name} is {size // 1024} KiB; a photo may be at most 10 MB."
    if not head.startswith(_IMAGE_MAGIC):
        return f"{path.name} is not a PNG or JPEG image."
    return path.resolve()
