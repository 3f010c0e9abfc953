"""/health: 200 with the vital signs, 503 when one fails, 404/405 for anything else."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jobs.errors import StorageError
from jobs.health import STALE_AFTER_SECONDS, Health


class World:
    def __init__(self) -> None:
        self.depth: int | Exception = 3
        self.connected = True
        self.now = 100.0

    async def db_depth(self) -> int:
        if isinstance(self.depth, Exception):
            raise self.depth
        return self.depth


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def health(world: World) -> AsyncIterator[Health]:
    made = Health(host="127.0.0.1", port=0, db_depth=world.db_depth, monotonic=lambda: world.now)
    made.watch_connection(lambda: world.connected)
    task = asyncio.create_task(made.run())
    await made.serving.wait()
    yield made
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def get(health: Health, request: bytes = b"GET /health HTTP/1.1\r\n\r\n") -> tuple[int, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", health.bound_port)
    writer.write(request)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


async def test_healthy(health: Health) -> None:
    status, body = await get(health)
    assert status == 200
    assert body == {
        "ok": True,
        "telegram_connected": True,
        "db_ok": True,
        "outbox_depth": 3,
        "last_tick_seconds_ago": 0.0,
    }


async def test_each_failure_is_503(health: Health, world: World) -> None:
    world.connected = False
    status, body = await get(health)
    assert status == 503 and body["telegram_connected"] is False
    world.connected, world.depth = True, StorageError("database is locked")
    status, body = await get(health)
    assert status == 503 and body["db_ok"] is False and body["outbox_depth"] is None
    world.depth = 0
    world.now += STALE_AFTER_SECONDS + 1  # the loop has not ticked since
    status, body = await get(health)
    assert status == 503 and body["last_tick_seconds_ago"] > STALE_AFTER_SECONDS


async def test_other_paths_and_methods(health: Health) -> None:
    assert (await get(health, b"GET /admin HTTP/1.1\r\n\r\n"))[0] == 404
    assert (await get(health, b"POST /health HTTP/1.1\r\n\r\n"))[0] == 405
    assert (await get(health, b"GET /health?x=1 HTTP/1.0\r\n\r\n"))[0] == 200


async def test_a_client_that_never_finishes_does_not_stop_the_server(health: Health) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", health.bound_port)
    writer.write(b"GET /heal")
    await writer.drain()
    assert (await get(health))[0] == 200
    writer.close()
    await writer.wait_closed()


async def test_off_still_ticks(world: World) -> None:
    made = Health(host="127.0.0.1", port=0, db_depth=world.db_depth)
    task = asyncio.create_task(made.run(listen=False))
    await asyncio.sleep(0.01)
    assert made.bound_port is None and (await made.report()).ok
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
