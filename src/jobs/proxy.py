"""TG_PROXY: the proxy Telegram is reached through, parsed from the URL forms Telegram's apps offer.

socks5://[user:pass@]host:port      a SOCKS5 proxy (names resolved by the proxy)
http://[user:pass@]host:port        an HTTP proxy that allows CONNECT
mtproxy://SECRET@host:port          an MTProto proxy; SECRET is 32 hex digits, or dd + 32
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import unquote, urlsplit

ProxyKind = Literal["socks5", "http", "mtproxy"]

_SECRET: Final = re.compile(r"(dd)?[0-9a-f]{32}", re.IGNORECASE)
EXPECTED: Final = (
    "expected socks5://[user:pass@]host:port, http://host:port or mtproxy://SECRET@host:port"
)


@dataclass(frozen=True, slots=True)
class Proxy:
    """A parsed TG_PROXY. `secret` is the MTProxy secret (hex), for mtproxy only."""

    kind: ProxyKind
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    secret: str | None = None

    @property
    def address(self) -> str:
        """host:port, for messages (never the credentials)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def secrets(self) -> list[str]:
        """What must never be logged: the password and the MTProxy secret."""
        return [s for s in (self.password, self.secret) if s]


def parse_proxy(url: str, /) -> Proxy:
    """The Proxy `url` names; ValueError saying what is wrong (never echoing credentials)."""
    parts = urlsplit(url.strip())
    kind = {"socks5": "socks5", "socks5h": "socks5", "http": "http", "mtproxy": "mtproxy"}.get(
        parts.scheme.lower()
    )
    if kind is None:
        raise ValueError(f"unknown proxy type {parts.scheme!r}: {EXPECTED}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or port == 0:
        raise ValueError(f"a host and a port are needed: {EXPECTED}")
    if parts.path not in ("", "/") or parts.query:
        raise ValueError(f"nothing may follow host:port: {EXPECTED}")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if kind != "mtproxy":
        return Proxy(kind, parts.hostname, port, user, password)  # type: ignore[arg-type]
    if user is None or password is not None or not _SECRET.fullmatch(user):
        raise ValueError(
            "an MTProto proxy needs its secret before the @: 32 hex digits, or dd and 32 "
            "(secrets starting with ee, fake-TLS proxies, are not supported)"
        )
    return Proxy("mtproxy", parts.hostname, port, secret=user.lower())
