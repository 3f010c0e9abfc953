"""The application: every component built once, in order, wired by constructor; run and stop.

`build` makes the core (storage, sessions, dispatcher, delivery) and the owner's features
(`features.py`) for any Channel; `modes.py` puts it behind Telegram or the terminal.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from jobs import features
from jobs.clock import Clock, utc_now
from jobs.config import ExternalUsers, Settings
from jobs.conversation.answer import Answers
from jobs.conversation.approvals import ApprovalBroker
from jobs.conversation.attachments import Attachments
from jobs.conversation.builtin_commands import builtin_commands
from jobs.conversation.commands import CommandTable
from jobs.conversation.delivery import OutboxSender
from jobs.conversation.dispatcher import Dispatcher
from jobs.conversation.grants import GrantBook
from jobs.conversation.groups import EnabledGroups
from jobs.conversation.handover import Handovers
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
from jobs.extensions.active import Extensions
from jobs.extensions.secret_store import FILE_NAME as SECRETS_FILE
from jobs.extensions.secret_store import SecretStore
from jobs.extensions.skill_plugins import SkillPlugins
from jobs.features import Core, SpendingParts, TelegramParts
from jobs.health import Health
from jobs.home import tighten
from jobs.i18n.catalogs import Catalogs
from jobs.i18n.detect import FastTextDetector
from jobs.i18n.speakers import Speakers
from jobs.logs import installed_redactors
from jobs.memory import MemoryContext, MemoryStore
from jobs.memory.history import ChatHistory
from jobs.messages import Channel
from jobs.redaction import KnownSecrets
from jobs.sessions.manager import SessionManager, SessionSettings
from jobs.storage import Database
from jobs.storage.busy import retry_busy
from jobs.storage.repos import Repos
from jobs.telegram.formatting import render_guarded
from jobs.tools.browser import BrowserTools
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
        handovers: Handovers,
        groups: EnabledGroups,
        history: ChatHistory,
        pause: PauseControl,
    ) -> None:
        """`submit`: where a channel hands each message (the dispatcher, behind /secret);
        `handovers`: told when the owner writes to someone themselves."""
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
        self.handovers = handovers
        self.groups = groups
        self.history = history
        self.account = core.account
        self.pause = pause
        self._closing = core.closing
        self._serve_health = core.settings.health_port != 0

    async def run(self, *, policy: ExternalUsers) -> None:
        await retry_busy(
            lambda: self.dispatcher.start(policy=policy),
            what="Starting the dispatcher",  # i18n: skip (the log's)
        )
        self.history.catch_up()  # connected now: what the opted-in chats got meanwhile
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
    core = await _core(
        settings, channel=channel, owner_id=owner_id, clock=clock, only_chat=only_chat, known=known
    )
    engine = await _engine(core, extra_env, telegram)
    restart = Restart()
    commands = _commands(core, engine, restart)
    handovers = features.handovers(
        core, engine.delegation, commands, telegram.people if telegram else None
    )
    groups = await features.groups(core, telegram, engine.triggers.channels)
    history = await features.history(core, telegram)
    intake = features.secret_intake(core, commands, telegram, owner_id)
    dispatcher = _dispatcher(
        core,
        channel,
        owner_id,
        engine,
        commands=commands,
        handovers=handovers,
        groups=groups,
        hooks=_turn_hooks(core, telegram, engine),
    )
    pause = _pause(core, engine, dispatcher)
    pause.add_commands(commands)
    return App(
        core=core,
        sessions=engine.sessions,
        dispatcher=dispatcher,
        memory=engine.memory,
        triggers=engine.triggers,
        delegation=engine.delegation,
        restart=restart,
        health=Health(
            host=settings.health_host,
            port=settings.health_port,
            db_depth=core.repos.outbox.pending_count,
        ),
        submit=intake.wrap(dispatcher.submit),
        handovers=handovers,
        groups=groups,
        history=history,
        pause=pause,
    )


@dataclass(frozen=True, slots=True)
class _Engine:
    """What runs turns, made before the conversation that asks for them: the sessions and
    what they need (memory, browser, approvals, budgets), tasks, outages and triggers."""

    memory: MemoryStore
    browser: BrowserTools | None
    attachments: Attachments | None
    grants: GrantBook
    approvals: ApprovalBroker
    limits: RateLimitBoard
    spent: SpendingParts
    sessions: SessionManager
    delegation: TaskSessions
    outages: Outages
    executor: TriggerExecutor
    triggers: TriggerManager


async def _engine(
    core: Core, extra_env: Mapping[str, str] | None, telegram: TelegramParts | None
) -> _Engine:
    """The engine's parts, each once, in the order they need each other."""
    features.external_tasks(core)
    memory = await features.memory(core)
    browser = await features.browser(core)
    attachments = features.telegram(core, telegram)
    grants = features.grants(core)
    approvals = await features.approvals(core, grants, telegram.cards if telegram else None)
    limits = RateLimitBoard(clock=core.clock)  # what Claude Code last said about rate limits
    extensions = features.extensions(core)
    spent = await features.spending(core)
    sessions = _sessions(
        core,
        extra_env,
        extensions=extensions,
        memory=memory,
        approvals=approvals,
        limits=limits,
        spent=spent,
    )
    delegation = features.delegation(core, sessions, telegram.people if telegram else None)
    outages = _outages(core)
    executor, triggers = _triggers(core, sessions, outages, delegation, telegram)
    return _Engine(
        memory=memory,
        browser=browser,
        attachments=attachments,
        grants=grants,
        approvals=approvals,
        limits=limits,
        spent=spent,
        sessions=sessions,
        delegation=delegation,
        outages=outages,
        executor=executor,
        triggers=triggers,
    )


def _outages(core: Core) -> Outages:
    """Whether the model is down, and the messages that wait for it to come back."""
    return Outages(
        first_wait=core.settings.model_retry_seconds,
        clock=core.clock,
        inbox=core.repos.inbox,
        outbox=core.repos.outbox,
        words_for=core.speakers.words_for,
    )


def _commands(core: Core, engine: _Engine, restart: Restart) -> CommandTable:
    """Everyone's commands (/stop, /clear, /language, …) and the owner's own."""
    people, grants = core.repos.people, engine.grants
    commands = builtin_commands(
        sessions=engine.sessions, people=people, approvals=engine.approvals, grants=grants
    )
    commands.add("language", language_command(speakers=core.speakers, people=people))
    features.owner_commands(
        core,
        commands,
        engine.sessions,
        restart,
        engine.limits,
        engine.spent,
        engine.outages.describe,
        grants=grants,
    )
    return commands


def _turn_hooks(core: Core, telegram: TelegramParts | None, engine: _Engine) -> TurnHooks:
    """What a turn's prompt is made with, besides the message: files and voice notes, a
    task's turns, the browser's health, a group's recent lines, the writer's language."""
    browser = engine.browser
    return TurnHooks(
        attachments=engine.attachments,
        task_turns=engine.delegation,
        owner_note=browser.health.owner_note if browser else None,
        group_context=telegram.group_context if telegram else None,
        language_note=core.speakers.model_note,
    )


def _pause(core: Core, engine: _Engine, dispatcher: Dispatcher) -> PauseControl:
    """/pause and /resume: the spending switch, the turns it stops, what it holds back."""
    return PauseControl(
        PauseParts(
            switch=engine.spent.pause,
            stop_running=engine.sessions.hold_others,
            release_messages=dispatcher.release_held,
            held_events=core.repos.held_events.count,
            after_resume=(engine.executor.replay_held, engine.delegation.resume_due),
        )
    )


async def _core(
    settings: Settings,
    *,
    channel: Channel,
    owner_id: int,
    clock: Clock,
    only_chat: int | None,
    known: KnownSecrets | None,
) -> Core:
    """What every part is built on: the private folders, secrets, the database and its
    repositories, who speaks what, and the outbox's sender."""
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
    return Core(
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


def _sessions(
    core: Core,
    extra_env: Mapping[str, str] | None,
    *,
    extensions: Extensions,
    memory: MemoryStore,
    approvals: ApprovalBroker,
    limits: RateLimitBoard,
    spent: SpendingParts,
) -> SessionManager:
    """The Claude Code sessions: each role's tools, the owner's extensions and skills, the
    memory's context, approvals, budgets and what reads outside text."""
    settings, repos = core.settings, core.repos
    return SessionManager(
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
        clock=core.clock,
        gate=spent.gate,
        models=spent.models,
    )


def _triggers(
    core: Core,
    sessions: SessionManager,
    outages: Outages,
    delegation: TaskSessions,
    telegram: TelegramParts | None,
) -> tuple[TriggerExecutor, TriggerManager]:
    """Schedules, the heartbeat and watched channels, and what runs their turns."""
    repos = core.repos
    executor = TriggerExecutor(
        sessions=sessions,
        outbox=repos.outbox,
        owner_chat=core.owner_chat,
        clock=core.clock,
        zone=core.settings.zone,
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
    return executor, triggers


def _dispatcher(
    core: Core,
    channel: Channel,
    owner_id: int,
    engine: _Engine,
    *,
    commands: CommandTable,
    handovers: Handovers,
    groups: EnabledGroups,
    hooks: TurnHooks,
) -> Dispatcher:
    """The conversation: each chat's worker, its turns through the sessions, and what they
    answer through the outbox."""
    repos, settings, clock = core.repos, core.settings, core.clock
    sessions = engine.sessions
    turns = Turns(
        sessions=sessions,
        channel=channel,
        uploads_dir=core.uploads,
        hooks=hooks,
        previews=repos.outbox,
        words_for=core.speakers.words_for,
    )
    answers = Answers(
        inbox=repos.inbox,
        outbox=repos.outbox,
        sessions=sessions,
        task_turns=engine.delegation,
        record=engine.memory.record_exchange,
        guard_markup=render_guarded,
        words_for=core.speakers.words_for,
    )
    return Dispatcher(
        services=ChatServices(
            inbox=repos.inbox,
            outbox=repos.outbox,
            people=repos.people,
            commands=commands,
            turns=turns,
            answers=answers,
            outages=engine.outages,
            limiter=RateLimiter(clock=clock),
            owner_id=owner_id,
            # Other people's turns leave one live session free: the owner never waits for room.
            slots=asyncio.Semaphore(max(1, settings.max_live_sessions - 1)),
            tasks=repos.tasks,
            reply_command=engine.approvals.command_for_reply,
            handovers=handovers,
            reply_modes=repos.reply_modes,
            groups=groups,
            account=core.account,
            spending=engine.spent.gate,
            speakers=core.speakers,
        ),
        clock=clock,
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
