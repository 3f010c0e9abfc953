"""Reaching Telegram at start, as a real `jobs run`: refused, unreachable and black-holed each end
in one line saying what to try and exit code 69 (no traceback) within TG_CONNECT_TIMEOUT_SECONDS;
through a SOCKS5 or HTTP proxy (TG_PROXY) Jobs works, and a proxy that fails is named."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import Literal

import pytest
from telethon.sessions import StringSession

from tests.chaos.conftest import OWNER_ID, Rig, wait_until
from tests.fakes.anthropic import text
from tests.fakes.socks import HOST_UNREACHABLE, FakeProxy

EX_UNAVAILABLE = 69
WITHIN = "3"  # TG_CONNECT_TIMEOUT_SECONDS here: the default (30) works the same, slower


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def black_hole() -> Iterator[int]:
    """A port that drops connection attempts: a listener whose backlog is full, so the kernel
    ignores further SYNs (as a firewall that drops packets)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        with socket.create_connection(listener.getsockname()):
            yield int(listener.getsockname()[1])


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections, reads, never answers (a filter that swallows MTProto)."""

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(4096):
                pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


def session_at(rig: Rig, port: int) -> str:
    """The loopback's login, but Telegram's address is 127.0.0.1:`port`."""
    session = rig.loopback.session()
    session.set_dc(rig.tg.dc_id, "127.0.0.1", port)
    return str(StringSession.save(session))


async def gives_up(rig: Rig, *, wrap: tuple[str, ...] = (), **env: str) -> str:
    """Start `jobs run` with `env` changed; the one line it ends with (asserting exit 69 and
    no traceback)."""
    child = await rig.spawn(
        "run", env={**rig.env, "TG_CONNECT_TIMEOUT_SECONDS": WITHIN, **env}, wrap=wrap
    )
    code = await child.exit_code(within=30)
    log = child.log()
    assert code == EX_UNAVAILABLE, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    last = log.strip().splitlines()[-1]
    assert last.startswith("jobs: ") and "TG_PROXY" in last, last
    return last


async def test_refused(rig: Rig) -> None:
    port = closed_port()
    said = await gives_up(rig, TG_SESSION=session_at(rig, port))
    assert f"Telegram at 127.0.0.1:{port} refused the connection: check the network" in said
    assert "set TG_PROXY" in said


def no_network_namespace() -> str | None:
    if not shutil.which("unshare"):
        return "unshare is not installed"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, check=False)
    return None if probe.returncode == 0 else probe.stderr.strip()


async def test_unreachable(rig: Rig) -> None:
    if (why := no_network_namespace()) is not None:
        pytest.skip(f"a network without routes needs `unshare -n` (root): {why}")
    # In a network namespace of its own even 127.0.0.1 has no route (lo is down).
    said = await gives_up(rig, wrap=("unshare", "-n"), TG_SESSION=session_at(rig, 443))
    assert (
        "Telegram at 127.0.0.1:443 cannot be reached from this machine (Network is unreachable)"
        in said
    )


async def test_black_holed(rig: Rig) -> None:
    with black_hole() as port:
        said = await gives_up(rig, TG_SESSION=session_at(rig, port))
    assert f"No answer from Telegram at 127.0.0.1:{port} within {WITHIN} s" in said


async def test_connects_but_nothing_answers(rig: Rig) -> None:
    async with silent_server() as port:
        said = await gives_up(rig, TG_SESSION=session_at(rig, port))
    assert f"127.0.0.1:{port} accepts connections but Telegram did not answer within" in said


@pytest.mark.parametrize("kind", ["socks5", "http"])
async def test_through_a_proxy(rig: Rig, kind: Literal["socks5", "http"]) -> None:
    rig.model.push(text("Hello through the proxy."))
    async with FakeProxy(kind=kind, username="jobs", password="pr0xy-pass") as proxy:
        rig.env["TG_PROXY"] = proxy.url
        child = await rig.start_jobs()
        rig.tg.outgoing(OWNER_ID, "hi")
        await wait_until(lambda: rig.created("Hello through the proxy."), what="the reply")
        assert set(proxy.targets) == {("127.0.0.1", rig.loopback.port)}
        assert proxy.bad_logins == 0
        child.kill_group()
        await child.proc.wait()
    assert "pr0xy-pass" not in child.log()


async def test_a_proxy_that_cannot_reach_telegram(rig: Rig) -> None:
    async with FakeProxy(reply=HOST_UNREACHABLE) as proxy:
        said = await gives_up(rig, TG_PROXY=proxy.url)
        assert f"The proxy 127.0.0.1:{proxy.port} would not connect to Telegram at" in said


async def test_a_proxy_that_is_not_running(rig: Rig) -> None:
    port = closed_port()
    said = await gives_up(rig, TG_PROXY=f"socks5://127.0.0.1:{port}")
    assert f"The proxy 127.0.0.1:{port} (TG_PROXY) refused the connection" in said
