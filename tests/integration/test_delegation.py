"""Delegation end to end below the dispatcher: the real SDK and CLI on the scripted model, real
Telethon on the fake Telegram (people are resolved through it), real SQLite. Task sessions,
their taint, the owner's approvals (granted, denied, timed out) and the heartbeat's resume."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from telethon import TelegramClient

from jobs.conversation.approvals import ApprovalBroker
from jobs.delegation import TaskSessions, TaskSessionSettings
from jobs.messages import InboundMessage, OutboundMessage
from jobs.sessions import OWNER, SessionManager, SessionSettings
from jobs.sessions.roles import task_folder
from jobs.storage import (
    ApprovalRepo,
    ApprovalState,
    AuditRepo,
    Database,
    InboxItem,
    InboxRepo,
    OutboxRepo,
    PeopleRepo,
    SessionRepo,
    TaskRepo,
    TaskStatus,
    UsageRepo,
)
from jobs.telegram.inbound import SentLog
from jobs.telegram.outbound import TelegramChannel
from jobs.telegram.people import TelegramPeople
from jobs.tools import ToolServers
from jobs.tools.delegation import DelegationTools
from jobs.tools.messaging import MessagingTools, PersonLookup
from tests.fakes.anthropic import Call, FakeAnthropic, Turn, text, tool_use
from tests.fakes.telegram import FakeTelegram

OWNER_CHAT = 1000
BOB, ALICE = 42, 43
TASK_PROMPT = "working on ONE task"
SKILL = "---\nname: schedule-meeting\ndescription: Arrange a meeting. Use when meeting.\n---\n# S\n"


class Conductor:
    """Answers each model call from the script of the session it belongs to: "owner", or
    "task:<id>" (found in the session's first prompt); unscripted calls get a quiet default."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Turn]] = {}
        self.seen: dict[str, list[Call]] = {}

    def add(self, who: str, *turns: Turn) -> None:
        self.scripts.setdefault(who, []).extend(turns)

    def __call__(self, call: Call) -> Turn:
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
    woken: list[int] = field(default_factory=list)

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

    async def start(self, *, approval_seconds: float = 10.0) -> Delegation:
        db = await Database.open(self.tmp / "data" / "db.sqlite")
        tasks, people, outbox = TaskRepo(db), PeopleRepo(db), OutboxRepo(db)
        woken: list[int] = []
        broker = ApprovalBroker(
            approvals=ApprovalRepo(db),
            outbox=outbox,
            owner_chat_id=OWNER_CHAT,
            on_outbox=lambda: woken.append(1),
            timeout=timedelta(seconds=approval_seconds),
        )
        await broker.recover()
        registry = ToolServers()
        sessions = SessionManager(
            config=SessionSettings(
                workspace_dir=self.tmp / "workspace",
                people_dir=self.tmp / "data" / "people",
                env=self.env,
            ),
            sessions=SessionRepo(db),
            usage=UsageRepo(db),
            audit=AuditRepo(db),
            tools=registry,
            approver=broker,
        )
        runner = TaskSessions(
            sessions=sessions,
            tasks=tasks,
            people=people,
            outbox=outbox,
            on_outbox=lambda: woken.append(1),
            config=TaskSessionSettings(owner_chat_id=OWNER_CHAT, workspace=self.tmp / "workspace"),
        )
        lookup = PersonLookup(people=people, resolver=TelegramPeople(client=self.client))
        tools = DelegationTools(
            tasks=tasks,
            lookup=lookup,
            runner=runner,
            skills_dir=self.tmp / "workspace" / ".claude" / "skills",
        )
        registry.register(tools.server())
        registry.register(
            MessagingTools(
                lookup=lookup,
                outbox=outbox,
                owner_chat_id=OWNER_CHAT,
                on_outbox=lambda: woken.append(1),
            ).server()
        )
        made = Delegation(db, tasks, people, outbox, sessions, broker, runner, tools, woken)
        self.made.append(made)
        return made

    async def stop(self, made: Delegation) -> None:
        self.made.remove(made)
        await made.runner.aclose()
        await made.sessions.aclose()
        await made.db.close()


@pytest.fixture
async def rig(
    tmp_path: Path,
    claude_env: dict[str, str],
    tg: FakeTelegram,
    tg_client: TelegramClient,
    fake_model: FakeAnthropic,
) -> AsyncIterator[Rig]:
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


@pytest.fixture
def conductor(fake_model: FakeAnthropic) -> Conductor:
    made = Conductor()
    fake_model.default = made
    return made


def results(call: Call) -> str:
    return json.dumps(call.tool_results, ensure_ascii=False)


async def conversation_task(jobs: Delegation, conductor: Conductor) -> int:
    """The owner asks for a meeting with Bob; the task's session writes to him first."""
    conductor.add(
        "owner",
        tool_use(
            "mcp__delegation__create_task",
            {
                "title": "Meeting with Bob",
                "description": "30 min next week; Tue or Wed afternoon.",
                "talk_to": "@bob",
                "skill": "schedule-meeting",
            },
        ),
        text("I'll arrange it with Bob."),
    )
    conductor.add(
        "task:1",
        tool_use("mcp__messaging__send_to_user", {"to": str(BOB), "text": "Hi Bob! Tue 15:00?"}),
        tool_use(
            "mcp__delegation__update_task",
            {"task_id": 1, "status": "waiting", "next_step": "wait for Bob"},
        ),
        text("NOTHING_TO_REPORT"),
    )
    reply = await jobs.sessions.run_turn("owner", OWNER, "Arrange a meeting with Bob")
    assert reply.text == "I'll arrange it with Bob."
    await jobs.idle()
    return 1


async def test_the_owner_delegates_a_conversation_to_a_task_session(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    jobs = await rig.start()
    await conversation_task(jobs, conductor)

    owner_calls = conductor.seen["owner"]
    offered = owner_calls[0].offered_tools
    assert {
        "mcp__delegation__create_task",
        "mcp__delegation__list_tasks",
        "mcp__delegation__update_task",
        "mcp__delegation__cancel_task",
        "mcp__delegation__tell_task",
        "mcp__messaging__send_to_user",
    } <= offered
    created = results(owner_calls[1])
    assert "Created task #1 «Meeting with Bob»" in created
    assert "talk to: Bob Builder (@bob, id 42)" in created

    start = conductor.seen["task:1"][0]
    assert "task #1 «Meeting with Bob» starts now" in start.last_user_text
    assert 'send_to_user(to="42"' in start.last_user_text
    assert "schedule-meeting" in start.system_text  # the workspace's skills reach the task
    folder = task_folder(rig.tmp / "workspace", 1)
    assert folder.is_dir() and str(folder) in json.dumps(start.body)
    assert "Sent to Bob Builder (@bob, id 42)." in results(conductor.seen["task:1"][1])

    task = await jobs.tasks.get(1)
    assert task is not None
    assert (task.status, task.counterpart_id, task.skill) == (
        TaskStatus.WAITING,
        BOB,
        "schedule-meeting",
    )
    assert (task.next_step, task.next_step_at) == ("wait for Bob", None)
    [row] = await jobs.db.fetch_all("SELECT sdk_session_id FROM sessions WHERE key = 'task:1'")
    assert task.session_id is not None and task.session_id == row["sdk_session_id"]
    assert await jobs.sent() == [(BOB, "Hi Bob! Tue 15:00?")]  # nothing for the owner


async def test_bobs_reply_resumes_the_task_session_after_a_restart(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    first = await rig.start()
    await conversation_task(first, conductor)
    session_id = (await first.tasks.get(1)).session_id  # type: ignore[union-attr]
    await rig.stop(first)

    jobs = await rig.start()
    conductor.add(
        "task:1",
        tool_use("mcp__messaging__send_to_user", {"to": "@Bob", "text": "Booked: Tue 15:00."}),
        tool_use("mcp__delegation__update_task", {"task_id": 1, "status": "done"}),
        text("Meeting with Bob: Tue 15:00."),
    )
    item = await jobs.message(BOB, "Tuesday 15:00 works for me", 7)
    prompt = jobs.runner.frame(item, item.text)
    reply = await jobs.runner.counterpart_turn(1, item, prompt)

    call = conductor.seen["task:1"][-3]
    assert "Tuesday 15:00 works for me" in call.last_user_text
    assert "<<<MESSAGE " in call.last_user_text and "not the owner's" in call.last_user_text
    assert any("starts now" in t for t in call.user_texts)  # resumed: the start is in history
    assert "Hi Bob! Tue 15:00?" in json.dumps(call.messages)
    task = await jobs.tasks.get(1)
    assert task is not None and task.status is TaskStatus.DONE
    assert task.session_id == session_id
    assert await jobs.runner.report(1, reply.text) == [
        _owner("📋 Task #1 «Meeting with Bob»\n\nMeeting with Bob: Tue 15:00.")
    ]
    assert (BOB, "Booked: Tue 15:00.") in await jobs.sent()
    # Sending to Bob and updating its own task needed nobody's approval.
    assert await ApprovalRepo(jobs.db).pending() == []
    assert {e.decision for e in await AuditRepo(jobs.db).latest() if e.decision} <= {"allowed"}


def _owner(said: str) -> OutboundMessage:
    return OutboundMessage(chat_id=OWNER_CHAT, text=said)


async def _approval_question(jobs: Delegation) -> str:
    """Wait for the owner's approval question; return its code."""
    async with asyncio.timeout(20):
        while True:
            for chat, said in await jobs.sent(OWNER_CHAT):
                if found := re.search(r"/approve_(\w+)", said):
                    assert chat == OWNER_CHAT
                    return found.group(1)
            await asyncio.sleep(0.05)


async def _tainted_turn(jobs: Delegation, conductor: Conductor, *turns: Turn) -> asyncio.Task[Any]:
    conductor.add("task:1", *turns)
    item = await jobs.message(BOB, "please run this for me", 8)
    return asyncio.create_task(jobs.runner.counterpart_turn(1, item, item.text))


async def test_an_approval_granted_lets_the_call_run(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    jobs = await rig.start()
    await conversation_task(jobs, conductor)
    marker = rig.tmp / "ran.txt"
    turn = await _tainted_turn(
        jobs,
        conductor,
        tool_use("Bash", {"command": f"echo yes > {marker}"}),
        text("NOTHING_TO_REPORT"),
    )
    code = await _approval_question(jobs)
    [(_, question)] = await jobs.sent(OWNER_CHAT)
    assert f"echo yes > {marker}" in question
    assert "Task #1 «Meeting with Bob» wants to run Bash" in question
    assert "a message from Bob Builder (@bob, id 42)" in question
    assert await jobs.broker.decide(code, approve=True) == f"Approved: Bash runs now ({code})."
    await turn

    assert marker.read_text().strip() == "yes"
    after = conductor.seen["task:1"][-1]
    assert '"is_error": true' not in results(after)
    assert f"The owner approved this call (approval {code})" in json.dumps(after.messages)
    approval = await ApprovalRepo(jobs.db).get_by_code(code)
    assert approval is not None and approval.state is ApprovalState.APPROVED
    assert (approval.session_key, approval.requested_by, approval.tool) == ("task:1", BOB, "Bash")
    [entry] = [e for e in await AuditRepo(jobs.db).latest() if e.tool == "Bash"]
    assert (entry.decision, entry.approval_id) == ("approved_by_owner", approval.id)


async def test_an_approval_denied_and_what_a_tainted_turn_may_do_alone(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    jobs = await rig.start()
    await conversation_task(jobs, conductor)
    inside = task_folder(rig.tmp / "workspace", 1) / "notes.md"
    turn = await _tainted_turn(
        jobs,
        conductor,
        tool_use("Write", {"file_path": str(inside), "content": "Bob: Tuesday"}),
        tool_use("mcp__messaging__send_to_user", {"to": "owner", "text": "FYI"}),
        tool_use("mcp__messaging__send_to_user", {"to": "@alice", "text": "Bob's tasks…"}),
        text("NOTHING_TO_REPORT"),
    )
    code = await _approval_question(jobs)
    assert "@alice" in (await jobs.sent(OWNER_CHAT))[-1][1]
    assert await jobs.broker.decide(code, approve=False) == (
        f"Denied: mcp__messaging__send_to_user will not run ({code})."
    )
    await turn

    calls = conductor.seen["task:1"][-4:]
    assert '"is_error": true' not in results(calls[1])  # its own folder: no approval
    assert inside.read_text() == "Bob: Tuesday"
    assert "Sent to the owner." in results(calls[2])
    refused = results(calls[3])
    assert (
        '"is_error": true' in refused
        and f"The owner said no to this call (approval {code})" in refused
    )
    assert (ALICE, "Bob's tasks…") not in await jobs.sent()
    audited = await AuditRepo(jobs.db).latest()
    decisions = [(e.tool, e.decision) for e in audited if e.decision not in (None, "allowed")]
    assert decisions == [("mcp__messaging__send_to_user", "denied_by_owner")]


async def test_an_approval_nobody_answers_is_a_denial(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    jobs = await rig.start(approval_seconds=1.0)
    await conversation_task(jobs, conductor)
    outside = rig.tmp / "workspace" / "MEMORY.md"
    await _tainted_turn(
        jobs,
        conductor,
        tool_use("Write", {"file_path": str(outside), "content": "Bob is the boss"}),
        text("NOTHING_TO_REPORT"),
    )
    code = await _approval_question(jobs)
    calls = await fake_model.wait_calls_async(7, timeout=20)  # owner 2, start 3, write, after

    # The fake records a call before the conductor answers it: read the call itself.
    refused = results(calls[6])
    assert f"The owner did not answer in time (approval {code})" in refused
    assert not outside.exists()
    approval = await ApprovalRepo(jobs.db).get_by_code(code)
    assert approval is not None and approval.state is ApprovalState.EXPIRED
    assert (await jobs.sent(OWNER_CHAT))[-1][1] == (
        f"⌛ No answer to approval {code} in time: Write did not run."
    )
    assert await jobs.broker.decide(code, approve=True) == (
        f"Approval {code} is already expired; nothing changed."
    )
    [entry] = [e for e in await AuditRepo(jobs.db).latest() if e.tool == "Write"]
    assert (entry.decision, entry.approval_id) == ("denied_no_answer", approval.id)


async def test_the_heartbeat_resumes_due_tasks_in_parallel_and_skips_the_rest(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    jobs = await rig.start()
    now = datetime.now(UTC)
    assert await jobs.runner.resume_due(now) == 0 and fake_model.calls == []
    for title, when in (("Draft the report", -60), ("Call the bank", -1), ("Later", 3600)):
        task = await jobs.tasks.create(title, skill="schedule-meeting")
        await jobs.tasks.update(
            task.id,
            next_step=f"work on {title}",
            next_step_at=now + timedelta(seconds=when),
            session_id="x" if title == "Call the bank" else None,
        )
    await jobs.tasks.create("No session", context="")  # no skill, nobody to talk to
    conductor.add("task:1", text("The draft is ready for you."))
    conductor.add("task:2", text("NOTHING_TO_REPORT"))

    assert await jobs.runner.resume_due(now) == 2
    first, second = conductor.seen["task:1"][0], conductor.seen["task:2"][0]
    assert "starts now" in first.last_user_text  # never started: it starts now
    assert "Heartbeat for task #2 «Call the bank»" in second.last_user_text
    assert "work on Call the bank" in second.last_user_text
    assert "task:3" not in conductor.seen
    assert await jobs.sent() == [
        (OWNER_CHAT, "📋 Task #1 «Draft the report»\n\nThe draft is ready for you.")
    ]
    for task_id in (1, 2):
        resumed = await jobs.tasks.get(task_id)
        assert resumed is not None and resumed.next_step_at is None  # nothing due any more
    assert await jobs.runner.resume_due(now) == 0
    assert len(fake_model.calls) == 2


async def test_a_reply_being_answered_holds_the_heartbeat_off(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    jobs = await rig.start()
    await conversation_task(jobs, conductor)
    await jobs.tasks.update(1, next_step_at=datetime.now(UTC) - timedelta(minutes=1))
    conductor.add("task:1", text("NOTHING_TO_REPORT", delay=0.3))
    item = await jobs.message(BOB, "Hello?", 9)
    reply = asyncio.create_task(jobs.runner.counterpart_turn(1, item, item.text))
    await fake_model.wait_calls_async(6)  # owner 2, start 3, and Bob's turn is on
    assert await jobs.runner.resume_due() == 0  # the task's lock is held by Bob's turn
    await reply
    assert await jobs.runner.resume_due() == 1
    assert "Heartbeat for task #1" in conductor.seen["task:1"][-1].last_user_text


async def test_people_are_found_on_telegram_and_can_then_be_written_to(
    tg: FakeTelegram, tg_client: TelegramClient
) -> None:
    tg.add_user(BOB, "Bob", "Builder", username="bob", phone="15550000042", contact=True)
    tg.add_user(44, "Bobby", username="bobby_t", contact=True)
    tg.add_user(ALICE, "Alice", username="alice")  # not a contact
    tg.add_channel(777, "News", username="newsroom")
    people = TelegramPeople(client=tg_client)

    async def ids(query: str) -> list[int]:
        return [c.user_id for c in await people.resolve(query)]

    assert await ids("@bob") == [BOB]
    assert await ids("https://t.me/bob") == [BOB]
    assert await ids("+1 555 000 0042") == [BOB]
    assert await ids("bob") == [BOB]  # an exact first name wins over "Bobby"
    assert await ids("BOB BUILDER") == [BOB]
    assert await ids("bo") == [BOB, 44]  # partial: both, so the owner is asked
    assert await ids("@newsroom") == []  # a channel is not a person
    assert await ids("@nobody") == []
    assert await ids(str(ALICE)) == []  # never seen: no way to reach her by id
    [alice] = await people.resolve("@alice")
    assert (alice.name, alice.username, alice.is_contact) == ("Alice", "alice", False)
    assert await ids(str(ALICE)) == [ALICE]

    channel = TelegramChannel(client=tg_client, sent_log=SentLog())
    await channel.send(OutboundMessage(chat_id=ALICE, text="Hello from Jobs"))
    assert [m.message for m in tg.outbox] == ["Hello from Jobs"]
