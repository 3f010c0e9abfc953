"""The owner's task tools and send_to_user, called without a model (bad input → error result)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobs.storage import Database, OutboxRepo, PeopleRepo, TaskRepo, TaskStatus
from jobs.tools.delegation import DelegationTools
from jobs.tools.messaging import MessagingTools, PersonLookup
from jobs.tools.registry import ToolScope
from tests.unit.delegation.conftest import START, Directory, FakeClock, Runner

OWNER_CHAT = 1000


@pytest.fixture
def runner() -> Runner:
    return Runner()


@pytest.fixture
def tools(
    db: Database, lookup: PersonLookup, runner: Runner, clock: FakeClock, tmp_path: Path
) -> DelegationTools:
    skill = tmp_path / "skills" / "schedule-meeting"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: schedule-meeting\n---\n", encoding="utf-8")
    return DelegationTools(
        tasks=TaskRepo(db),
        lookup=lookup,
        runner=runner,
        skills_dir=tmp_path / "skills",
        clock=clock,
    )


def said(result: dict[str, Any]) -> str:
    return str(result["content"][0]["text"])


def failed(result: dict[str, Any]) -> bool:
    return bool(result.get("is_error"))


async def test_a_conversation_task_starts_its_session(
    tools: DelegationTools, runner: Runner, db: Database
) -> None:
    result = await tools.create(
        {
            "title": "Meeting with Bob",
            "description": "30 min",
            "talk_to": "@bob",
            "skill": "schedule-meeting",
            "due": "2026-12-01T15:00",
        }
    )
    assert not failed(result), said(result)
    assert said(result).splitlines() == [
        "Created task #1 «Meeting with Bob».",
        "talk to: Bob Builder (@bob, id 42)",
        "Its session is starting now and will report to the owner here.",
    ]
    assert runner.started == [1]
    task = await TaskRepo(db).get(1)
    assert task is not None
    assert (task.counterpart_id, task.assignee_id, task.skill) == (42, None, "schedule-meeting")
    assert (task.next_step, task.next_step_at) == ("start the task", START)
    assert task.due_at is not None and task.due_at.isoformat() == "2026-12-01T15:00:00+00:00"
    person = await PeopleRepo(db).get(42)
    assert person is not None and (person.username, person.phone) == ("bob", "+15550000042")


async def test_a_second_task_with_the_same_person_takes_their_replies(
    tools: DelegationTools,
) -> None:
    await tools.create({"title": "First", "talk_to": "@bob"})
    second = await tools.create({"title": "Second", "talk_to": "42"})
    assert "Task #1 also talks with them; their replies now go here." in said(second)


async def test_a_task_for_a_person_or_the_owner_has_no_session(
    tools: DelegationTools, runner: Runner, db: Database
) -> None:
    mine = await tools.create({"title": "Renew the passport"})
    theirs = await tools.create({"title": "Water the plants", "assignee": "Alice"})
    assert said(mine) == "Created task #1 «Renew the passport»."
    assert said(theirs) == "Created task #2 «Water the plants».\nassignee: Alice (@alice, id 43)"
    assert runner.started == []
    task = await TaskRepo(db).get(2)
    assert task is not None and task.assignee_id == 43 and not task.has_session


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({}, "title must be a short text"),
        ({"title": "x" * 201}, "title must be a short text"),
        ({"title": "t", "skill": "../../etc"}, "There is no skill '../../etc'"),
        ({"title": "t", "skill": "cooking"}, "There is no skill 'cooking'"),
        ({"title": "t", "due": "next tuesday"}, "due: 'next tuesday' is not an ISO 8601 time"),
        ({"title": "t", "talk_to": "Bob"}, "talk_to: 'Bob' may mean 2 people"),
        ({"title": "t", "assignee": "@nobody"}, "assignee: I found nobody on Telegram"),
    ],
)
async def test_create_refuses_bad_input(
    tools: DelegationTools, runner: Runner, args: dict[str, Any], error: str
) -> None:
    result = await tools.create(args)
    assert failed(result) and error in said(result), said(result)
    assert runner.started == []


async def test_an_ambiguous_name_lists_who_it_may_mean(tools: DelegationTools) -> None:
    result = await tools.create({"title": "t", "talk_to": "bob"})
    assert said(result) == (
        "talk_to: 'bob' may mean 2 people: Bob Builder (@bob, id 42); Bob Marley (@bobby, id 44). "
        "Ask the owner which one they mean, then use that person's id."
    )


async def test_list_update_cancel_and_tell(
    tools: DelegationTools, runner: Runner, clock: FakeClock, db: Database
) -> None:
    await tools.create({"title": "Meeting with Bob", "talk_to": "@bob"})
    await tools.create({"title": "Renew the passport"})
    clock.advance(minutes=5)
    updated = await tools.update(
        {
            "task_id": "#1",
            "status": "blocked",
            "note": "Bob wants Friday",
            "next_step": "ask the owner",
            "next_step_at": "now",
        }
    )
    assert not failed(updated), said(updated)
    task = await TaskRepo(db).get(1)
    assert task is not None and task.status is TaskStatus.BLOCKED
    assert task.context == "[2026-11-27 09:05] Bob wants Friday"
    assert task.next_step_at == clock()
    listed = said(await tools.list({}))
    assert "#1 Meeting with Bob [blocked]" in listed and "talks with: Bob Builder" in listed
    assert "next step: ask the owner (at Fri 2026-11-27 09:05 UTC)" in listed

    told = await tools.tell({"task_id": 1, "text": "Friday 10:00 is fine"})
    assert said(told) == "Told task #1; it works on it now and reports back."
    assert runner.told == [(1, "Friday 10:00 is fine")]
    no_session = await tools.tell({"task_id": 2, "text": "hurry"})
    assert failed(no_session) and "has no session" in said(no_session)

    cancelled = await tools.cancel({"task_id": 1, "reason": "not needed"})
    assert said(cancelled) == "Cancelled task #1 «Meeting with Bob»."
    assert runner.stopped == [1]  # its session's running turn, if any, is interrupted
    assert "Meeting with Bob" not in said(await tools.list({"status": "active"}))
    assert "[cancelled]" in said(await tools.list({"status": "cancelled"}))
    assert len(said(await tools.list({"status": "all"})).split("\n\n")) == 2


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"task_id": 9, "status": "done"}, "There is no task 9"),
        ({"task_id": 1}, "Give at least one thing to change."),
        ({"task_id": 1, "status": "cancelled"}, "status must be one of"),
        ({"task_id": 1, "next_step_at": "soon"}, "next_step_at: 'soon' is not an ISO 8601"),
        ({"task_id": 1, "note": ""}, "note must be non-empty text"),
    ],
)
async def test_update_refuses_bad_input(
    tools: DelegationTools, args: dict[str, Any], error: str
) -> None:
    await tools.create({"title": "t"})
    result = await tools.update(args)
    assert failed(result) and error in said(result), said(result)


async def test_send_to_user(db: Database, lookup: PersonLookup, directory: Directory) -> None:
    outbox = OutboxRepo(db)
    messaging = MessagingTools(lookup=lookup, outbox=outbox, owner_chat=OWNER_CHAT)
    assert said(await messaging.send({"to": "@bob", "text": " Hi Bob "})) == (
        "Sent to Bob Builder (@bob, id 42)."
    )
    assert said(await messaging.send({"to": "Owner", "text": "done"})) == "Sent to the owner."
    for args, error in (
        ({"to": "bob", "text": "hi"}, "may mean 2 people"),
        ({"to": "@ghost", "text": "hi"}, "I found nobody on Telegram for '@ghost'"),
        ({"to": "@bob", "text": "  "}, "text must be the message to send"),
        ({"to": "@bob", "text": "x" * 8001}, "keep it under 8000"),
        ({"text": "hi"}, "to must say who"),
    ):
        result = await messaging.send(args)
        assert failed(result) and error in said(result), said(result)
    rows = await db.fetch_all("SELECT chat_id, text FROM outbox ORDER BY id")
    assert [(r["chat_id"], r["text"]) for r in rows] == [(42, "Hi Bob"), (OWNER_CHAT, "done")]
    assert outbox.written.is_set()  # the sender is woken by the write itself
    # Someone who wrote to Jobs is found without asking Telegram.
    await PeopleRepo(db).upsert_seen(77, display_name="Dora Explorer")
    directory.queries.clear()
    assert (
        said(await messaging.send({"to": "77", "text": "hi"})) == "Sent to Dora Explorer (id 77)."
    )


async def test_the_tool_servers_declare_their_tools(tools: DelegationTools) -> None:
    server = tools.server()
    assert server.name == "delegation"
    assert server.tools == {"create_task", "list_tasks", "update_task", "cancel_task", "tell_task"}
    config: Any = server.build(ToolScope())
    assert config["type"] == "sdk" and config["name"] == "delegation"


async def test_cancel_says_when_it_stopped_a_running_turn(
    tools: DelegationTools, runner: Runner, db: Database
) -> None:
    await tools.create({"title": "Call the bank", "skill": "schedule-meeting"})
    runner.running = True
    cancelled = await tools.cancel({"task_id": 1})
    assert said(cancelled) == "Cancelled task #1 «Call the bank». Its running turn was stopped."
    task = await TaskRepo(db).get(1)
    assert task is not None and task.status is TaskStatus.CANCELLED
