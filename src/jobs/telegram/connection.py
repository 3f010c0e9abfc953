"""Reaching Telegram: TG_PROXY as Telethon's connection and proxy, a deadline on the first
contact, and why it failed, in one line a person can act on.

At start Jobs gives up after TG_CONNECT_TIMEOUT_SECONDS (a supervisor starts it again); once
connected, Telethon rides out outages by reconnecting. Telethon reports a failed start only as
"Connection to Telegram failed 5 time(s)" (or not at all: a silent network holds a request
forever), so after a failure one more connection is opened here to say why.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError, ProxyType
from python_socks.async_.asyncio import Proxy as SocksClient
from telethon import TelegramClient
from telethon.network import ConnectionTcpMTProxyRandomizedIntermediate

from jobs.errors import TelegramUnreachable
from jobs.proxy import Proxy

T = TypeVar("T")

PROBE_SECONDS: Final = 5.0
"""At most this much of the deadline is kept for the look at why the first contact failed."""
_SENDER_LOG: Final = "telethon.network.mtprotosender"  # a warning per failed attempt
_TRY = "set TG_PROXY to a SOCKS5 or MTProto proxy, or try another network"


def network_options(proxy: Proxy | None, /) -> dict[str, Any]:
    """TelegramClient keyword arguments for TG_PROXY (none without one)."""
    if proxy is None:
        return {}
    if proxy.kind == "mtproxy":
        return {
            "connection": ConnectionTcpMTProxyRandomizedIntermediate,
            "proxy": (proxy.host, proxy.port, proxy.secret),
        }
    return {
        "proxy": {
            "proxy_type": proxy.kind,
            "addr": proxy.host,
            "port": proxy.port,
            "username": proxy.username,
            "password": proxy.password,
            "rdns": True,  # the proxy resolves names: the local network may not
        }
    }


@dataclass(frozen=True, slots=True)
class Route:
    """Where a client goes: Telegram's address (from the session) and the proxy, if any."""

    host: str
    port: int
    proxy: Proxy | None

    @classmethod
    def of(cls, client: TelegramClient, proxy: Proxy | None) -> Route:
        return cls(str(client.session.server_address), int(client.session.port), proxy)

    @property
    def telegram(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


async def first_contact(step: Callable[[], Awaitable[T]], route: Route, *, within: float) -> T:
    """Run `step` (connect, and the first request), or raise TelegramUnreachable saying why
    Telegram could not be reached, all within `within` seconds (the look at why included)."""
    probe = min(PROBE_SECONDS, within / 3)
    try:
        with _quiet(_SENDER_LOG):
            async with asyncio.timeout(within - probe):
                return await step()
    except TimeoutError:
        raise TelegramUnreachable(await _explain(route, within, probe, silent=True)) from None
    except (OSError, asyncio.IncompleteReadError, ProxyError) as exc:
        explained = await _explain(route, within, probe, silent=False)
        raise TelegramUnreachable(explained) from exc


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Telethon's warning per failed attempt, hidden: the one line Jobs says replaces them."""
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


async def _explain(route: Route, within: float, probe: float, *, silent: bool) -> str:
    """Open one more connection to see why the first contact failed."""
    try:
        await _open(route, probe)
    except ProxyError as exc:  # the proxy answered, and said no
        assert route.proxy is not None
        return (
            f"The proxy {route.proxy.address} would not connect to Telegram at "
            f"{route.telegram} ({exc}): check the user and password in TG_PROXY; or the "
            "proxy's own network blocks Telegram, then try another proxy."
        )
    except (ProxyConnectionError, ProxyTimeoutError, OSError) as exc:
        return _first_hop_failed(route, exc, within)
    where = f"The proxy {route.proxy.address}" if route.proxy else f"Telegram's {route.telegram}"
    waited = f"within {within:g} s" if silent else "as Telegram does"
    return (
        f"{where} accepts connections but Telegram did not answer {waited}: something on the "
        f"way may block or filter it; {_TRY}."
    )


def _first_hop_failed(route: Route, exc: BaseException, within: float) -> str:
    proxy = route.proxy
    where = f"the proxy {proxy.address} (TG_PROXY)" if proxy else f"Telegram at {route.telegram}"
    fix = (
        "is the proxy running, and is TG_PROXY right?" if proxy else f"check the network, or {_TRY}"
    )
    if isinstance(exc, TimeoutError):
        return (
            f"No answer from {where} within {within:g} s: the network may be dropping the "
            f"traffic; {fix}"
        )
    subject = where[0].upper() + where[1:]
    code = exc.errno if isinstance(exc, OSError) else None
    if code == errno.ECONNREFUSED:
        return f"{subject} refused the connection: {fix}"
    reason = os.strerror(code) if code else str(exc)
    return f"{subject} cannot be reached from this machine ({reason}): {fix}"


async def _open(route: Route, seconds: float) -> None:
    """One TCP connection to Telegram (through the proxy, if any), closed at once."""
    proxy = route.proxy
    if proxy is not None and proxy.kind != "mtproxy":
        client = SocksClient(
            proxy_type=ProxyType.SOCKS5 if proxy.kind == "socks5" else ProxyType.HTTP,
            host=proxy.host,
            port=proxy.port,
            username=proxy.username,
            password=proxy.password,
            rdns=True,
        )
        sock = await client.connect(route.host, route.port, timeout=seconds)
        sock.close()
        return
    host, port = (proxy.host, proxy.port) if proxy else (route.host, route.port)
    async with asyncio.timeout(seconds):
        _, writer = await asyncio.open_connection(host, port)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
