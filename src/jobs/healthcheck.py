"""`jobs health`: ask a running Jobs' GET /health (HEALTH_PORT), for Docker's HEALTHCHECK, a
service manager or a script. Exit 0 while it is healthy, or when the endpoint is off."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Final

from jobs.config import Settings
from jobs.telegram.sessionfile import SessionState, inspect_session

TIMEOUT_SECONDS: Final = 4.0
_ANY: Final = frozenset({"", "0.0.0.0", "::"})  # listening everywhere: ask over loopback


def check_health(settings: Settings) -> tuple[int, str]:
    """The exit code and one line saying why."""
    if settings.health_port == 0:
        return 0, "The health endpoint is off (HEALTH_PORT=0), so there is nothing to ask."
    host = "127.0.0.1" if settings.health_host in _ANY else settings.health_host
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{settings.health_port}/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via HTTP_PROXY
    try:
        with opener.open(url, timeout=TIMEOUT_SECONDS) as answer:
            return 0, f"healthy: {answer.read().decode(errors='replace')}"
    except urllib.error.HTTPError as exc:
        return 1, f"unhealthy: {exc.read().decode(errors='replace')}"
    except (urllib.error.URLError, OSError):
        if waiting := not_set_up(settings):
            return 1, f"Not started: waiting for `jobs login` ({waiting})."
        return 1, f"Jobs does not answer at {url}: is `jobs run` running?"


def not_set_up(settings: Settings) -> str:
    """What `jobs login` has yet to do before `jobs run` can start ("" when nothing)."""
    if missing := settings.missing_telegram():
        return f"{', '.join(missing)} not set"
    if settings.tg_session_is_string:
        return ""
    state = inspect_session(settings.telethon_session_path)
    return "" if state is SessionState.AUTHORISED_KEY else f"no Telegram login ({state.value})"
