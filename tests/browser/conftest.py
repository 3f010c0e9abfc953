"""Fixtures for the browser service: its start script on free ports, a local test page, and a
Playwright MCP client. Tests marked `browser` skip only when Chromium or the pinned
@playwright/mcp (npm ci in browser/) is not installed."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from jobs.extensions.browser import find_playwright_mcp

ROOT = Path(__file__).resolve().parents[2]
START = ROOT / "browser" / "start.sh"
PROXY = ROOT / "browser" / "cdp_proxy.py"
PAGE_COLOUR = (255, 0, 255)  # the test page's background: easy to find in a screenshot
PAGE = b"""<!doctype html><html><head><title>Greeter</title></head>
<body style="background:#ff00ff;font-size:28px"><h1>Greeter</h1>
<label>Name <input id="name"></label>
<button onclick="fetch('/greet?name=' + encodeURIComponent(document.getElementById('name').value))
  .then(r => r.text()).then(t => { document.getElementById('out').textContent = t })">Greet</button>
<p id="out">nobody greeted yet</p><a href="/report.txt">Report</a></body></html>"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


def needs_browser() -> tuple[str, tuple[str, ...]]:
    """Chromium's path and the MCP server's command, or skip saying what to install."""
    binary = chromium()
    if binary is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    command = find_playwright_mcp()
    if command is None or shutil.which("node") is None:
        pytest.skip("@playwright/mcp is not installed (npm ci in browser/)")
    return binary, command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_display() -> str:
    for _ in range(100):
        n = random.randint(100, 900)
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return f":{n}"
    raise RuntimeError("no free X display number")


@contextmanager
def run_proxy(*args: str) -> Iterator[int]:
    """browser/cdp_proxy.py (as the start script runs it) on a free port, until the end."""
    port = free_port()
    proxy = subprocess.Popen(
        [sys.executable, str(PROXY), "--listen", f"127.0.0.1:{port}", *args],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert proxy.poll() is None and time.monotonic() < deadline, "proxy not up"
                time.sleep(0.05)
        yield port
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)


@dataclass
class BrowserService:
    """browser/start.sh running on free ports with its own profile and downloads dirs."""

    home: Path
    env: dict[str, str]
    prefix: tuple[str, ...] = ()
    """Runs the script under this command (setpriv: as another user)."""
    process: subprocess.Popen[str] | None = None
    lines: list[str] = field(default_factory=list)
    drainer: threading.Thread | None = None

    @classmethod
    def on(cls, home: Path, **extra: str) -> BrowserService:
        env = {
            **os.environ,
            "BROWSER_DISPLAY": free_display(),
            "BROWSER_PROFILE_DIR": str(home / "profile"),
            "BROWSER_DOWNLOADS_DIR": str(home / "downloads"),
            "CDP_PORT": str(free_port()),
            "CDP_PROXY_PORT": str(free_port()),
            "VNC_PORT": str(free_port()),
            "NOVNC_PORT": str(free_port()),
            "TMPDIR": str(home),
            **extra,
        }
        return cls(home=home, env=env)

    @property
    def cdp_url(self) -> str:
        return f"http://127.0.0.1:{self.env['CDP_PROXY_PORT']}"

    @property
    def novnc_port(self) -> int:
        return int(self.env["NOVNC_PORT"])

    @property
    def password(self) -> str:
        return (self.home / "profile" / ".novnc-password").read_text().strip()

    def viewer_url(self) -> str:
        query = urllib.parse.urlencode({"autoconnect": 1, "password": self.password})
        return f"http://127.0.0.1:{self.novnc_port}/vnc.html?{query}"

    def start(self, timeout: float = 60) -> BrowserService:
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [*self.prefix, "bash", str(START)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if "viewer:" in line:
                self.drainer = threading.Thread(target=self._drain, daemon=True)
                self.drainer.start()
                return self
        self.stop()
        raise RuntimeError("start.sh did not get ready:\n" + "".join(self.lines))

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        """`start.sh health` or `start.sh link` with this service's settings."""
        return subprocess.run(
            ["bash", str(START), command], env=self.env, capture_output=True, text=True, timeout=30
        )

    def stop(self) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        if self.drainer is not None:
            self.drainer.join(timeout=10)  # it ends at EOF, once the script's output closes
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code


@pytest.fixture(scope="package")
def browser_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserService]:
    """One running browser service shared by the package's tests."""
    needs_browser()
    service = BrowserService.on(tmp_path_factory.mktemp("browser"))
    try:
        yield service.start()
    finally:
        service.stop()


@dataclass
class Site:
    url: str
    greeted: list[str]


@pytest.fixture
def site() -> Iterator[Site]:
    """A page on 127.0.0.1 with a name field and a Greet button; /greet records the name."""
    greeted: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            body = PAGE
            if url.path == "/report.txt":
                body = b"quarterly numbers\n"
                self.send_response(200)
                self.send_header("Content-Disposition", 'attachment; filename="report.txt"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if url.path == "/greet":
                name = urllib.parse.parse_qs(url.query).get("name", [""])[0]
                greeted.append(name)
                body = f"Hello, {name}!".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield Site(url=f"http://127.0.0.1:{server.server_address[1]}/", greeted=greeted)
    server.shutdown()
    server.server_close()
    thread.join()


@asynccontextmanager
async def playwright_mcp(*args: str, cwd: Path) -> AsyncIterator[ClientSession]:
    """A Playwright MCP client session on the pinned server, run with `args` in `cwd`."""
    _, command = needs_browser()
    params = StdioServerParameters(
        command=command[0], args=[*command[1:], "--no-webmcp", *args], cwd=str(cwd)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def launch_args(output: Path) -> tuple[str, ...]:
    """A headless Chromium of the server's own (no service needed)."""
    binary = chromium() or "chromium"
    return (
        "--browser", "chromium", "--executable-path", binary, "--headless", "--isolated",
        "--no-sandbox", "--viewport-size", "1280x800", "--output-dir", str(output),
    )  # fmt: skip


def text_of(result: Any) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)
