"""Operations on a real `jobs run`: /health and JSON logs, a corrupted Telethon session file."""

from __future__ import annotations

import asyncio
import json
import signal
import socket

from tests.chaos.conftest import Rig


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def get_health(port: int) -> tuple[int, dict[str, object]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


async def test_health_answers_and_logs_are_json_lines(rig: Rig) -> None:
    port = free_port()
    rig.env.update(HEALTH_PORT=str(port), LOG_FORMAT="json")
    child = await rig.start_jobs()
    # The health server binds in its own task, possibly after the login line.
    await rig.logged(child, f"Health check on http://127.0.0.1:{port}/health")
    status, body = await get_health(port)
    assert status == 200, body
    assert body["telegram_connected"] is True and body["db_ok"] is True
    assert body["outbox_depth"] == 0
    lines = [line for line in child.log().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert any("Logged in as" in r["message"] for r in records)
    assert all({"ts", "level", "logger", "message"} <= set(r) for r in records)
    loop = asyncio.get_running_loop()
    asked = loop.time()
    child.signal(signal.SIGTERM)
    assert await child.exit_code(within=10) == 0
    assert loop.time() - asked < 10
    try:
        await get_health(port)
    except OSError:
        pass  # nobody listens any more: the healthcheck fails
    else:
        raise AssertionError("/health still answered after Jobs stopped")


async def test_a_corrupted_session_file_is_one_clear_error_every_time(rig: Rig) -> None:
    env = {k: v for k, v in rig.env.items() if k != "TG_SESSION"}
    session = rig.tmp_path / "data" / "telethon.session"
    session.parent.mkdir(parents=True, exist_ok=True)
    session.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    for _ in range(2):  # a supervisor restarting it gets the same answer, at once
        child = await rig.spawn("run", env=env)
        assert await child.exit_code(within=15) != 0
        log = child.log()
        assert "telethon.session (corrupt)" in log and "jobs login" in log
        assert "Traceback" not in log
    assert rig.tg.requests == []
