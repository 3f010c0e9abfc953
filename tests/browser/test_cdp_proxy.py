"""browser/cdp_proxy.py as it runs (a python3 process): Jobs, with the token and an allowed
host name, gets through; /json replies point back at the proxy; websockets pass both ways. A
web page does not: no Origin, no foreign host name (DNS rebinding), no request without the
token. First against a stand-in that refuses what Chromium refuses, then the real Chromium."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.browser.cdp import WebSocket, http_get
from tests.browser.service import AUTH, TOKEN, BrowserService, free_port, run_proxy

AS_JOBS_SEES_IT = {"Host": "browser:9223", **AUTH}


class ChromiumLike:
    """Chromium's DevTools HTTP rules: Host must be an IP or localhost (else 500), no Origin
    (else 403), ws URLs built from Host, connections kept open, websockets echoed."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.heads: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                if not await self._answer(head.decode(), reader, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(
        self, head: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.heads.append(head)
        path = head.split(" ")[1]
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in head.split("\r\n")[1:] if line)
        }
        host = headers.get("host", "")
        self.hosts.append(host)
        if not (host.split(":")[0].replace(".", "").isdigit() or host.startswith("localhost")):
            return self._reply(writer, 500, "Host header is specified and is not an IP address")
        if "origin" in headers:
            return self._reply(writer, 403, "Rejected an incoming WebSocket connection")
        if headers.get("upgrade") == "websocket":
            writer.write(b"HTTP/1.1 101 WebSocket Protocol Handshake\r\n\r\n")
            while chunk := await reader.read(65536):
                writer.write(chunk)  # echo: the client reads its own (masked) frame back
            return False
        page = {
            "devtoolsFrontendUrl": f"/devtools/inspector.html?ws={host}/devtools/page/1",
            "webSocketDebuggerUrl": f"ws://{host}/devtools/page/1",
        }
        version = {
            "Browser": "Chrome/156",
            "webSocketDebuggerUrl": f"ws://{host}/devtools/browser/abc",
        }
        return self._reply(writer, 200, json.dumps(version if path == "/json/version" else [page]))

    @staticmethod
    def _reply(writer: asyncio.StreamWriter, status: int, body: str) -> bool:
        data = body.encode()
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length:{len(data)}\r\n\r\n".encode() + data)
        return True  # Chromium keeps the connection open after a reply


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[ChromiumLike, int]]:
    fake = ChromiumLike()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    async with server:
        yield fake, server.sockets[0].getsockname()[1]


@pytest.fixture
def proxy_log(tmp_path: Path) -> Path:
    return tmp_path / "proxy.log"


@pytest.fixture
def proxy_for(upstream: tuple[ChromiumLike, int], tmp_path: Path, proxy_log: Path) -> Iterator[int]:
    password = tmp_path / "novnc-password"
    password.write_text("s3cret-1\n")
    with run_proxy(
        "--upstream", f"127.0.0.1:{upstream[1]}", "--allow-host", "browser,jobs-browser.lan",
        "--novnc-port", "6080", "--novnc-password-file", str(password),
        log=proxy_log,
    ) as port:  # fmt: skip
        yield port


async def test_stand_in_refuses_what_chromium_refuses(upstream: tuple[ChromiumLike, int]) -> None:
    _, port = upstream
    assert (await http_get(port, "/json/version", {"Host": "browser:9223"}))[0] == 500
    headers = {"Host": "127.0.0.1", "Origin": "http://x"}
    assert (await http_get(port, "/json/version", headers))[0] == 403


async def test_json_replies_point_back_at_the_address_the_client_used(
    upstream: tuple[ChromiumLike, int], proxy_for: int
) -> None:
    fake, up_port = upstream
    status, body = await http_get(proxy_for, "/json/version", AS_JOBS_SEES_IT)
    assert status == 200
    assert json.loads(body)["webSocketDebuggerUrl"] == "ws://browser:9223/devtools/browser/abc"
    status, body = await http_get(proxy_for, "/json/list", AS_JOBS_SEES_IT)
    [page] = json.loads(body)
    assert page["webSocketDebuggerUrl"] == "ws://browser:9223/devtools/page/1"
    assert "ws=browser:9223/devtools/page/1" in page["devtoolsFrontendUrl"]
    assert fake.hosts == [f"127.0.0.1:{up_port}"] * 2  # Chromium only ever saw its own address
    assert not any(TOKEN in head for head in fake.heads)  # the token stops at the proxy


async def test_websocket_passes_both_ways(
    upstream: tuple[ChromiumLike, int], proxy_for: int
) -> None:
    ws = await WebSocket.connect(proxy_for, "/devtools/browser/abc", AS_JOBS_SEES_IT)
    try:
        await ws.send("x" * 300)  # an extended-length frame
        echoed = await ws.reader.readexactly(2 + 2 + 4 + 300)
        assert echoed[1] & 0x7F == 126 and len(echoed) == 308
    finally:
        await ws.close()


async def test_addresses_and_configured_host_names_are_let_in(proxy_for: int) -> None:
    for host in ("localhost:9223", "127.0.0.1:9223", "[::1]:9223", "LocalHost", "browser",
                 "jobs-browser.lan:9223", "192.168.1.5:9223", "[fd00::5]:9223"):  # fmt: skip
        status, _ = await http_get(proxy_for, "/json/version", {"Host": host, **AUTH})
        assert status == 200, host


async def test_a_host_name_not_configured_is_refused_dns_rebinding(
    upstream: tuple[ChromiumLike, int], proxy_for: int
) -> None:
    fake, _ = upstream
    # A page on attacker.example whose name now resolves to this machine: even with the
    # token (it cannot have it, but the host check alone must hold), nothing goes through.
    for host in ("attacker.example:9223", "browser.attacker.example", "", "1.2.3.4.nip.io"):
        status, body = await http_get(proxy_for, "/json/version", {"Host": host, **AUTH})
        assert status == 403 and b"is not allowed" in body, host
    with pytest.raises(ConnectionError, match="403"):
        await WebSocket.connect(
            proxy_for, "/devtools/browser/abc", {"Host": "attacker.example:9223", **AUTH}
        )
    assert fake.hosts == []


async def test_a_web_pages_request_with_an_origin_is_refused(
    upstream: tuple[ChromiumLike, int], proxy_for: int
) -> None:
    fake, _ = upstream
    # What a page's fetch() or new WebSocket() sends: an Origin, whatever else it guesses.
    page = {"Host": "localhost:9223", "Origin": "http://localhost:8000", **AUTH}
    status, body = await http_get(proxy_for, "/json/version", page)
    assert status == 403 and b"Origin" in body
    assert (await http_get(proxy_for, "/jobs-browser/novnc", page))[0] == 403
    with pytest.raises(ConnectionError, match="403"):
        await WebSocket.connect(proxy_for, "/devtools/browser/abc", page)
    assert fake.hosts == []


async def test_every_request_needs_the_token(
    upstream: tuple[ChromiumLike, int], proxy_for: int
) -> None:
    fake, _ = upstream
    # A page's <img src="http://localhost:9223/json/new?…"> is a GET with no Origin at all.
    for auth in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        headers = {"Host": "localhost:9223", **auth}
        for path in ("/json/version", "/json/new?http://evil.example", "/jobs-browser/novnc"):
            status, body = await http_get(proxy_for, path, headers)
            assert status == 401 and b"token" in body, (auth, path)
        with pytest.raises(ConnectionError, match="401"):
            await WebSocket.connect(proxy_for, "/devtools/browser/abc", headers)
    assert fake.hosts == []


async def test_novnc_info_goes_to_token_holders_only_and_a_browser_that_is_down(
    proxy_for: int,
) -> None:
    status, body = await http_get(proxy_for, "/jobs-browser/novnc", AS_JOBS_SEES_IT)
    assert (status, json.loads(body)) == (200, {"port": 6080, "password": "s3cret-1"})
    status, body = await http_get(proxy_for, "/jobs-browser/novnc", {"Host": "browser:9223"})
    assert status == 401 and b"s3cret-1" not in body
    with run_proxy("--upstream", f"127.0.0.1:{free_port()}") as port:
        status, body = await http_get(port, "/json/version", {"Host": "localhost", **AUTH})
        assert status == 502 and b"browser not reachable" in body
        assert (await http_get(port, "/jobs-browser/novnc", {"Host": "localhost", **AUTH}))[
            0
        ] == 404


async def test_the_token_is_never_in_the_proxys_log(
    upstream: tuple[ChromiumLike, int], proxy_for: int, proxy_log: Path
) -> None:
    await http_get(proxy_for, "/json/version", AS_JOBS_SEES_IT)
    await http_get(
        proxy_for, "/json/version", {"Host": "localhost", "Authorization": "Bearer " + TOKEN[:-1]}
    )
    await http_get(proxy_for, "/json/version", {"Host": "nope.example", **AUTH})
    log = proxy_log.read_text()  # noqa: ASYNC240 - written before each answer (line-buffered)
    assert "refused GET /json/version: no valid token" in log
    assert "refused GET /json/version: host name 'nope.example'" in log
    assert TOKEN[:8] not in log


@pytest.mark.browser
async def test_real_chromium_through_the_proxy(browser_service: BrowserService) -> None:
    port = int(browser_service.env["CDP_PROXY_PORT"])
    as_jobs = {"Host": f"localhost:{port}", **browser_service.auth}
    status, body = await http_get(port, "/json/version", as_jobs)
    version = json.loads(body)
    assert status == 200 and version["Browser"].startswith(("Chrome/", "HeadlessChrome/"))
    ws_url = version["webSocketDebuggerUrl"]
    assert ws_url.startswith(f"ws://localhost:{port}/devtools/browser/")
    ws = await WebSocket.connect(port, ws_url.removeprefix(f"ws://localhost:{port}"), as_jobs)
    try:
        reply = await ws.command("Browser.getVersion")
        assert reply["id"] == 1 and reply["result"]["product"] == version["Browser"]
    finally:
        await ws.close()
    refused = {
        "Host": f"localhost:{port}",
        "Origin": "http://localhost:8000",
        **browser_service.auth,
    }
    assert (await http_get(port, "/json/version", refused))[0] == 403
