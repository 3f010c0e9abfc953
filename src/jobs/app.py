"""The application: every component built once, in order, wired by constructor; run and stop.

`build` makes the core (storage, sessions, dispatcher, delivery) and the owner's features
(`features.py`) for any Channel; `modes.py` puts it behind Telegram or the terminal.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine, Mapping
from typing import Any

from jobs import features
from jobs.clock import Clock, utc_now
from jobs.config import ExternalUsers, Settings
from jobs.conversation.answer import Answers
from jobs.conversation.builtin_commands import builtin_commands
from jobs.conversation.delivery import OutboxSender
from jobs.conversation.dispatcher import Dispatcher
from jobs.conversation.language_command import language_command
from jobs.conversation.limits import RateLimiter
from jobs.conversation.outage import Outages
from jobs.conversation.pause_control import PauseControl, PauseParts
from jobs.conversation.routes import default_policy
from jobs.conversation.secret_intake import Submit
from jobs.conversation.status import RateLimitBoard
from jobs.conversation.turn import TurnHooks, Turns
from jobs.conversation.worker import ChatServices
from jobs.delegation import TaskSessions
from jobs.extensions.secret_store import FILE_NAME as SECRETS_FILE
from jobs.extensions.secret_store import SecretStore
from jobs.extensions.skill_plugins import SkillPlugins
from jobs.features import Core, TelegramParts
from jobs.health import Health
from jobs.home import tighten
from jobs.i18n.catalogs import Catalogs
from jobs.i18n.detect import FastTextDetector
from jobs.i18n.speakers import Speakers
from jobs.logs import installed_redactors
from jobs.memory import MemoryContext, MemoryStore
from jobs.messages import Channel
from jobs.redaction import KnownSecrets
from jobs.sessions.manager import SessionManager, SessionSettings
from jobs.storage import Database
from jobs.storage.busy import retry_busy
from jobs.storage.repos import Repos
from jobs.telegram.formatting import render_guarded
from jobs.tools.registry import ToolServers
from jobs.triggers import TriggerExecutor, TriggerManager
from jobs.updater import Restart

logger = logging.getLogger(__name__)

IDLE_SESSION_SECONDS = 15 * 60  # a CLI process idle this long is closed; it resumes on demand


class App:
    """The running core. `run` until cancelled; `aclose` releases processes and the database."""

    def __init__(  # noqa: PLR0913 - the running parts, each stopped in its turn by aclose
        self,
        *,
        core: Core,
        sessions: SessionManager,
        dispatcher: Dispatcher,
        memory: MemoryStore,
        triggers: TriggerManager,
        delegation: TaskSessions,
        restart: Restart,
        health: Health,
        submit: Submit,
        pause: PauseControl,
    ) -> None:
        """`submit`: where a channel hands each message (the dispatcher, behind /secret)."""
        self.db = core.db
        self.repos = core.repos
        self.sender = core.sender
        self.sessions = sessions
        self.dispatcher = dispatcher
        self.memory = memory
        self.triggers = triggers
        self.delegation = delegation
        self.restart = restart
        self.health = health
        self.submit = submit
        self.pause = pause
        self._closing = core.closing
        self._serve_health = core.settings.health_port != 0

    async def run(self, *, policy: ExternalUsers) -> None:
        await retry_busy(
            lambda: self.dispatcher.start(policy=policy),
            what="Starting the dispatcher",  # i18n: skip (the log's)
        )
        async with asyncio.TaskGroup() as group:
            group.create_task(self.sender.run(), name="outbox")
            group.create_task(self._close_idle_sessions(), name="idle-sessions")
            group.create_task(self.memory.run(), name="memory-index")
            group.create_task(self.triggers.run(), name="triggers")
            group.create_task(self.health.run(listen=self._serve_health), name="health")
            group.create_task(self.pause.run(), name="after-resume")

    async def settle(self) -> None:
        """Let the messages being handled finish and their replies go out (before a restart)."""
        await self.dispatcher.wait_idle()
        await self.sender.drain()

    async def _close_idle_sessions(self) -> None:
        while True:
            await asyncio.sleep(60)
            await self.sessions.close_idle(IDLE_SESSION_SECONDS)

    async def aclose(self) -> None:
        await self.dispatcher.aclose()
        await self.delegation.aclose()  # task turns running in the background
        await self.sessions.aclose()
        await self._closing.aclose()  # what features started (after the sessions using it)
        await self.memory.aclose()
        await self.db.close()


async def build(
    settings: Settings,
    *,
    channel: Channel,
    owner_id: int,
    clock: Clock = utc_now,
    extra_env: Mapping[str, str] | None = None,
    only_chat: int | None = None,
    telegram: TelegramParts | None = None,
    known: KnownSecrets | None = None,
) -> App:
    """Open the database and make every component once, each handed its collaborators.

    `only_chat`: the terminal's chat; its outbox rows are the only ones sent, and the owner's
    notices (schedules, summaries) go there. `telegram`: what only Telegram provides.
    `known`: the secret values masked wherever text leaves Jobs (the settings' ones when not
    given); the owner's stored secrets join it, and so does the log filter set up at start.
    """
    # 0700 folders and 0600 files, an older install's looser modes tightened (jobs.home).
    tighten(settings.data_dir, settings.workspace_dir)
    known = known if known is not None else KnownSecrets(settings.secret_values())
    for redactor in installed_redactors():
        redactor.also(known)
    secrets = SecretStore(path=settings.data_dir / SECRETS_FILE, known=known)
    db = await Database.open(settings.db_path, clock=clock)
    repos = Repos.on(db, secrets=known)
    speakers = Speakers(
        catalogs=Catalogs.shipped(),
        repo=repos.languages,
        detector=FastTextDetector(),
        owner_id=owner_id,
        owner_default=settings.owner_language,
    )
    sender = OutboxSender(
        outbox=repos.outbox,
        channel=channel,
        clock=clock,
        only_chat=only_chat,
        owner_chat=owner_id if only_chat is None else None,
        people=repos.people,
        words=speakers.owner,
    )
    core = Core(
        settings=settings,
        db=db,
        repos=repos,
        tools=ToolServers(),
        sender=sender,
        owner_chat=only_chat if only_chat is not None else owner_id,
        clock=clock,
        secrets=secrets,
        speakers=speakers,
    )
    features.external_tasks(core)
    memory = await features.memory(core)
    browser = await features.browser(core)
    attachments = features.telegram(core, telegram)
    grants = features.grants(core)
    approvals = await features.approvals(core, grants, telegram.cards if telegram else None)
    limits = RateLimitBoard(clock=clock)  # what Claude Code last said about rate limits
    extensions = features.extensions(core)
    spent = await features.spending(core)
    sessions = SessionManager(
        config=SessionSettings.from_settings(settings, extra_env=extra_env),
        sessions=repos.sessions,
        usage=repos.usage,
        audit=repos.audit,
        tools=core.tools,
        read_only_tools=features.READ_ONLY_TOOLS,
        extensions=extensions,
        context=MemoryContext(files=memory.files),
        approver=approvals,
        on_rate_limit=limits.note,
        outside=features.outside_input(core, extensions),
        skills=SkillPlugins(
            workspace=settings.workspace_dir, root=settings.data_dir / "skill-plugins"
        ),
        clock=clock,
        gate=spent.gate,
        models=spent.models,
    )
    delegation = features.delegation(core, sessions, telegram.people if telegram else None)
    outages = Outages(
        first_wait=settings.model_retry_seconds,
        clock=clock,
        inbox=repos.inbox,
        outbox=repos.outbox,
        words_for=core.speakers.words_for,
    )
    executor = TriggerExecutor(
        sessions=sessions,
        outbox=repos.outbox,
        owner_chat=core.owner_chat,
        clock=clock,
        zone=settings.zone,
        model_down=outages.is_down,
        task_turn=delegation.trigger_turn,
        held=repos.held_events,
        words=core.speakers.owner,
    )
    triggers = features.triggers(
        core,
        executor,
        chats=telegram.chats if telegram else None,
        on_heartbeat_tasks=delegation.resume_due,
    )
    restart = Restart()
    commands = builtin_commands(
        sessions=sessions, people=repos.people, approvals=approvals, grants=grants
    )
    commands.add("language", language_command(speakers=core.speakers, people=repos.people))
    features.owner_commands(
        core, commands, sessions, restart, limits, spent, outages.describe, grants=grants
    )
    intake = features.secret_intake(core, commands, telegram, owner_id)
    turns = Turns(
        sessions=sessions,
        channel=channel,
        uploads_dir=core.uploads,
        hooks=TurnHooks(
            attachments=attachments,
            task_turns=delegation,
            owner_note=browser.health.owner_note if browser else None,
            language_note=core.speakers.model_note,
        ),
        previews=repos.outbox,
        words_for=core.speakers.words_for,
    )
    answers = Answers(
        inbox=repos.inbox,
        outbox=repos.outbox,
        sessions=sessions,
        task_turns=delegation,
        record=memory.record_exchange,
        guard_markup=render_guarded,
        words_for=core.speakers.words_for,
    )
    dispatcher = Dispatcher(
        services=ChatServices(
            inbox=repos.inbox,
            outbox=repos.outbox,
            people=repos.people,
            commands=commands,
            turns=turns,
            answers=answers,
            outages=outages,
            limiter=RateLimiter(clock=clock),
            owner_id=owner_id,
            # Other people's turns leave one live session free: the owner never waits for room.
            slots=asyncio.Semaphore(max(1, settings.max_live_sessions - 1)),
            tasks=repos.tasks,
            reply_command=approvals.command_for_reply,
            spending=spent.gate,
            speakers=core.speakers,
        ),
        clock=clock,
    )
    pause = PauseControl(
        PauseParts(
            switch=spent.pause,
            stop_running=sessions.hold_others,
            release_messages=dispatcher.release_held,
            held_events=repos.held_events.count,
            after_resume=(executor.replay_held, delegation.resume_due),
        )
    )
    pause.add_commands(commands)
    return App(
        core=core,
        sessions=sessions,
        dispatcher=dispatcher,
        memory=memory,
        triggers=triggers,
        delegation=delegation,
        restart=restart,
        health=Health(
            host=settings.health_host,
            port=settings.health_port,
            db_depth=repos.outbox.pending_count,
        ),
        submit=intake.wrap(dispatcher.submit),
        pause=pause,
    )


def effective_policy(settings: Settings, *, own_account: bool) -> ExternalUsers:
    return settings.external_users or default_policy(own_account=own_account)


async def serve(app: App, *, policy: ExternalUsers, alongside: Coroutine[Any, Any, object]) -> None:
    """Run the app and `alongside` (the channel's own loop) until a signal, a restart request
    (/update), or either one ends.

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
        asyncio.create_task(app.restart.wait(settle=app.settle), name="restart"),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and (error := task.exception()) is not None:
                raise error
        logger.info("Restarting" if app.restart.requested else "Stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await app.aclose()
