"""FakeSocks5: a tiny SOCKS5 proxy on 127.0.0.1 (RFC 1928 CONNECT, RFC 1929 user/password).

It forwards to loopback targets only (anything else is answered "not allowed by ruleset"), and
records what was asked, so a test can show Jobs' traffic really went through it:

    async with FakeSocks5() as proxy:                 # or FakeSocks5(username=..., password=...)
        env["TG_PROXY"] = proxy.url
        ...
        assert proxy.targets == [("127.0.0.1", loopback.port)]

`reply` makes it refuse every CONNECT with that SOCKS5 reply code instead (5: connection
refused, 4: host unreachable), as a proxy whose own network cannot reach Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import struct
from typing import Self

REFUSED, HOST_UNREACHABLE, NOT_ALLOWED = 5, 4, 2


class FakeSocks5:
    def __init__(
        self, *, username: str | None = None, password: str | None = None, reply: int = 0
    ) -> None:
        self.username, self.password, self.reply = username, password, reply
        self.targets: list[tuple[str, int]] = []
        self.bad_logins = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeSocks5 is not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        auth = f"{self.username}:{self.password}@" if self.username else ""
        return f"socks5://{auth}127.0.0.1:{self.port}"

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
            if await self._greet(reader, writer):
                await self._connect(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

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

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _v, _cmd, _rsv, atyp = await reader.readexactly(4)
        if atyp == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif atyp == 4:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        else:
            (n,) = await reader.readexactly(1)
            host = (await reader.readexactly(n)).decode()
        (port,) = struct.unpack(">H", await reader.readexactly(2))
        self.targets.append((host, port))
        code = self.reply or (0 if host in ("127.0.0.1", "::1", "localhost") else NOT_ALLOWED)
        if code:
            writer.write(bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.write(bytes([5, REFUSED, 0, 1, 0, 0, 0, 0, 0, 0]))
            return
        writer.write(bytes([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()
