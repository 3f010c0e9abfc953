"""The heartbeat: every HEARTBEAT_INTERVAL_MINUTES, task sessions resume and the owner's
HEARTBEAT.md checklist runs. With no checklist items it makes no model call; quiet hours
pause it (scheduled jobs still fire then: the owner asked for those times)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Final

from jobs.clock import Clock, utc_now
from jobs.triggers.events import TriggerEvent, TriggerSource

logger = logging.getLogger(__name__)

CHECKLIST_FILE: Final = "HEARTBEAT.md"
MAX_CHECKLIST_CHARS: Final = 8000

OnHeartbeatTasks = Callable[[], Awaitable[object]]
"""Resumes the active task sessions (the delegation feature fills it); called every beat."""
OnDue = Callable[[TriggerEvent], Awaitable[object]]

_NOT_AN_ITEM = re.compile(r"^\s*(#.*|<!--.*-->|[-*+]\s*\[[xX]\].*|[-*+]\s*(\[\s\])?\s*)?$")
"""Blank lines, headings, one-line comments, done items and empty bullets ask for nothing."""


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily span of local time (may cross midnight, e.g. 23:00-07:00)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str, /) -> QuietHours:
        """`HH:MM-HH:MM`; raises ValueError with what is expected."""
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
        try:
            if match is None:
                raise ValueError(text)
            h1, m1, h2, m2 = (int(part) for part in match.groups())
            return cls(start=time(h1, m1), end=time(h2, m2))
        except ValueError:
            raise ValueError(f"expected quiet hours like 23:00-07:00, got {text!r}") from None

    def contains(self, moment: time, /) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


def checklist_items(text: str, /) -> list[str]:
    """The lines of a checklist that ask for something (nothing: no model call)."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    return [line.rstrip() for line in text.splitlines() if not _NOT_AN_ITEM.match(line)]


class Heartbeat:
    """`run()` beats every `interval`; tests call `beat(now)`."""

    def __init__(
        self,
        *,
        workspace: Path,
        on_due: OnDue,
        interval: timedelta,
        zone: tzinfo,
        quiet: QuietHours | None = None,
        on_heartbeat_tasks: OnHeartbeatTasks | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._file = workspace / CHECKLIST_FILE
        self._on_due = on_due
        self._interval = interval
        self._zone = zone
        self._quiet = quiet
        self._on_tasks = on_heartbeat_tasks
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self._interval > timedelta(0)

    async def run(self) -> None:
        """Beat every interval (the first one interval after start) until cancelled."""
        if not self.enabled:
            return
        while True:
            await asyncio.sleep(self._interval.total_seconds())
            try:
                await self.beat()
            except Exception:  # the loop's boundary: the next beat tries again
                logger.exception("the heartbeat failed")

    async def beat(self, now: datetime | None = None) -> bool:
        """One beat; True when the checklist went to the owner session (a model call)."""
        now = self._clock() if now is None else now
        local = now.astimezone(self._zone)
        if self._quiet is not None and self._quiet.contains(local.time()):
            return False
        if self._on_tasks is not None:
            await self._on_tasks()
        items = checklist_items(await asyncio.to_thread(self._read))
        if not items:
            return False
        await self._on_due(self._event(items, local))
        return True

    def _read(self) -> str:
        try:
            with self._file.open(encoding="utf-8", errors="replace") as file:
                return file.read(MAX_CHECKLIST_CHARS)
        except FileNotFoundError:
            return ""

    def _event(self, items: list[str], local: datetime) -> TriggerEvent:
        minutes = round(self._interval.total_seconds() / 60)
        payload = "\n".join(  # i18n: skip (the model's prompt)
            [
                f"Heartbeat (every {minutes} min). The owner's checklist ({CHECKLIST_FILE} in "
                "the workspace) follows. Do what is due now; do not repeat what you already "
                "did or reported earlier today unless something changed.",
                *items,
            ]
        )
        return TriggerEvent(
            source=TriggerSource.HEARTBEAT,
            payload=payload,
            trusted=True,
            dedup_key=f"heartbeat:{local:%Y-%m-%dT%H:%M}",
            slot="heartbeat",
        )
