"""The /health endpoint: a tiny HTTP server (stdlib asyncio) for container healthchecks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Final

from jobs.errors import JobsError

logger = logging.getLogger(__name__)

TICK_SECONDS: Final = 1.0
STALE_AFTER_SECONDS: Final = 30.0
"""A loop tick older than this means the event loop is stuck: unhealthy."""
READ_TIMEOUT_SECONDS: Final = 5.0
MAX_REQUEST_BYTES: Final = 8192


@dataclass(frozen=True, slots=True)
class HealthReport:
    """What /health answers (as JSON); `ok` decides 200 or 503."""

    ok: bool
    telegram_connected: bool
    db_ok: bool
    outbox_depth: int | None
    last_tick_seconds_ago: float


class Health:
    """Checks Jobs' vital signs and serves them on `host:port` (GET /health).

    `db_depth` answers the outbox depth, raising when the database does not answer.
    `connected` says whether Telegram is connected (`watch_connection`, once there is one).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        db_depth: Callable[[], Awaitable[int]],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._host = host
        self._port = port
        self._db_depth = db_depth
        self._monotonic = monotonic
        self._connected: Callable[[], bool] = lambda: True
        self._last_tick = monotonic()
        self.bound_port: int | None = None
        """The port listened on (useful with port 0 in tests), once `serving` is set."""
        self.serving = asyncio.Event()

    def watch_connection(self, connected: Callable[[], bool], /) -> None:
        self._connected = connected

    async def report(self) -> HealthReport:
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                depth: int | None = await self._db_depth()
        except (JobsError, TimeoutError):
            depth = None
        connected = bool(self._connected())
        ago = round(self._monotonic() - self._last_tick, 3)
        ok = connected and depth is not None and ago < STALE_AFTER_SECONDS
        return HealthReport(ok, connected, depth is not None, depth, ago)

    async def run(self, *, listen: bool = True) -> None:
        """Tick forever; with `listen`, serve /health meanwhile."""
        if not listen:
            await self._tick()
            return
        server = await asyncio.start_server(self._serve, self._host, self._port)
        self.bound_port = int(server.sockets[0].getsockname()[1])
        logger.info("Health check on http://%s:%d/health", self._host, self.bound_port)
        self.serving.set()
        async with server:
            await self._tick()

    async def _tick(self) -> None:
        while True:
            self._last_tick = self._monotonic()
            await asyncio.sleep(TICK_SECONDS)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                head = await reader.readuntil(b"\r\n\r\n")
            status, body = await self._answer(head[:MAX_REQUEST_BYTES])
            writer.write(_response(status, body))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a client that hangs up or never finishes its request gets nothing
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _answer(self, head: bytes) -> tuple[str, bytes]:
        parts = head.split(b"\r\n", 1)[0].split()
        if len(parts) < 2 or parts[0] not in (b"GET", b"HEAD"):
            return "405 Method Not Allowed", b'{"error": "GET /health"}'
        if parts[1].split(b"?", 1)[0] != b"/health":
            return "404 Not Found", b'{"error": "GET /health"}'
        report = await self.report()
        status = "200 OK" if report.ok else "503 Service Unavailable"
        return status, json.dumps(asdict(report)).encode()


def _response(status: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body
