"""Fixtures for the browser service: its start script on free ports (service.py), a local test
page, and a Playwright MCP client. Tests marked `browser` skip only when Chromium or the pinned
@playwright/mcp (npm ci in browser/) is not installed."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.browser.service import BrowserService, chromium, needs_browser, running_service

PAGE_COLOUR = (255, 0, 255)  # the test page's background: easy to find in a screenshot
PAGE = b"""<!doctype html><html><head><title>Greeter</title></head>
<body style="background:#ff00ff;font-size:28px"><h1>Greeter</h1>
<label>Name <input id="name"></label>
<button onclick="fetch('/greet?name=' + encodeURIComponent(document.getElementById('name').value))
  .then(r => r.text()).then(t => { document.getElementById('out').textContent = t })">Greet</button>
<p id="out">nobody greeted yet</p><a href="/report.txt">Report</a></body></html>"""


@pytest.fixture(scope="package")
def browser_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserService]:
    """One running browser service shared by the package's tests."""
    with running_service(tmp_path_factory.mktemp("browser")) as service:
        yield service


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
async def playwright_mcp(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> AsyncIterator[ClientSession]:
    """A Playwright MCP client session on the pinned server, run with `args` in `cwd`."""
    _, command = needs_browser()
    params = StdioServerParameters(
        command=command[0], args=[*command[1:], "--no-webmcp", *args], cwd=str(cwd), env=env
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def cdp_env(service: BrowserService) -> dict[str, str]:
    """The server's environment for `service`: the proxy's token, as Jobs passes it."""
    return {"PLAYWRIGHT_MCP_CDP_HEADERS": f"Authorization: {service.auth['Authorization']}"}


def launch_args(output: Path) -> tuple[str, ...]:
    """A headless Chromium of the server's own (no service needed)."""
    binary = chromium() or "chromium"
    return (
        "--browser", "chromium", "--executable-path", binary, "--headless", "--isolated",
        "--no-sandbox", "--viewport-size", "1280x800", "--output-dir", str(output),
    )  # fmt: skip


def text_of(result: Any) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)
