"""TriggerManager: starts the trigger sources (scheduler, heartbeat, channel watch), restores
what they persisted, and stops them together (cancel `run`).

A source that stops because another program held the database's lock past the busy timeout
is started again once it is free (a source ending any other way ends Jobs, as a bug should).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from jobs.storage.busy import BusyPolicy, BusyWait, busy_cause, retry_busy
from jobs.triggers.channels import ChannelWatch
from jobs.triggers.heartbeat import Heartbeat
from jobs.triggers.scheduler import Scheduler

logger = logging.getLogger(__name__)

_EPISODE_GAP = 60.0  # seconds a source ran before failing again: a new lock, said again


class TriggerManager:
    """The sources hand their events to the TriggerExecutor through callbacks given at build."""

    def __init__(
        self,
        *,
        scheduler: Scheduler,
        heartbeat: Heartbeat,
        channels: ChannelWatch,
        busy: BusyPolicy | None = None,
    ) -> None:
        """`busy`: how to wait while the database is locked (default: until it is free)."""
        self.scheduler = scheduler
        self.heartbeat = heartbeat
        self.channels = channels
        self._busy = busy

    async def start(self) -> None:
        """Restore subscriptions and settle runs a crash left open (before any source runs)."""
        watched = await self.channels.restore()
        interrupted = await self.scheduler.recover()
        logger.info(
            "triggers: %d watched chat(s), %d interrupted run(s) reported, heartbeat %s",
            watched,
            len(interrupted),
            "on" if self.heartbeat.enabled else "off",
        )

    async def run(self) -> None:
        """`start()`, then every source until cancelled."""
        # The `what`s name a source in the log only.
        await retry_busy(self.start, what="Starting the triggers", policy=self._busy)  # i18n: skip
        async with asyncio.TaskGroup() as group:
            group.create_task(
                self._outlast(self.scheduler.loop, "The scheduler"), name="scheduler"
            )  # i18n: skip
            group.create_task(
                self._outlast(self.heartbeat.run, "The heartbeat"), name="heartbeat"
            )  # i18n: skip
            group.create_task(  # i18n: skip
                self._outlast(self.channels.run, "The channel watch"), name="channel-watch"
            )

    async def _outlast(self, source: Callable[[], Awaitable[None]], what: str) -> None:
        """Run `source` until cancelled, starting it again after a StorageBusy ended it."""
        loop = asyncio.get_running_loop()
        wait = BusyWait(what=what, policy=self._busy)
        while True:
            started = loop.time()
            try:
                await source()
            except Exception as exc:  # only the lock is waited out (StorageBusy, or a group of it)
                busy = busy_cause(exc)
                if busy is None:
                    raise
                if loop.time() - started > _EPISODE_GAP:  # ran fine meanwhile: a new lock
                    wait = BusyWait(what=what, policy=self._busy)
                await wait.pause(busy)
            else:
                return
