"""/pause and /resume: one command holds every turn the owner did not start — other people's,
tasks', triggers' — at once, running ones stopped and new ones held, nothing lost; /resume
lets them all go on. The switch is kept in the database, so a restart in between keeps it.

What /resume releases runs in the background (`run`): the held messages, the triggers held
meanwhile, the tasks whose step is due; the owner's answer does not wait for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from jobs.conversation.commands import Command, CommandContext, CommandSpec, CommandTable
from jobs.errors import TurnRefused
from jobs.i18n.translator import gettext_noop
from jobs.spending import PauseSwitch

logger = logging.getLogger(__name__)

StopRunning = Callable[[TurnRefused], Awaitable[int]]
"""Stops the running turns the owner did not start (SessionManager.hold_others); how many."""
AfterResume = Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class PauseParts:
    """What /pause and /resume act on (made in app.py)."""

    switch: PauseSwitch
    stop_running: StopRunning
    release_messages: Callable[[], Awaitable[int]]
    """The held messages due again (Dispatcher.release_held); how many."""
    held_events: Callable[[], Awaitable[int]]
    """How many trigger events wait (HeldEventRepo.count)."""
    after_resume: Sequence[AfterResume] = ()
    """Run in the background after /resume (the held triggers, the tasks due)."""


class PauseControl:
    """The commands, and the background work /resume starts (`run` until cancelled)."""

    def __init__(self, parts: PauseParts, /) -> None:
        self._parts = parts
        self._resumed = asyncio.Event()

    @property
    def paused(self) -> bool:
        return self._parts.switch.paused

    def add_commands(self, table: CommandTable, /) -> None:
        table.add(
            "pause",
            CommandSpec(
                self._pause,
                gettext_noop(
                    "hold everything but your own messages (other people, tasks, triggers)"
                ),
                owner_only=True,
                immediate=True,
            ),
        )
        table.add(
            "resume",
            CommandSpec(self._resume, gettext_noop("let what /pause holds go on"), owner_only=True),
        )

    async def run(self) -> None:
        """After each /resume (and at start, unless paused: what a restart interrupted), run
        what was held."""
        if not self.paused:
            self._resumed.set()
        while True:
            await self._resumed.wait()
            self._resumed.clear()
            for work in self._parts.after_resume:
                if self.paused:
                    break  # paused again meanwhile: the rest waits for the next /resume
                try:
                    await work()
                except Exception:  # the loop's boundary: the next /resume tries again
                    logger.exception("resuming after /pause failed")

    async def _pause(self, ctx: CommandContext, command: Command) -> str:
        t = ctx.words
        switch = self._parts.switch
        if not await switch.pause():
            return t.gettext("Already paused: /resume lets everything go on.")
        # The reason is for the log: a turn held by /pause tells no one.
        reason = TurnRefused(
            "Stopped by /pause: it runs again after /resume.", paused=True
        )  # i18n: skip
        stopped = await self._parts.stop_running(reason)
        if stopped:
            return t.ngettext(
                "Paused. I stopped {n} running turn; it runs again after /resume. Messages from "
                "other people, tasks and triggers wait until /resume; your own messages go on.",
                "Paused. I stopped {n} running turns; they run again after /resume. Messages "
                "from other people, tasks and triggers wait until /resume; your own messages go "
                "on.",
                stopped,
            )
        return t.gettext(
            "Paused. Messages from other people, tasks and triggers wait until /resume; "
            "your own messages go on."
        )

    async def _resume(self, ctx: CommandContext, command: Command) -> str:
        t = ctx.words
        switch = self._parts.switch
        if not await switch.resume():
            return t.gettext("Nothing is paused.")
        messages = await self._parts.release_messages()
        events = await self._parts.held_events()
        self._resumed.set()
        return t.gettext(
            "Resumed: {messages} and {events} go on now, and the tasks whose step is due.",
            messages=t.ngettext("{n} held message", "{n} held messages", messages),
            events=t.ngettext("{n} held trigger", "{n} held triggers", events),
        )
