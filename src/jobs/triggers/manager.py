"""TriggerManager: starts the trigger sources (scheduler, heartbeat, channel watch), restores
what they persisted, and stops them together (cancel `run`)."""

from __future__ import annotations

import asyncio
import logging

from jobs.triggers.channels import ChannelWatch
from jobs.triggers.heartbeat import Heartbeat
from jobs.triggers.scheduler import Scheduler

logger = logging.getLogger(__name__)


class TriggerManager:
    """The sources hand their events to the TriggerExecutor through callbacks given at build."""

    def __init__(
        self, *, scheduler: Scheduler, heartbeat: Heartbeat, channels: ChannelWatch
    ) -> None:
        self.scheduler = scheduler
        self.heartbeat = heartbeat
        self.channels = channels

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
        await self.start()
        async with asyncio.TaskGroup() as group:
            group.create_task(self.scheduler.loop(), name="scheduler")
            group.create_task(self.heartbeat.run(), name="heartbeat")
            group.create_task(self.channels.run(), name="channel-watch")
