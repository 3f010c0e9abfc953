"""Raw HTTP and websocket requests for the CDP proxy tests: they set any Host and Origin
header they like while connecting to 127.0.0.1 (no name lookups, no third-party client)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from typing import Any


async def http_get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """One GET on 127.0.0.1:`port` with exactly `headers`; the status and the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return status, await reader.readexactly(length)
    finally:
        writer.close()
        await writer.wait_closed()


class WebSocket:
    """A minimal websocket client: text frames only, enough for a CDP command or an echo."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, path: str, headers: dict[str, str]) -> WebSocket:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            *(f"{k}: {v}" for k, v in headers.items()),
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            writer.close()
            await writer.wait_closed()
            raise ConnectionError(head.decode(errors="replace"))
        return cls(reader, writer)

    async def send(self, text: str) -> None:
        data = text.encode()
        mask = os.urandom(4)
        size = len(data)
        head = bytes([0x81]) + (
            bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack(">H", size)
        )
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.writer.write(head + mask + masked)
        await self.writer.drain()

    async def receive(self) -> str:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack(">H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack(">Q", await self.reader.readexactly(8))
        assert first & 0x0F == 1, "expected a text frame"
        return (await self.reader.readexactly(size)).decode()

    async def command(self, method: str, **params: Any) -> dict[str, Any]:
        """One CDP command and its reply."""
        await self.send(json.dumps({"id": 1, "method": method, "params": params}))
        reply: dict[str, Any] = json.loads(await self.receive())
        return reply

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()
