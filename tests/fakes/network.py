"""The no-network guard: only loopback and AF_UNIX connections are allowed in tests."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import pytest


class NetworkBlockedError(RuntimeError):
    """A test tried to reach a non-loopback host. A RuntimeError, not an OSError, so that retry
    loops which swallow connection errors cannot hide the attempt."""


def is_loopback(host: Any) -> bool:
    """127.0.0.0/8, ::1 or 'localhost'."""
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def check_address(family: int, address: Any) -> None:
    """Raise NetworkBlockedError unless `address` is AF_UNIX or loopback."""
    if family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    if not is_loopback(host):
        raise NetworkBlockedError(f"test tried to reach {address!r}: only loopback is allowed")


def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Patch socket connect / connect_ex, socket.getaddrinfo (also what asyncio resolves with)
    and asyncio's create_connection so non-loopback hosts raise. Undone by monkeypatch.
    Child processes (the Claude CLI) are not covered: their env keeps them on 127.0.0.1."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo
    real_create_connection = asyncio.BaseEventLoop.create_connection

    def connect(self: socket.socket, address: Any) -> None:
        check_address(self.family, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check_address(self.family, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if host is not None:
            check_address(socket.AF_INET, (host,))
        return real_getaddrinfo(host, *args, **kw)

    async def create_connection(
        self: asyncio.BaseEventLoop, protocol_factory: Any, host: Any = None, *a: Any, **kw: Any
    ) -> Any:
        if host is not None:
            check_address(socket.AF_INET, (host,))
        return await real_create_connection(self, protocol_factory, host, *a, **kw)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(asyncio.BaseEventLoop, "create_connection", create_connection)
