"""The browser service as Jobs sees it: its settings (BrowserConfig), where the pinned
Playwright MCP server and the start script are, the proxy's token, and how the MCP server is
started against the service."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from claude_agent_sdk.types import McpStdioServerConfig

PLAYWRIGHT_MCP_VERSION: Final = "0.0.83"
"""Pinned in browser/package.json (and its lock file); playwright_tools.json is taken from it."""
MAX_PHOTO_BYTES: Final = 10 * 1024 * 1024  # Telegram's limit for a photo
_IMAGE_MAGIC: Final = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_PROJECT_ROOT: Final = Path(__file__).resolve().parents[3]
_CDP_HEADERS_VAR: Final = "PLAYWRIGHT_MCP_CDP_HEADERS"


def browser_home() -> Path:
    """Where browser/start.sh keeps its state on a host by default (profile, downloads, the
    proxy's token): ${XDG_DATA_HOME:-~/.local/share}/jobs-browser, as start.sh computes it."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "jobs-browser"


def token_file(configured: Path | None) -> Path:
    """BROWSER_TOKEN_FILE, or where start.sh writes the token by default."""
    return configured or browser_home() / "cdp-token"


def downloads_dir(configured: Path | None) -> Path:
    """BROWSER_DOWNLOADS_DIR, or where start.sh points Chromium's downloads by default."""
    return configured or browser_home() / "downloads"


@dataclass(frozen=True, slots=True)
class BrowserConfig:
    """How sessions reach the browser service (from BROWSER_CDP_URL, BROWSER_TOKEN_FILE,
    NOVNC_URL, NOVNC_PASSWORD)."""

    cdp_url: str
    mcp_command: tuple[str, ...]
    """The pinned Playwright MCP server's command (find_playwright_mcp)."""
    output_dir: Path
    """Where screenshots and snapshots without a file name are written (in the workspace)."""
    token_file: Path | None = None
    """The CDP proxy's token, written by start.sh at each start; None: send no token (a bare
    Chromium, or a proxy of another make)."""
    novnc_url: str | None = None
    """The viewer's address as the owner opens it, e.g. http://my-server:6080."""
    novnc_password: str | None = None
    """Unset: asked of the CDP proxy, which knows the one the start script generated."""
    cdp_timeout_ms: int = 10_000

    def auth_headers(self) -> dict[str, str]:
        """The proxy's Authorization header, read now (a restarted service has a new token);
        empty when there is no token file."""
        token = read_token(self.token_file)
        return {"Authorization": f"Bearer {token}"} if token else {}


def read_token(path: Path | None) -> str | None:
    """The token in `path`, or None when there is no such (readable, non-empty) file."""
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


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


def start_command() -> str:
    """What starts the browser service here, as README says: `jobs browser` in a checkout,
    the compose service where Jobs runs from its image."""
    if start_script() is not None:
        return "`jobs browser`"
    return "`docker compose up -d browser`"


def playwright_mcp_config(config: BrowserConfig) -> McpStdioServerConfig:
    """The stdio server connected to the running browser over CDP. The token goes in its
    environment, never on its command line (which every local user can read)."""
    command, *args = config.mcp_command
    server: McpStdioServerConfig = {
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
    headers = config.auth_headers()
    if headers:
        server["env"] = {_CDP_HEADERS_VAR: f"Authorization: {headers['Authorization']}"}
    return server


@dataclass(frozen=True, slots=True)
class Download:
    path: Path
    size: int
    modified: datetime
    """UTC."""


def recent_downloads(folder: Path, *, limit: int) -> list[Download]:
    """The newest finished downloads in `folder` (Chromium's .crdownload files are unfinished)."""
    found: list[Download] = []
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            with contextlib.suppress(OSError):
                info = entry.stat()
                if entry.is_file() and entry.suffix != ".crdownload":
                    when = datetime.fromtimestamp(info.st_mtime, UTC)
                    found.append(Download(entry.resolve(), info.st_size, when))
    found.sort(key=lambda d: d.modified, reverse=True)
    return found[:limit]


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
