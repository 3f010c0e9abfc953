"""Whether the browser answers, as Jobs last saw it: the CDP check, the cache that trusts "up"
for a while and "down" never, and the words the owner (and the model) get while it is down."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from jobs.errors import BrowserDown
from jobs.extensions.browser import BrowserConfig, start_command

if TYPE_CHECKING:
    import httpx


async def cdp_version(config: BrowserConfig, *, seconds: float = 3.0) -> str:
    """The browser's name and version ("Chrome/156…") from its DevTools endpoint; BrowserDown
    saying plainly what is wrong when it does not answer as Chromium."""
    url = config.cdp_url
    version_url = url.rstrip("/") + "/json/version"
    import httpx  # here: with no browser configured, Jobs never loads it (≈ 4 MB with rich)

    try:
        async with httpx.AsyncClient(timeout=seconds, trust_env=False) as client:
            reply = await client.get(version_url, headers=config.auth_headers())
    except httpx.TimeoutException as exc:
        raise BrowserDown(f"the browser at {url} did not answer within {seconds:g} s") from exc
    except httpx.HTTPError as exc:
        raise BrowserDown(
            f"nothing answers at {url} ({_reason(exc)}): the browser service is not running"
        ) from exc
    if reply.status_code == 401:
        raise BrowserDown(
            f"the browser at {url} refused Jobs' token: BROWSER_TOKEN_FILE "
            f"({config.token_file}) is missing or stale (the service writes a new one at each "
            "start, to its own BROWSER_TOKEN_FILE: the two must name the same file)"
        )
    if reply.status_code == 502:  # browser/cdp_proxy.py: it runs, Chromium behind it does not
        raise BrowserDown(
            f"the browser service at {url} runs, but Chromium does not answer "
            "(it is being started again, or cannot start)"
        )
    if reply.status_code != 200:
        raise BrowserDown(
            f"the browser at {url} answered HTTP {reply.status_code}: {reply.text[:200]}"
        )
    try:
        data = reply.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict) or not data.get("webSocketDebuggerUrl"):
        raise BrowserDown(f"{url} answered, but not as Chromium's DevTools endpoint")
    return str(data.get("Browser") or "a browser")


async def cdp_health(config: BrowserConfig, *, seconds: float = 3.0) -> str | None:
    """None when Chromium's DevTools endpoint answers; else what is wrong, plainly."""
    try:
        await cdp_version(config, seconds=seconds)
    except BrowserDown as exc:
        return str(exc)
    return None


def _reason(exc: httpx.HTTPError) -> str:
    cause = exc.__cause__ or exc
    return str(cause).split("] ")[-1] or type(exc).__name__


def down_notice(problem: str) -> str:
    """What a browser tool answers while the browser is down, instead of Playwright's error."""
    return (
        f"The browser is not available: {problem}. After a crash the browser service starts "
        "Chromium again by itself within seconds, so one more try a little later may work. "
        "If the owner's request needs the browser, tell them plainly that it is down and that "
        f"{start_command()} starts it."
    )


class BrowserHealth:
    """The browser's state as last checked. "Up" is trusted for `ttl` seconds, so each owner
    turn can ask without waiting on the network; "down" is never trusted: every question
    while it is down checks again, so the first request after the browser is back finds it.
    A failed browser tool calls `recheck` (the cache may still say up)."""

    def __init__(
        self,
        *,
        config: BrowserConfig,
        ttl: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._ttl = ttl
        self._monotonic = monotonic
        self._checked_at: float | None = None
        self._problem: str | None = None

    async def problem(self) -> str | None:
        """What is wrong with the browser now, None when it is up."""
        fresh = self._checked_at is not None and self._monotonic() - self._checked_at < self._ttl
        if fresh and self._problem is None:
            return None
        return await self.recheck()

    async def recheck(self) -> str | None:
        """Check now, whatever the cache says."""
        self._problem = await cdp_health(self._config)
        self._checked_at = self._monotonic()
        return self._problem

    async def owner_note(self) -> str | None:
        """A line to put before the owner's message while the browser is down."""
        problem = await self.problem()
        if problem is None:
            return None
        return (
            f"[Jobs: the browser is unavailable: {problem}. The browser_* tools answer with "
            "this notice until it is back. If this message needs the browser, tell the owner "
            f"so plainly, and that {start_command()} starts it.]"
        )
