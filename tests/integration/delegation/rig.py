"""The delegation rig of the integration tests: the delegation side of Jobs wired as app.build
does (the real SDK and CLI on the scripted model, real Telethon on the fake Telegram, real
SQLite), a conductor answering each session from its own script, and the common steps."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from telethon import TelegramClient

from jobs.clock import utc_now
from jobs.conversation.approvals import ApprovalBroker
from jobs.delegation import TaskSessions, TaskSessionSettings
from jobs.extensions.skill_plugins import SkillPlugins
from jobs.memory import MemoryContext, MemoryFiles
from jobs.messages import InboundMessage
from jobs.sessions import OWNER, SessionManager
from jobs.sessions.keys import OWNER_KEY
from jobs.sessions.outside import OutsideInput
from jobs.spend_terms import Limit
from jobs.spending import BudgetBook, Budgets, PauseSwitch, Spending
from jobs.storage import (
    ApprovalRepo,
    BudgetRepo,
    ControlRepo,
    Database,
    InboxItem,
    InboxRepo,
    OutboxRepo,
    PeopleRepo,
    TaintedFileRepo,
    TaskRepo,
    UsageRepo,
)
from jobs.telegram.people import TelegramPeople
from jobs.tools import ToolServers
from jobs.tools.delegation import DelegationTools
from jobs.tools.messaging import MessagingTools, PersonLookup
from jobs.tools.task_fields import TaskFields
from jobs.tools.task_tools import TaskSessionTools
from tests.fakes.anthropic import Call, FakeAnthropic, Script, text, tool_use
from tests.fakes.telegram import FakeTelegram
from tests.session_stack import session_manager

OWNER_CHAT = 1000
BOB, ALICE = 42, 43
TASK_PROMPT = "working on ONE task"
SKILL = "---\nname: schedule-meeting\ndescription: Arrange a meeting. Use when meeting.\n---\n# S\n"


class Conductor:
    """Answers each model call from the script of the session it belongs to: "owner", or
    "task:<id>" (found in the session's first prompt); unscripted calls get a quiet default."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Script]] = {}
        self.seen: dict[str, list[Call]] = {}

    def add(self, who: str, *turns: Script) -> None:
        self.scripts.setdefault(who, []).extend(turns)

    def __call__(self, call: Call) -> Script:
        who = "owner"
        if TASK_PROMPT in call.system_text:
            found = re.search(r"[Tt]ask #(\d+)", call.user_texts[0])
            who = f"task:{found.group(1) if found else '?'}"
        self.seen.setdefault(who, []).append(call)
        script = self.scripts.get(who)
        return script.pop(0) if script else text("NOTHING_TO_REPORT")


@dataclass
class Delegation:
    """The delegation side of Jobs, wired as app.build does (one per "process")."""

    db: Database
    tasks: TaskRepo
    people: PeopleRepo
    outbox: OutboxRepo
    sessions: SessionManager
    broker: ApprovalBroker
    runner: TaskSessions
    tools: DelegationTools
    spending: Spending | None = None
    """The budgets and /pause every turn passes (when the test asked for them)."""

    async def sent(self, chat_id: int | None = None) -> list[tuple[int, str]]:
        rows = await self.db.fetch_all("SELECT chat_id, text FROM outbox ORDER BY id")
        return [(r["chat_id"], r["text"]) for r in rows if chat_id in (None, r["chat_id"])]

    async def idle(self) -> None:
        """Until the background turns (task starts, the owner's words) are over."""
        while self.runner._background:
            await asyncio.gather(*self.runner._background, return_exceptions=True)

    async def message(self, sender: int, text: str, msg_id: int) -> InboxItem:
        person = await self.people.get(sender)
        name = person.display_name if person else ""
        username = person.username if person else None
        item = await InboxRepo(self.db).add(
            InboundMessage(sender, msg_id, sender, text, name, username)
        )
        assert item is not None
        return item


@dataclass
class Rig:
    tmp: Path
    env: dict[str, str]
    client: TelegramClient
    made: list[Delegation] = field(default_factory=list)

    async def start(
        self,
        *,
        approval_seconds: float = 10.0,
        budgets: Mapping[str, Limit | None] | None = None,
    ) -> Delegation:
        """`budgets`: the settings' limits by scope (owner, people, tasks, triggers, month);
        with them every turn passes the spending gate (budgets and /pause), as in the app."""
        db = await Database.open(self.tmp / "data" / "db.sqlite")
        tasks, people, outbox = TaskRepo(db), PeopleRepo(db), OutboxRepo(db)
        spending = None if budgets is None else await _spending(db, budgets)
        broker = ApprovalBroker(
            approvals=ApprovalRepo(db),
            outbox=outbox,
            owner_chat=OWNER_CHAT,
            timeout=timedelta(seconds=approval_seconds),
            files=self.tmp / "data" / "approvals",
        )
        await broker.recover()
        registry = ToolServers()
        sessions = session_manager(
            db,
            root=self.tmp,
            env=self.env,
            tools=registry,
            approver=broker,
            skills=SkillPlugins(
                workspace=self.tmp / "workspace", root=self.tmp / "data" / "skill-plugins"
            ),
            context=MemoryContext(files=MemoryFiles(workspace=self.tmp / "workspace", zone=UTC)),
            outside=OutsideInput(
                workspace=self.tmp / "workspace",
                data_dir=self.tmp / "data",
                ledger=TaintedFileRepo(db),
            ),
            gate=spending,
        )
        runner = TaskSessions(
            sessions=sessions,
            tasks=tasks,
            people=people,
            outbox=outbox,
            config=TaskSessionSettings(owner_chat=OWNER_CHAT, workspace=self.tmp / "workspace"),
        )
        lookup = PersonLookup(people=people, resolver=TelegramPeople(client=self.client))
        skills = self.tmp / "workspace" / ".claude" / "skills"
        tools = DelegationTools(tasks=tasks, lookup=lookup, runner=runner, skills_dir=skills)
        registry.register(tools.server())
        registry.register(
            MessagingTools(
                lookup=lookup,
                outbox=outbox,
                owner_chat=OWNER_CHAT,
            ).server()
        )
        registry.register(
            TaskSessionTools(
                tasks=tasks,
                people=people,
                outbox=outbox,
                owner_chat=OWNER_CHAT,
                fields=TaskFields(skills_dir=skills, clock=utc_now, zone=UTC),
            ).server()
        )
        made = Delegation(db, tasks, people, outbox, sessions, broker, runner, tools, spending)
        self.made.append(made)
        return made

    async def stop(self, made: Delegation) -> None:
        self.made.remove(made)
        await made.runner.aclose()
        await made.sessions.aclose()
        await made.db.close()


async def _spending(db: Database, limits: Mapping[str, Limit | None]) -> Spending:
    """The gate as features.spending makes it (UTC days)."""
    book = BudgetBook(defaults=limits, repo=BudgetRepo(db))
    pause = PauseSwitch(repo=ControlRepo(db))
    await book.load()
    await pause.load()
    return Spending(
        budgets=Budgets(book=book, usage=UsageRepo(db), clock=utc_now, zone=UTC),
        pause=pause,
        notices=BudgetRepo(db),
        outbox=OutboxRepo(db),
        owner_chat=OWNER_CHAT,
        people=PeopleRepo(db),
        tasks=TaskRepo(db),
    )


@contextlib.asynccontextmanager
async def open_rig(
    tmp_path: Path, claude_env: dict[str, str], tg: FakeTelegram, tg_client: TelegramClient
) -> AsyncIterator[Rig]:
    """The `rig` fixture's body: the skill, Bob and Alice on Telegram; every Jobs stopped after."""
    skill = tmp_path / "workspace" / ".claude" / "skills" / "schedule-meeting"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(SKILL, encoding="utf-8")
    tg.add_user(BOB, "Bob", "Builder", username="bob", phone="15550000042", contact=True)
    tg.add_user(ALICE, "Alice", username="alice", contact=True)
    made = Rig(tmp_path, claude_env, tg_client)
    try:
        yield made
    finally:
        for running in list(made.made):
            await made.stop(running)


def conducting(fake_model: FakeAnthropic) -> Conductor:
    """The `conductor` fixture's body: every model call is answered from the scripts."""
    made = Conductor()
    fake_model.default = made
    return made


def results(call: Call) -> str:
    return json.dumps(call.tool_results, ensure_ascii=False)


async def conversation_task(
    jobs: Delegation, conductor: Conductor, *, grants: Collection[str] = ()
) -> int:
    """The owner asks for a meeting with Bob; the task's session writes to him first.
    `grants`: what the owner lets the task have beyond its own (a shell, say)."""
    created: dict[str, Any] = {
        "title": "Meeting with Bob",
        "description": "30 min next week; Tue or Wed afternoon.",
        "talk_to": "@bob",
        "skill": "schedule-meeting",
    }
    if grants:
        created["grants"] = list(grants)
    conductor.add(
        "owner",
        tool_use("mcp__delegation__create_task", created),
        text("I'll arrange it with Bob."),
    )
    conductor.add(
        "task:1",
        tool_use("mcp__task__send_to_user", {"to": str(BOB), "text": "Hi Bob! Tue 15:00?"}),
        tool_use(
            "mcp__task__update_task",
            {"task_id": 1, "status": "waiting", "next_step": "wait for Bob"},
        ),
        text("NOTHING_TO_REPORT"),
    )
    reply = await jobs.sessions.run_turn(OWNER_KEY, OWNER, "Arrange a meeting with Bob")
    assert reply.text == "I'll arrange it with Bob."
    await jobs.idle()
    return 1


async def approval_question(jobs: Delegation, *, after: Collection[str] = ()) -> str:
    """Wait for the owner's approval question (the first not in `after`); return its code."""
    async with asyncio.timeout(20):
        while True:
            for chat, said in await jobs.sent(OWNER_CHAT):
                found = re.search(r"/approve_(\w+)", said)
                if found and found.group(1) not in after:
                    assert chat == OWNER_CHAT
                    return found.group(1)
            await asyncio.sleep(0.05)


async def tainted_turn(
    jobs: Delegation, conductor: Conductor, *turns: Script, said: str = "please run this for me"
) -> asyncio.Task[Any]:
    """Bob writes to task #1 (`said`); its session answers with `turns`, in the background."""
    conductor.add("task:1", *turns)
    item = await jobs.message(BOB, said, 8)
    return asyncio.create_task(jobs.runner.counterpart_turn(1, item, item.text))
