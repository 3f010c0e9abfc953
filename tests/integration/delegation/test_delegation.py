"""Delegation end to end below the dispatcher: the real SDK and CLI on the scripted model, real
Telethon on the fake Telegram (people are resolved through it), real SQLite. Task sessions,
their taint, the owner's approvals (granted, denied, timed out) and the heartbeat's resume."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from telethon import TelegramClient

from jobs.messages import OutboundMessage
from jobs.richtext import Entity
from jobs.sessions.roles import task_folder
from jobs.storage import ApprovalRepo, ApprovalState, AuditRepo, TaskStatus
from jobs.telegram.inbound import SentLog
from jobs.telegram.outbound import TelegramChannel
from jobs.telegram.people import TelegramPeople
from tests.fakes.anthropic import FakeAnthropic, text, tool_use
from tests.fakes.telegram import FakeTelegram
from tests.integration.delegation.rig import (
    ALICE,
    BOB,
    OWNER_CHAT,
    Conductor,
    Rig,
    approval_question,
    conversation_task,
    results,
    tainted_turn,
)


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
        tool_use("mcp__task__send_to_user", {"to": "@Bob", "text": "Booked: Tue 15:00."}),
        tool_use("mcp__task__update_task", {"status": "done"}),
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
    [report] = await jobs.runner.report(1, reply.text)
    assert report.text == "📋 Task #1 «Meeting with Bob»\n\nMeeting with Bob: Tue 15:00."
    assert report.entities == (Entity("blockquote", 31, 28),)  # its words quoted, never Markdown
    assert report.chat_id == OWNER_CHAT
    assert (BOB, "Booked: Tue 15:00.") in await jobs.sent()
    # Sending to Bob and updating its own task needed nobody's approval.
    assert await ApprovalRepo(jobs.db).pending() == []
    assert {e.decision for e in await AuditRepo(jobs.db).latest() if e.decision} <= {"allowed"}


async def test_an_approval_granted_lets_the_call_run(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    jobs = await rig.start()
    await conversation_task(jobs, conductor, grants=["bash"])
    marker = rig.tmp / "ran.txt"
    turn = await tainted_turn(
        jobs,
        conductor,
        tool_use("Bash", {"command": f"echo yes > {marker}"}),
        text("NOTHING_TO_REPORT"),
    )
    code = await approval_question(jobs)
    [(_, question)] = await jobs.sent(OWNER_CHAT)
    assert f"echo yes > {marker}" in question
    assert "Where: task #1 «Meeting with Bob»\nIt wants to run Bash" in question
    assert "a message from Bob Builder (@bob, id 42)" in question
    assert await jobs.broker.decide(code, approve=True) == f"Approved: `Bash` runs now ({code})."
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
    plans = rig.tmp / "workspace" / "plans.md"
    plans.write_text("Q3 plans", encoding="utf-8")
    turn = await tainted_turn(
        jobs,
        conductor,
        tool_use("Write", {"file_path": str(inside), "content": "Bob: Tuesday"}),
        tool_use("mcp__task__send_to_user", {"to": "owner", "text": "FYI"}),
        tool_use("mcp__task__send_to_user", {"to": "@alice", "text": "Bob's tasks…"}),
        tool_use("Read", {"file_path": str(plans)}),
        text("NOTHING_TO_REPORT"),
    )
    code = await approval_question(jobs)
    assert "plans.md" in (await jobs.sent(OWNER_CHAT))[-1][1]
    assert await jobs.broker.decide(code, approve=False) == f"Denied: `Read` will not run ({code})."
    await turn

    calls = conductor.seen["task:1"][-5:]
    assert '"is_error": true' not in results(calls[1])  # its own folder: no approval
    assert inside.read_text() == "Bob: Tuesday"
    assert "Sent to the owner." in results(calls[2])
    assert "This task can write only to the owner and to the people it names" in results(
        calls[3]
    )  # nobody else can be written to at all: there is nothing to ask the owner
    refused = results(calls[4])
    assert (
        '"is_error": true' in refused
        and f"The owner said no to this call (approval {code})" in refused
    )
    assert (ALICE, "Bob's tasks…") not in await jobs.sent()
    audited = await AuditRepo(jobs.db).latest()
    decisions = [(e.tool, e.decision) for e in audited if e.decision not in (None, "allowed")]
    assert decisions == [("Read", "denied_by_owner")]


async def test_an_approval_nobody_answers_is_a_denial(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    jobs = await rig.start(approval_seconds=1.0)
    await conversation_task(jobs, conductor)
    outside = rig.tmp / "workspace" / "MEMORY.md"
    turn = await tainted_turn(
        jobs,
        conductor,
        tool_use("Write", {"file_path": str(outside), "content": "Bob is the boss"}),
        text("NOTHING_TO_REPORT"),
    )
    code = await approval_question(jobs)
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
    assert (await turn).text == "NOTHING_TO_REPORT"


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
