"""FakeProxy: a tiny proxy on 127.0.0.1 for TG_PROXY: SOCKS5 (RFC 1928 CONNECT, RFC 1929
user/password) or HTTP CONNECT.

It forwards to loopback targets only (anything else is refused), and records what was asked,
so a test can show Jobs' traffic really went through it:

    async with FakeProxy(username="u", password="p") as proxy:   # kind="http" for HTTP CONNECT
        env["TG_PROXY"] = proxy.url
        ...
        assert proxy.targets == [("127.0.0.1", loopback.port)]

`reply` makes a SOCKS5 proxy refuse every CONNECT with that reply code instead (5: connection
refused, 4: host unreachable), as a proxy whose own network cannot reach Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import struct
from typing import Literal, Self

REFUSED, HOST_UNREACHABLE, NOT_ALLOWED = 5, 4, 2
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class FakeProxy:
    def __init__(
        self,
        *,
        kind: Literal["socks5", "http"] = "socks5",
        username: str | None = None,
        password: str | None = None,
        reply: int = 0,
    ) -> None:
        self.kind = kind
        self.username, self.password, self.reply = username, password, reply
        self.targets: list[tuple[str, int]] = []
        self.bad_logins = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeProxy is not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        auth = f"{self.username}:{self.password}@" if self.username else ""
        return f"{self.kind}://{auth}127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            target = await (
                self._http(reader, writer) if self.kind == "http" else self._socks(reader, writer)
            )
            if target is not None:
                await self._forward(reader, writer, *target)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _http(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[str, int] | None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        method, target, _ = head.split("\r\n", 1)[0].split(" ", 2)
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or not port.isdigit():
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            return None
        return host.strip("[]"), int(port)

    async def _socks(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[str, int] | None:
        if not await self._greet(reader, writer):
            return None
        _v, _cmd, _rsv, atyp = await reader.readexactly(4)
        if atyp == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif atyp == 4:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        else:
            (n,) = await reader.readexactly(1)
            host = (await reader.readexactly(n)).decode()
        (port,) = struct.unpack(">H", await reader.readexactly(2))
        return host, port

    async def _greet(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        _version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        wanted = 2 if self.username else 0
        if wanted not in methods:
            writer.write(b"\x05\xff")
            return False
        writer.write(bytes([5, wanted]))
        if not wanted:
            return True
        _v, ulen = await reader.readexactly(2)
        user = (await reader.readexactly(ulen)).decode()
        (plen,) = await reader.readexactly(1)
        password = (await reader.readexactly(plen)).decode()
        ok = (user, password) == (self.username, self.password)
        self.bad_logins += not ok
        writer.write(b"\x01\x00" if ok else b"\x01\x01")
        return ok

    async def _forward(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int
    ) -> None:
        self.targets.append((host, port))
        code = self.reply or (0 if host in _LOOPBACK else NOT_ALLOWED)
        upstream = None if code else await _open(host, port)
        if upstream is None:
            self._answer(writer, code or REFUSED)
            return
        self._answer(writer, 0)
        up_reader, up_writer = upstream
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()

    def _answer(self, writer: asyncio.StreamWriter, code: int) -> None:
        if self.kind == "http":
            writer.write(
                b"HTTP/1.1 200 Connection established\r\n\r\n"
                if not code
                else (b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            )
        else:
            writer.write(bytes([5, code, 0, 1, 127, 0, 0, 1, 0, 0]))


async def _open(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    try:
        return await asyncio.open_connection(host, port)
    except OSError:
        return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()
