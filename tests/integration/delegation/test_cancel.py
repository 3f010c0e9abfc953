"""cancel_task while the task's session is answering: its running turn is interrupted (as /stop
does for the owner) and nothing of that turn reaches the counterpart or the owner afterwards.

The real SDK and CLI on the scripted model; the task's model call hangs until the interrupt
comes, and a script item waits behind it that would be sent if the turn went on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from jobs.sessions import OWNER
from jobs.sessions.keys import OWNER_KEY
from jobs.sessions.replies import Reply
from jobs.storage import ApprovalRepo, ApprovalState, TaskStatus
from tests.fakes.anthropic import Call, FakeAnthropic, hang, text, tool_use
from tests.integration.delegation.rig import (
    BOB,
    Conductor,
    Delegation,
    Rig,
    approval_question,
    conversation_task,
    results,
    tainted_turn,
)

SEND = "mcp__task__send_to_user"
LATE = "Late news for you, Bob."
"""What the task's turn would send Bob if it went on after the cancel."""


async def held(fake_model: FakeAnthropic, conductor: Conductor) -> Call:
    """The task's model call that hangs, once the fake has it."""
    async with asyncio.timeout(20):
        while True:
            calls = conductor.seen.get("task:1", [])
            if calls and calls[-1].turn is not None and calls[-1].turn["kind"] == "hang":
                return calls[-1]
            await asyncio.sleep(0.05)


def left(conductor: Conductor) -> int:
    """How many of the task's scripted answers were never asked for."""
    return len(conductor.scripts.get("task:1", []))


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


async def cancel_from_the_owner(jobs: Delegation, conductor: Conductor) -> Reply:
    conductor.add(
        "owner",
        tool_use("mcp__delegation__cancel_task", {"task_id": 1, "reason": "not needed"}),
        text("Cancelled the meeting task."),
    )
    return await jobs.sessions.run_turn(OWNER_KEY, OWNER, "Cancel the meeting with Bob")


async def test_cancel_interrupts_the_turn_answering_the_counterpart(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    jobs = await rig.start()
    await conversation_task(jobs, conductor)
    before = await jobs.sent()
    conductor.add(
        "task:1",
        hang(),
        tool_use(SEND, {"to": str(BOB), "text": LATE}),
        text("Bob asked for Thursday instead."),
    )
    item = await jobs.message(BOB, "Could we do Thursday?", 11)
    turn = asyncio.create_task(jobs.runner.counterpart_turn(1, item, item.text))
    hanging = await held(fake_model, conductor)

    owner = await cancel_from_the_owner(jobs, conductor)
    assert owner.text == "Cancelled the meeting task."
    said = results(conductor.seen["owner"][-1])
    assert "Cancelled task #1 «Meeting with Bob»" in said and "stopped" in said

    reply = await asyncio.wait_for(turn, 20)
    assert reply.interrupted
    await until(lambda: hanging.aborted)  # the CLI hung up on the model
    assert left(conductor) == 2  # the model was not asked again: the turn is over
    # What the dispatcher would hand on for that turn (turns.py: an interrupted turn is
    # "Stopped."): nothing for the owner once the task is cancelled.
    assert await jobs.runner.report(1, "Stopped.") == []
    assert await jobs.runner.report(1, reply.text) == []
    assert await jobs.sent() == before  # nothing to Bob, nothing to the owner
    task = await jobs.tasks.get(1)
    assert task is not None and task.status is TaskStatus.CANCELLED


async def test_cancel_interrupts_a_background_turn_and_it_reports_nothing(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    jobs = await rig.start()
    await conversation_task(jobs, conductor)
    before = await jobs.sent()
    conductor.add(
        "task:1",
        hang(),
        tool_use(SEND, {"to": str(BOB), "text": LATE}),
        text("Told Bob about the new room."),
    )
    told = await jobs.tools.tell({"task_id": 1, "text": "Tell Bob the room changed."})
    assert not told.get("is_error")
    await held(fake_model, conductor)

    await cancel_from_the_owner(jobs, conductor)
    async with asyncio.timeout(20):
        await jobs.idle()  # the turn with the owner's words has ended
    assert left(conductor) == 2
    assert await jobs.sent() == before


async def test_a_turn_queued_behind_the_cancelled_one_does_not_run(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    jobs = await rig.start()
    await conversation_task(jobs, conductor)
    before = await jobs.sent()
    conductor.add("task:1", hang(), tool_use(SEND, {"to": str(BOB), "text": LATE}))
    first = await jobs.message(BOB, "Thursday?", 12)
    second = await jobs.message(BOB, "Or Friday?", 13)
    turns = [
        asyncio.create_task(jobs.runner.counterpart_turn(1, m, m.text)) for m in (first, second)
    ]
    await held(fake_model, conductor)
    calls_before_cancel = len(conductor.seen["task:1"])

    await cancel_from_the_owner(jobs, conductor)
    replies = await asyncio.wait_for(asyncio.gather(*turns), 20)
    assert [r.interrupted for r in replies] == [True, True]
    assert len(conductor.seen["task:1"]) == calls_before_cancel  # the second never ran
    assert left(conductor) == 1
    assert await jobs.sent() == before


async def test_cancel_withdraws_the_question_the_turn_waits_on(
    rig: Rig, fake_model: FakeAnthropic, conductor: Conductor
) -> None:
    jobs = await rig.start()
    await conversation_task(jobs, conductor, grants=["bash"])
    turn = await tainted_turn(
        jobs,
        conductor,
        tool_use("Bash", {"command": "echo from-the-task > /tmp/jobs-cancel-probe"}),
        text("Ran it for Bob."),
    )
    code = await approval_question(jobs)

    await cancel_from_the_owner(jobs, conductor)
    reply = await asyncio.wait_for(turn, 20)
    assert reply.interrupted
    approval = await ApprovalRepo(jobs.db).get_by_code(code)
    assert approval is not None and approval.state is ApprovalState.EXPIRED
    late = await jobs.broker.decide(code, approve=True)  # the owner's yes comes too late
    assert late == f"Approval {code} is already expired; nothing changed."
    assert not any(
        "from-the-task" in json.dumps(call.tool_results) for call in conductor.seen["task:1"]
    )
