"""The owner's features, each built once for the app: memory, browser, extensions, delegation,
triggers, Telegram tools, files and voice, and the owner's commands.

Each builder takes the `Core` (settings, storage, tool registry, outbox) and what it alone
needs, registers its tools, and returns what the app keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from jobs.account import Account
from jobs.clock import Clock
from jobs.config import Settings
from jobs.conversation.approvals import ApprovalBroker, ApprovalCards
from jobs.conversation.attachments import Attachments, MediaFetcher
from jobs.conversation.commands import CommandTable
from jobs.conversation.delivery import OutboxSender
from jobs.conversation.grants import GrantBook
from jobs.conversation.groups import EnabledGroups
from jobs.conversation.handover import Handovers, HandoverSettings
from jobs.conversation.secret_intake import MessageEraser, SecretIntake
from jobs.conversation.spend_commands import SpendSources, add_spend_commands, status_lines
from jobs.conversation.status import (
    RateLimitBoard,
    StatusSources,
    status_command,
    tasks_command,
    update_command,
    usage_command,
)
from jobs.conversation.turn import GroupContext
from jobs.conversation.untrusted import one_line
from jobs.delegation import TaskSessions, TaskSessionSettings
from jobs.extensions.active import Extensions
from jobs.extensions.browser import (
    BrowserConfig,
    downloads_dir,
    find_playwright_mcp,
    token_file,
)
from jobs.extensions.bundled import find_bundled_skills, sync_bundled_skills
from jobs.extensions.mcp_servers import McpServers
from jobs.extensions.plugins import Plugins
from jobs.extensions.secret_store import SecretStore
from jobs.extensions.skills import SkillStore
from jobs.i18n.speakers import Speakers
from jobs.i18n.translator import Translator
from jobs.memory import MemoryStore, make_embedder, open_memory
from jobs.memory.history import ChatHistory, HistorySource
from jobs.messages import Body, OutboundMessage
from jobs.richtext import RichText
from jobs.sessions.manager import SessionManager
from jobs.sessions.outside import OutsideInput
from jobs.spending import BudgetBook, Budgets, ModelBook, PauseSwitch, Spending
from jobs.spending.report import UsageReport
from jobs.storage import Database
from jobs.storage.repos import Repos
from jobs.tools import browser as browser_tools
from jobs.tools import conversations as conversation_tools
from jobs.tools import extensions as extension_tools
from jobs.tools import groups as group_tools
from jobs.tools import history as history_tools
from jobs.tools import memory as memory_tools
from jobs.tools import schedules as schedule_tools
from jobs.tools import spending as spending_tools
from jobs.tools import telegram as telegram_tools
from jobs.tools import triggers as trigger_tools
from jobs.tools.browser import BrowserTools
from jobs.tools.browser_admin import BrowserAdminTools
from jobs.tools.delegation import DelegationTools
from jobs.tools.messaging import MessagingTools, PersonLookup, PersonResolver
from jobs.tools.registry import ToolServers
from jobs.tools.spending import SpendingTools
from jobs.tools.task_fields import TaskFields
from jobs.tools.task_tools import TaskSessionTools
from jobs.tools.tasks import ExternalTaskTools
from jobs.tools.telegram_account import TelegramAccount
from jobs.triggers import (
    ChannelWatch,
    Heartbeat,
    QuietHours,
    Scheduler,
    TriggerExecutor,
    TriggerManager,
)
from jobs.triggers.heartbeat import OnHeartbeatTasks
from jobs.updater import Restart, Updater, default_repo_dir
from jobs.voice import make_transcriber

logger = logging.getLogger(__name__)

# Jobs tools a tainted session (one that took in text nobody trusted typed) may still use.
READ_ONLY_TOOLS = (
    memory_tools.READ_ONLY_TOOLS
    | schedule_tools.READ_ONLY_TOOLS
    | trigger_tools.READ_ONLY_TOOLS
    | extension_tools.READ_ONLY_TOOLS
    | telegram_tools.READ_ONLY_TOOLS
    | browser_tools.READ_ONLY_TOOLS
    | history_tools.READ_ONLY_TOOLS
    | spending_tools.READ_ONLY_TOOLS
)


@dataclass(frozen=True, slots=True)
class TelegramParts:
    """What only Telegram gives the core: the account behind the owner's Telegram tools, the
    downloader of files and voice notes, and who is who (`jobs chat` has none of them)."""

    account: TelegramAccount
    media: MediaFetcher
    chats: trigger_tools.ChatResolver
    people: PersonResolver
    cards: ApprovalCards | None = None
    """The companion bot's approval cards, when TG_BOT_TOKEN is set."""
    eraser: MessageEraser | None = None
    """Deletes a message the owner sent a secret in."""
    groups: group_tools.GroupFinder | None = None
    """Finds the group chats the owner names."""
    group_context: GroupContext | None = None
    """Reads what was said in an enabled group before someone there asked."""
    history: HistorySource | None = None
    """Reads the chats the owner opted in to Jobs' memory."""


@dataclass(frozen=True, slots=True)
class Core:
    """What every feature builder needs."""

    settings: Settings
    db: Database
    repos: Repos
    tools: ToolServers
    sender: OutboxSender
    owner_chat: int
    """Where the owner's notices go: their chat, or the terminal's in `jobs chat`."""
    clock: Clock
    secrets: SecretStore
    """The owner's secrets given in chat (/secret NAME), by name."""
    speakers: Speakers
    """Who speaks which language: `speakers.owner()` are the words of every owner notice."""
    closing: AsyncExitStack = field(default_factory=AsyncExitStack)
    """What features start and the app stops after the sessions (the Playwright MCP server)."""
    account: Account = field(default_factory=Account)
    """Which account Jobs runs in (set once Telegram is connected)."""

    async def to_owner(self, body: Body, photo: Path | None = None) -> None:
        """A message (or a photo with `body` as caption) to the owner, through the outbox."""
        message = OutboundMessage.formatted(self.owner_chat, body)
        if photo is not None:
            message = replace(message, kind="photo", file_path=str(photo))
        await self.repos.outbox.enqueue([message])

    @property
    def uploads(self) -> Path:
        return self.settings.workspace_dir / "uploads"


@dataclass(frozen=True, slots=True)
class SpendingParts:
    """What Jobs spends and the owner's control of it (made once, loaded from the database)."""

    gate: Spending
    models: ModelBook
    report: UsageReport

    @property
    def pause(self) -> PauseSwitch:
        return self.gate.pause

    @property
    def budgets(self) -> Budgets:
        return self.gate.budgets


async def spending(core: Core) -> SpendingParts:
    """The models by role, the budgets, /pause, the usage report and the owner's usage tool."""
    settings, repos = core.settings, core.repos
    models = ModelBook(
        defaults={
            "owner": settings.owner_model,
            "people": settings.people_model,
            "tasks": settings.task_model,
            "triggers": settings.trigger_model,
        },
        repo=repos.controls,
    )
    book = BudgetBook(
        defaults={
            "owner": settings.budget_owner_daily,
            "people": settings.budget_person_daily,
            "tasks": settings.budget_task_daily,
            "triggers": settings.budget_triggers_daily,
            "month": settings.budget_monthly,
        },
        repo=repos.budgets,
    )
    pause = PauseSwitch(repo=repos.controls)
    for loading in (models.load, book.load, pause.load):
        await loading()
    gate = Spending(
        budgets=Budgets(book=book, usage=repos.usage, clock=core.clock, zone=settings.zone),
        pause=pause,
        notices=repos.budgets,
        outbox=repos.outbox,
        owner_chat=core.owner_chat,
        people=repos.people,
        tasks=repos.tasks,
        owner_words=core.speakers.owner,
    )
    report = UsageReport(
        usage=repos.usage,
        people=repos.people,
        tasks=repos.tasks,
        clock=core.clock,
        zone=settings.zone,
    )

    async def usage_report(period: str) -> str:
        text = await report.text(
            "week" if period == "week" else "month" if period == "month" else "today"
        )
        return f"{await report.week_line()}\n\n{text}" if period == "week" else text

    core.tools.register(SpendingTools(report=usage_report).server())
    return SpendingParts(gate=gate, models=models, report=report)


def external_tasks(core: Core) -> None:
    """The three tools of other people's sessions."""

    async def summary(person_id: int, text: str) -> None:
        person = await core.repos.people.get(person_id)
        who = person.display_name if person and person.display_name else f"id {person_id}"
        handle = f" (@{one_line(person.username)})" if person and person.username else ""
        # Their name and their words: plain and quoted, never formatting or links of theirs.
        t = await core.speakers.owner()
        notice = t.rich(RichText(), "Summary from {who}:\n\n", who=one_line(who) + handle)
        await core.to_owner(notice.quote(text).build())

    tasks = ExternalTaskTools(tasks=core.repos.tasks, clock=core.clock, notify_owner=summary)
    core.tools.register(tasks.server())


async def memory(core: Core) -> MemoryStore:
    settings = core.settings
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    embedder = make_embedder(
        api_key=key,
        base_url=settings.openai_base_url,
        model=settings.memory_embedding_model,
        proxy=settings.http_proxy,
    )
    store = open_memory(
        db=core.db,
        workspace=settings.workspace_dir,
        zone=settings.zone,
        embedder=embedder,
        clock=core.clock,
    )
    await store.start()
    core.tools.register(memory_tools.MemoryTools(store=store).server())
    return store


async def browser(core: Core) -> BrowserTools | None:
    """The browser servers, when BROWSER_CDP_URL is set and Playwright MCP is installed."""
    settings = core.settings
    if not settings.browser_cdp_url:
        return None
    command = find_playwright_mcp()
    if command is None:
        logger.warning("BROWSER_CDP_URL is set but @playwright/mcp is missing: npm ci in browser/")
        return None
    workspace = settings.workspace_dir.resolve()
    password = settings.novnc_password
    config = BrowserConfig(
        cdp_url=settings.browser_cdp_url,
        mcp_command=command,
        output_dir=workspace / "browser",
        token_file=token_file(settings.browser_token_file),
        novnc_url=settings.novnc_url,
        novnc_password=password.get_secret_value() if password else None,
    )
    tools = BrowserTools.over(
        config, workspace=workspace, idle_seconds=settings.browser_idle_seconds
    )
    core.tools.register(tools.server())
    core.closing.push_async_callback(tools.aclose)
    admin = BrowserAdminTools(
        config=config,
        to_owner=core.to_owner,
        workspace=workspace,
        downloads=browser_downloads(settings),
        words=core.speakers.owner,
    )
    core.tools.register(admin.server())
    if (problem := await tools.health.problem()) is not None:
        logger.warning("Browser: %s", problem)  # registered anyway: it may come up later
    return tools


def browser_downloads(settings: Settings) -> Path | None:
    """The browser's downloads folder, which send_file may send from (outside the workspace:
    a downloaded CLAUDE.md or .claude/ must never land where Claude Code looks for them)."""
    if not settings.browser_cdp_url:
        return None
    return downloads_dir(settings.browser_downloads_dir)


def extensions(core: Core) -> Extensions:
    settings = core.settings
    bundled = find_bundled_skills()
    sync_bundled_skills(workspace=settings.workspace_dir, bundled=bundled)
    skills = SkillStore(workspace=settings.workspace_dir, bundled=bundled)
    plugins = Plugins(
        root=settings.data_dir / ".claude" / "plugins",
        state_file=settings.data_dir / "plugins.json",
        clock=core.clock,
    )
    # Jobs' own server names are reserved: an owner's server cannot shadow one.
    mcp = McpServers(
        path=settings.data_dir / "mcp_servers.json", reserved=core.tools, secrets=core.secrets
    )
    core.tools.register(
        extension_tools.ExtensionTools(skills=skills, plugins=plugins, mcp=mcp).server()
    )
    return Extensions(mcp=mcp, plugins=plugins, skills=skills)


def secret_intake(
    core: Core, commands: CommandTable, parts: TelegramParts | None, owner_id: int
) -> SecretIntake:
    """/secret NAME and its value, taken before the inbox; /secrets lists and deletes."""
    intake = SecretIntake(
        store=core.secrets,
        owner_id=owner_id,
        outbox=core.repos.outbox,
        clock=core.clock,
        eraser=parts.eraser if parts else None,
        words=core.speakers.owner,
    )
    intake.add_commands(commands)
    return intake


def grants(core: Core) -> GrantBook:
    """The owner's scoped grants ("approve for this task / session")."""
    return GrantBook(grants=core.repos.grants, audit=core.repos.audit)


async def approvals(
    core: Core, grants: GrantBook, cards: ApprovalCards | None = None
) -> ApprovalBroker:
    # A turn's time limit includes the wait for the owner: 10 min, or less to fit in it.
    wait = max(30.0, min(600.0, core.settings.query_timeout_seconds - 60))
    broker = ApprovalBroker(
        approvals=core.repos.approvals,
        outbox=core.repos.outbox,
        owner_chat=core.owner_chat,
        timeout=timedelta(seconds=wait),
        files=core.settings.data_dir / "approvals",
        grants=grants,
        cards=cards,
        words=core.speakers.owner,
    )
    if cards is not None:
        cards.answer_with(
            broker.decide,
            core.repos.audit,
            words=core.speakers.owner,
            app_language=core.speakers.owner_app_language,
        )
    await broker.recover()  # questions of an earlier run: nothing waits for their answer
    return broker


def delegation(core: Core, sessions: SessionManager, people: PersonResolver | None) -> TaskSessions:
    """Task sessions, and the owner's tools that create and drive them (registered after the
    session manager exists: the registry is read when each session starts)."""
    settings, repos = core.settings, core.repos

    async def held(person_id: int) -> bool:  # the owner talks with them: their task waits
        return await repos.handovers.holds(person_id, core.clock())

    task_sessions = TaskSessions(
        sessions=sessions,
        tasks=repos.tasks,
        people=repos.people,
        outbox=repos.outbox,
        clock=core.clock,
        held=held,
        config=TaskSessionSettings(
            owner_chat=core.owner_chat, workspace=settings.workspace_dir, zone=settings.zone
        ),
        words=core.speakers.owner,
    )
    lookup = PersonLookup(people=repos.people, resolver=people)
    core.tools.register(
        DelegationTools(
            tasks=repos.tasks,
            lookup=lookup,
            runner=task_sessions,
            skills_dir=settings.workspace_dir / ".claude" / "skills",
            clock=core.clock,
            zone=settings.zone,
        ).server()
    )
    core.tools.register(
        MessagingTools(
            lookup=lookup,
            outbox=repos.outbox,
            owner_chat=core.owner_chat,
        ).server()
    )
    fields = TaskFields(
        skills_dir=settings.workspace_dir / ".claude" / "skills",
        clock=core.clock,
        zone=settings.zone,
    )
    core.tools.register(
        TaskSessionTools(
            tasks=repos.tasks,
            people=repos.people,
            outbox=repos.outbox,
            owner_chat=core.owner_chat,
            fields=fields,
            clock=core.clock,
        ).server()
    )
    return task_sessions


def outside_input(core: Core, extensions: Extensions) -> OutsideInput:
    """Where text the owner did not type enters the owner's own sessions through their calls
    (web, browser, other people's chats, the owner's MCP servers, files from outside), and
    the files a tainted session may never write."""
    settings = core.settings
    workspace = settings.workspace_dir.resolve()

    def extras() -> dict[str, str]:
        return {  # i18n: skip (taint causes, recorded as said)
            prefix: f"what the MCP server or plugin {prefix.removeprefix('mcp__').strip('_')} "
            "returned"
            for prefix in extensions.tool_prefixes()
        }

    chats = "messages in your Telegram chats (other people's words)"  # i18n: skip (a taint cause)
    remembered = (  # i18n: skip (a taint cause)
        "messages in the chats you opted in to memory (other people's words)"
    )
    fetched = browser_downloads(settings)
    downloads = () if fetched is None else (fetched.resolve(),)
    return OutsideInput(
        workspace=workspace,
        data_dir=settings.data_dir.resolve(),
        ledger=core.repos.tainted_files,
        outside_folders=(core.uploads.resolve(), workspace / "browser", *downloads),
        outside_tools={
            **dict.fromkeys(telegram_tools.READ_ONLY_TOOLS, chats),
            **dict.fromkeys(history_tools.READ_ONLY_TOOLS, remembered),
        },
        extras=extras,
        protected_files=(workspace / "MEMORY.md", workspace / "HEARTBEAT.md"),
    )


def triggers(
    core: Core,
    executor: TriggerExecutor,
    *,
    chats: trigger_tools.ChatResolver | None,
    on_heartbeat_tasks: OnHeartbeatTasks,
) -> TriggerManager:
    settings, repos, clock = core.settings, core.repos, core.clock
    scheduler = Scheduler(
        triggers=repos.triggers,
        outbox=repos.outbox,
        answer=executor.answer,
        owner_chat=core.owner_chat,
        clock=clock,
        words=core.speakers.owner,
    )
    channels = ChannelWatch(triggers=repos.triggers, on_event=executor.run, clock=clock)
    minutes = settings.heartbeat_interval_minutes
    heartbeat = Heartbeat(
        workspace=settings.workspace_dir,
        on_due=executor.run,
        interval=timedelta(minutes=minutes),
        zone=settings.zone,
        quiet=QuietHours.parse(settings.quiet_hours) if settings.quiet_hours else None,
        on_heartbeat_tasks=on_heartbeat_tasks,
        clock=clock,
    )
    core.tools.register(
        schedule_tools.ScheduleTools(
            triggers=repos.triggers,
            calendar=scheduler,
            default_timezone=settings.timezone,
            clock=clock,
        ).server()
    )
    note = (  # i18n: skip (the trigger tools' description, for the model)
        f"Heartbeat: every {minutes} min, checklist HEARTBEAT.md in the workspace."
        if minutes
        else "Heartbeat: off."
    )
    core.tools.register(
        trigger_tools.TriggerTools(
            triggers=repos.triggers, resolver=chats, on_change=channels.restore, heartbeat_note=note
        ).server()
    )
    return TriggerManager(scheduler=scheduler, heartbeat=heartbeat, channels=channels)


def telegram(core: Core, parts: TelegramParts | None) -> Attachments | None:
    """The owner's Telegram tools, and files and voice notes into turns (Telegram only)."""
    if parts is None:
        return None  # the terminal: attachments are only named
    downloads = browser_downloads(core.settings)
    core.tools.register(
        telegram_tools.TelegramTools(
            account=parts.account,
            roots=[core.settings.workspace_dir, *([downloads] if downloads else [])],
            uploads_dir=core.uploads,
            clock=core.clock,
        ).server()
    )
    settings = core.settings
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    transcriber = make_transcriber(
        api_key=key,
        base_url=settings.openai_base_url,
        model=settings.whisper_model,
        proxy=settings.http_proxy,
    )
    return Attachments(
        fetcher=parts.media,
        transcriber=transcriber,
        uploads_dir=core.uploads,
        words_for=core.speakers.words_for,
    )


def owner_commands(
    core: Core,
    commands: CommandTable,
    sessions: SessionManager,
    restart: Restart,
    limits: RateLimitBoard,
    spent: SpendingParts,
    model: Callable[[Translator], str | None] | None = None,
    grants: GrantBook | None = None,
) -> None:
    """/usage, /budget, /model, /status, /tasks and /update (and /revoke, with `grants`).
    `model`: /status's line about the AI service."""
    settings, repos = core.settings, core.repos
    commands.add("usage", usage_command(report=spent.report, limits=limits))
    sources = SpendSources(
        budgets=spent.budgets,
        models=spent.models,
        usage=repos.usage,
        people=repos.people,
        tasks=repos.tasks,
    )
    add_spend_commands(commands, sources)

    async def spending_lines(t: Translator) -> list[str]:
        return await status_lines(
            sources,
            spent.pause,
            t,
            held_messages=repos.inbox.held_count,
            held_events=repos.held_events.count,
        )

    commands.add(
        "status",
        status_command(
            StatusSources(
                sessions=sessions,
                inbox=repos.inbox,
                outbox=repos.outbox,
                tasks=repos.tasks,
                triggers=repos.triggers,
                model=model,
                grants=grants,
                spending=spending_lines,
            )
        ),
    )
    if grants is not None:
        grants.add_commands(commands)
    commands.add("tasks", tasks_command(tasks=repos.tasks, people=repos.people))
    updater = Updater(
        restart=restart,
        repo_dir=settings.update_repo_dir or default_repo_dir(),
        command=settings.update_command,
    )
    commands.add("update", update_command(updater))


def handovers(
    core: Core, delegation: TaskSessions, commands: CommandTable, people: PersonResolver | None
) -> Handovers:
    """Conversations the owner takes over, answers kept as drafts: the service, the owner's
    /handback and /hold, and the "conversations" tools."""
    settings, repos = core.settings, core.repos
    minutes = settings.handover_minutes
    service = Handovers(
        repo=repos.handovers,
        outbox=repos.outbox,
        people=repos.people,
        tasks=repos.tasks,
        settings=HandoverSettings(
            owner_chat=core.owner_chat,
            zone=settings.zone,
            keep_out=timedelta(minutes=minutes) if minutes else None,
        ),
        clock=core.clock,
        stop_task=delegation.stop,
        words=core.speakers.owner,
    )
    service.add_commands(commands)
    core.tools.register(
        conversation_tools.ConversationTools(
            modes=repos.reply_modes,
            handovers=service,
            lookup=PersonLookup(people=repos.people, resolver=people),
            people=repos.people,
            own_account=lambda: core.account.is_owners,
            clock=core.clock,
        ).server()
    )
    return service


async def groups(core: Core, parts: TelegramParts | None, channels: ChannelWatch) -> EnabledGroups:
    """The group chats the owner enables (answered when Jobs is addressed, in an account of
    its own; watched like channels in the owner's own), and the "groups" tools."""
    enabled = EnabledGroups(repo=core.repos.groups)
    await enabled.restore()
    core.tools.register(
        group_tools.GroupTools(
            groups=enabled,
            finder=parts.groups if parts else None,
            own_account=lambda: core.account.is_owners,
            watching=group_tools.Watching(triggers=core.repos.triggers, on_change=channels.restore),
        ).server()
    )
    return enabled


async def history(core: Core, parts: TelegramParts | None) -> ChatHistory:
    """The owner's Telegram as memory: the chats they opt in, indexed and kept in step, and
    the "history" tools (search with links, a digest of what is unread)."""
    chats = ChatHistory(repo=core.repos.history, source=parts.history if parts else None)
    await chats.restore()
    core.closing.push_async_callback(chats.close)
    core.tools.register(history_tools.HistoryTools(history=chats, zone=core.settings.zone).server())
    return chats
