"""The application: every component built once, in order, wired by constructor; run and stop.

`build` makes the core (storage, sessions, dispatcher, delivery) for any Channel; `run_telegram`
and `run_terminal` put it behind Telegram or the terminal.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from jobs.clock import Clock, utc_now
from jobs.config import ExternalUsers, Settings
from jobs.conversation.builtin_commands import builtin_commands
from jobs.conversation.delivery import OutboxSender
from jobs.conversation.dispatcher import Dispatcher
from jobs.conversation.limits import RateLimiter
from jobs.conversation.router import default_policy
from jobs.conversation.turns import TurnRunner
from jobs.messages import Channel, OutboundMessage
from jobs.sessions.manager import SessionManager, SessionSettings
from jobs.storage import (
    AuditRepo,
    Database,
    InboxRepo,
    OutboxRepo,
    PeopleRepo,
    SessionRepo,
    TaskRepo,
    UsageRepo,
)
from jobs.tools.registry import ToolServers
from jobs.tools.tasks import ExternalTaskTools, NotifyOwner

logger = logging.getLogger(__name__)

IDLE_SESSION_SECONDS = 15 * 60  # a CLI process idle this long is closed; it resumes on demand


@dataclass(frozen=True, slots=True)
class Repos:
    inbox: InboxRepo
    outbox: OutboxRepo
    people: PeopleRepo
    sessions: SessionRepo
    tasks: TaskRepo
    audit: AuditRepo
    usage: UsageRepo

    @classmethod
    def on(cls, db: Database) -> Repos:
        return cls(
            inbox=InboxRepo(db),
            outbox=OutboxRepo(db),
            people=PeopleRepo(db),
            sessions=SessionRepo(db),
            tasks=TaskRepo(db),
            audit=AuditRepo(db),
            usage=UsageRepo(db),
        )


class App:
    """The running core. `run` until cancelled; `aclose` releases processes and the database."""

    def __init__(
        self,
        *,
        db: Database,
        repos: Repos,
        sessions: SessionManager,
        dispatcher: Dispatcher,
        sender: OutboxSender,
    ) -> None:
        self.db = db
        self.repos = repos
        self.sessions = sessions
        self.dispatcher = dispatcher
        self.sender = sender

    async def run(self, *, policy: ExternalUsers) -> None:
        await self.dispatcher.start(policy=policy)
        async with asyncio.TaskGroup() as group:
            group.create_task(self.sender.run(), name="outbox")
            group.create_task(self._close_idle_sessions(), name="idle-sessions")

    async def _close_idle_sessions(self) -> None:
        while True:
            await asyncio.sleep(60)
            await self.sessions.close_idle(IDLE_SESSION_SECONDS)

    async def aclose(self) -> None:
        await self.dispatcher.aclose()
        await self.sessions.aclose()
        await self.db.close()


async def build(
    settings: Settings,
    *,
    channel: Channel,
    owner_id: int,
    clock: Clock = utc_now,
    extra_env: Mapping[str, str] | None = None,
    only_chat: int | None = None,
) -> App:
    """Open the database and make every component once, each handed its collaborators."""
    for folder in (settings.data_dir, settings.workspace_dir):
        folder.mkdir(parents=True, exist_ok=True)
    db = await Database.open(settings.db_path, clock=clock)
    repos = Repos.on(db)
    sender = OutboxSender(outbox=repos.outbox, channel=channel, clock=clock, only_chat=only_chat)
    tools = ToolServers()
    tools.register(
        ExternalTaskTools(
            tasks=repos.tasks, clock=clock, notify_owner=_summary_to_owner(repos, sender, owner_id)
        ).server()
    )
    sessions = SessionManager(
        config=SessionSettings.from_settings(settings, extra_env=extra_env),
        sessions=repos.sessions,
        usage=repos.usage,
        audit=repos.audit,
        tools=tools,
    )
    commands = builtin_commands(sessions=sessions, people=repos.people)
    turns = TurnRunner(
        sessions=sessions,
        inbox=repos.inbox,
        outbox=repos.outbox,
        channel=channel,
        commands=commands,
        on_outbox=sender.wake,
        uploads_dir=settings.workspace_dir / "uploads",
    )
    dispatcher = Dispatcher(
        inbox=repos.inbox,
        outbox=repos.outbox,
        people=repos.people,
        commands=commands,
        turns=turns,
        limiter=RateLimiter(clock=clock),
        owner_id=owner_id,
    )
    return App(db=db, repos=repos, sessions=sessions, dispatcher=dispatcher, sender=sender)


def _summary_to_owner(repos: Repos, sender: OutboxSender, owner_id: int) -> NotifyOwner:
    async def notify(person_id: int, text: str) -> None:
        person = await repos.people.get(person_id)
        who = person.display_name if person and person.display_name else f"id {person_id}"
        handle = f" (@{person.username})" if person and person.username else ""
        await repos.outbox.enqueue(
            [OutboundMessage(chat_id=owner_id, text=f"Summary from {who}{handle}:\n\n{text}")]
        )
        sender.wake()

    return notify


def effective_policy(settings: Settings, *, own_account: bool) -> ExternalUsers:
    return settings.external_users or default_policy(own_account=own_account)


async def serve(app: App, *, policy: ExternalUsers, alongside: Coroutine[Any, Any, object]) -> None:
    """Run the app and `alongside` (the channel's own loop) until a signal or either one ends.

    On SIGTERM/SIGINT every task is cancelled: a turn in flight is interrupted and its message
    stays in the inbox, so it is answered after the next start.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [
        asyncio.create_task(app.run(policy=policy), name="app"),
        asyncio.create_task(alongside, name="channel"),
        asyncio.create_task(stop.wait(), name="signals"),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and (error := task.exception()) is not None:
                raise error
        logger.info("Stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await app.aclose()
