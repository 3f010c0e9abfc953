"""The noVNC viewer link Jobs hands the owner: its address, and its password (NOVNC_PASSWORD,
or the one the CDP proxy tells token holders)."""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass
from typing import Final

from jobs.extensions.browser import BrowserConfig
from jobs.extensions.browser_health import cdp_health

NOVNC_INFO_PATH: Final = "/jobs-browser/novnc"
"""Answered by browser/cdp_proxy.py: {"port": noVNC port, "password": its password}."""
DEFAULT_NOVNC_PORT: Final = 6080


async def novnc_info(config: BrowserConfig, *, seconds: float = 3.0) -> tuple[int, str] | None:
    """The noVNC port and password, as the CDP proxy reports them; None if it does not."""
    url = config.cdp_url.rstrip("/") + NOVNC_INFO_PATH
    import httpx  # here: only when the owner asks for the viewer

    try:
        async with httpx.AsyncClient(timeout=seconds, trust_env=False) as client:
            reply = await client.get(url, headers=config.auth_headers())
            data = reply.json() if reply.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return None
    port, password = data.get("port"), data.get("password")
    if isinstance(port, int) and isinstance(password, str) and password:
        return port, password
    return None


def novnc_link(base_url: str, password: str) -> str:
    """The viewer page that connects at once, scaled to the screen it is opened on.

    Every character of the password is percent-encoded (noVNC decodes it): Jobs masks its
    secrets, NOVNC_PASSWORD among them, in everything it sends, so a reply that quotes .env
    never shows it, while this link, Jobs' own message to the owner, keeps a password that
    works."""
    query = urllib.parse.urlencode({"autoconnect": "1", "resize": "scale"})
    encoded = "".join(f"%{byte:02X}" for byte in password.encode())
    return f"{base_url.rstrip('/')}/vnc.html?{query}&password={encoded}"


def reachable_from_outside(url: str) -> bool:
    """False for a compose service name (`browser`) the owner's phone cannot resolve."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "." in host or host == "localhost"
    return True


@dataclass(frozen=True, slots=True)
class ViewerLink:
    url: str
    """The noVNC page with its password."""
    internal_host: bool
    """True when the host is the browser's internal name: the owner should set NOVNC_URL."""


async def viewer_link(config: BrowserConfig) -> ViewerLink | str:
    """The viewer link (password from NOVNC_PASSWORD, else from the CDP proxy), or why not."""
    configured = config.novnc_url and config.novnc_password
    info = None if configured else await novnc_info(config)
    password = config.novnc_password or (info[1] if info else None)
    if password is None:
        problem = await cdp_health(config)
        return problem or "the browser did not say what the noVNC password is"
    base = config.novnc_url or _guess_novnc_url(config.cdp_url, info)
    return ViewerLink(
        url=novnc_link(base, password),
        internal_host=not config.novnc_url and not reachable_from_outside(base),
    )


def _guess_novnc_url(cdp_url: str, info: tuple[int, str] | None) -> str:
    host = urllib.parse.urlsplit(cdp_url).hostname or "localhost"
    port = info[0] if info else DEFAULT_NOVNC_PORT
    return f"http://{host}:{port}"
