#!/usr/bin/env python3
"""CDP proxy: lets other hosts (the jobs container) drive Chromium's DevTools port.

Chromium's DevTools server listens on 127.0.0.1 only, answers HTTP 500 to a Host header that
is a name (`Host: browser:9223`) and builds the websocket URLs in its /json replies from the
Host header it got. So this proxy forwards each request with Host set to the upstream address,
and in /json* replies puts the address the client used back into the URLs. Websocket upgrades
are piped both ways as is.

Whoever gets through controls the owner's logged-in browser, so before forwarding anything it
refuses (the reasons Chromium has its own rules, kept here for names Chromium never sees):
- a Host that is neither an IP address nor one of the allowed names (DNS rebinding: a page
  on evil.example whose name now resolves to this machine sends `Host: evil.example`);
- any request with an Origin header (a web page's fetch or websocket; Jobs sends none);
- a request without `Authorization: Bearer <token>`, the token start.sh makes at each start
  and writes to a file only Jobs can read (a page's <img> or form sends no Origin on a GET).

It also answers GET /jobs-browser/novnc with the noVNC port and password (to token holders
only), so Jobs can hand the owner the viewer link.

Standard library only (it runs on the browser image's system python3):
    cdp_proxy.py --listen 0.0.0.0:9223 --upstream 127.0.0.1:9222 --token-file FILE \
                 [--allow-host browser]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import re
import signal
from pathlib import Path

HEAD_LIMIT = 64 * 1024
NOVNC_PATH = "/jobs-browser/novnc"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_HOST = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._\-]+))(?::[0-9]{1,5})?$")

logger = logging.getLogger("cdp_proxy")


class Proxy:
    """One listening socket; every client connection is handled on its own task."""

    def __init__(
        self,
        *,
        upstream: tuple[str, int],
        token: str,
        allowed_hosts: tuple[str, ...] = LOOPBACK_NAMES,
        novnc_port: int | None = None,
        novnc_password_file: Path | None = None,
    ) -> None:
        self.upstream = upstream
        self.upstream_authority = f"{upstream[0]}:{upstream[1]}"
        self.expected_auth = f"Bearer {token}".encode()
        self.allowed_hosts = frozenset(name.lower() for name in allowed_hosts)
        self.novnc_port = novnc_port
        self.novnc_password_file = novnc_password_file

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            await self._serve(head, reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # the client went away or sent no valid request head: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        request_line, headers = parse_head(head)
        parts = request_line.split(" ")
        if len(parts) != 3:
            await respond(writer, 400, b"bad request line\n")
            return
        method, path, _version = parts
        refusal = self.refusal(headers)
        if refusal is not None:
            status, why = refusal
            logger.info("refused %s %s: %s", method, path.split("?")[0][:100], why)
            await respond(writer, status, f"{why}\n".encode())
            return
        if method == "GET" and path == NOVNC_PATH:
            await self._novnc_info(writer)
            return
        client_host = headers["host"]
        upgrade = headers.get("upgrade", "").lower() == "websocket"
        forwarded = build_head(request_line, headers, self.upstream_authority, keep_alive=upgrade)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError as exc:
            await respond(writer, 502, f"browser not reachable: {exc}\n".encode())
            return
        try:
            up_writer.write(forwarded)
            await up_writer.drain()
            if upgrade:
                await pipe_both(reader, writer, up_reader, up_writer)
                return
            reply = await read_reply(up_reader)
            # Only /json replies carry URLs; every reply gets Connection: close (one request
            # per connection keeps the Host rewrite on every request).
            seen_as = client_host if path.startswith("/json") else self.upstream_authority
            writer.write(rewrite_reply(reply, self.upstream_authority, seen_as))
            await writer.drain()
        finally:
            up_writer.close()
            with contextlib.suppress(ConnectionError):
                await up_writer.wait_closed()

    def refusal(self, headers: dict[str, str]) -> tuple[int, str] | None:
        """Why this request may not reach the browser (status, reason), or None. The reason
        never quotes the token."""
        host = headers.get("host", "")
        shape = _HOST.match(host)
        name = (shape.group("v6") or shape.group("name")).lower() if shape else ""
        if name not in self.allowed_hosts and not is_ip(name):
            return 403, f"host name {host[:100]!r} is not allowed (CDP_PROXY_HOSTS)"
        if "origin" in headers:
            return 403, "requests from web pages (with an Origin header) are refused"
        given = headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, self.expected_auth):
            return 401, "no valid token (Authorization: Bearer, from BROWSER_TOKEN_FILE)"
        return None

    async def _novnc_info(self, writer: asyncio.StreamWriter) -> None:
        password = None
        if self.novnc_password_file is not None:
            with contextlib.suppress(OSError):
                password = self.novnc_password_file.read_text(encoding="utf-8").strip() or None
        if self.novnc_port is None or password is None:
            await respond(writer, 404, b"noVNC is not set up on this browser\n")
            return
        body = json.dumps({"port": self.novnc_port, "password": password}).encode()
        await respond(writer, 200, body, content_type="application/json")


def is_ip(name: str) -> bool:
    """An address, not a name: what DNS rebinding cannot send (its page has a name)."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    """The request line and the headers (names lower-cased; the last of repeated ones)."""
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def build_head(
    request_line: str, headers: dict[str, str], authority: str, *, keep_alive: bool
) -> bytes:
    """The head sent upstream: Host = the upstream address, no token; one request per
    connection unless it is a websocket upgrade (then the connection is the websocket)."""
    dropped = {"host", "origin", "connection", "authorization"}
    out = {k: v for k, v in headers.items() if k not in dropped}
    lines = [request_line, f"Host: {authority}"]
    lines += [f"{name}: {value}" for name, value in out.items()]
    lines.append("Connection: Upgrade" if keep_alive else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_reply(reader: asyncio.StreamReader) -> bytes:
    """One HTTP reply: Chromium keeps the connection open, so read by Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    _status, headers = parse_head(head)
    length = headers.get("content-length")
    body = await reader.readexactly(int(length)) if length else await reader.read()
    return head + body


def rewrite_reply(reply: bytes, upstream_authority: str, client_host: str) -> bytes:
    """Chromium's /json reply with every `upstream_authority` made `client_host`, so the
    websocket URLs in it lead back through this proxy; Content-Length fixed to match."""
    head, sep, body = reply.partition(b"\r\n\r\n")
    if not sep:
        return reply
    body = body.replace(upstream_authority.encode(), client_host.encode())
    lines = [
        line
        for line in head.decode("latin-1").split("\r\n")
        if not line.lower().startswith(("content-length:", "connection:"))
    ]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def respond(
    writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str = "text/plain"
) -> None:
    reason = {
        200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
        502: "Bad Gateway",
    }[status]  # fmt: skip
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()


async def pipe_both(
    client_r: asyncio.StreamReader,
    client_w: asyncio.StreamWriter,
    up_r: asyncio.StreamReader,
    up_w: asyncio.StreamWriter,
) -> None:
    """Copy bytes both ways until either side closes."""
    tasks = [
        asyncio.create_task(copy(client_r, up_w)),
        asyncio.create_task(copy(up_r, client_w)),
    ]
    _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()


def address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def read_token(path: Path) -> str:
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise SystemExit(f"cdp_proxy: the token file {path} is empty")
    return token


async def serve(args: argparse.Namespace) -> None:
    extra = [name.strip() for name in ",".join(args.allow_host).split(",") if name.strip()]
    proxy = Proxy(
        upstream=address(args.upstream),
        token=read_token(args.token_file),
        allowed_hosts=(*LOOPBACK_NAMES, *extra),
        novnc_port=args.novnc_port,
        novnc_password_file=args.novnc_password_file,
    )
    host, port = address(args.listen)
    server = await asyncio.start_server(proxy.handle, host, port, limit=HEAD_LIMIT)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    logger.info(
        "CDP proxy on %s -> %s for host names %s",
        args.listen, args.upstream, ", ".join(sorted(proxy.allowed_hosts)),
    )  # fmt: skip
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="CDP proxy for Chromium's DevTools port")
    parser.add_argument("--listen", default="0.0.0.0:9223", help="HOST:PORT to accept on")
    parser.add_argument("--upstream", default="127.0.0.1:9222", help="Chromium's CDP HOST:PORT")
    parser.add_argument(
        "--token-file", type=Path, required=True, help="file holding the token clients must send"
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        help="host names (comma-separated) allowed besides localhost, 127.0.0.1 and ::1",
    )
    parser.add_argument("--novnc-port", type=int, help="noVNC's port, for /jobs-browser/novnc")
    parser.add_argument("--novnc-password-file", type=Path, help="file holding the password")
    logging.basicConfig(level=logging.INFO, format="cdp_proxy: %(message)s")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
