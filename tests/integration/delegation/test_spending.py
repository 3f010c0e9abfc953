"""What tasks and triggers spend (the real SDK and CLI on the scripted model, which reports
usage as the API would): a task woken every minute stops costing at its budget, the month's
cap stops tasks and schedules but not the owner, and /pause holds a due task and a schedule's
firings across a restart until /resume runs each once."""

from __future__ import annotations

from datetime import UTC, timedelta

from jobs.clock import utc_now
from jobs.sessions import OWNER
from jobs.sessions.keys import OWNER_KEY
from jobs.spend_terms import Limit
from jobs.spending import Spending
from jobs.storage import HeldEventRepo
from jobs.triggers.events import TriggerEvent, TriggerSource
from jobs.triggers.executor import TriggerExecutor
from tests.fakes.anthropic import text
from tests.integration.delegation.rig import OWNER_CHAT, Conductor, Delegation, Rig

NO_LIMITS: dict[str, Limit | None] = {}


def executor(jobs: Delegation) -> TriggerExecutor:
    """As app.build makes it: a task's schedule runs in the task's session."""
    return TriggerExecutor(
        sessions=jobs.sessions,
        outbox=jobs.outbox,
        owner_chat=OWNER_CHAT,
        zone=UTC,
        task_turn=jobs.runner.trigger_turn,
        held=HeldEventRepo(jobs.db),
    )


def firing(minute: int, *, task_id: int | None = None, schedule: int = 1) -> TriggerEvent:
    """Schedule `schedule`'s firing at 10:<minute> (for a task, or the owner)."""
    return TriggerEvent(
        source=TriggerSource.SCHEDULER,
        payload="Check the flight prices.",
        trusted=True,
        dedup_key=f"schedule:{schedule}@2026-11-27T10:{minute:02d}",
        title="prices",
        task_id=task_id,
        slot=f"schedule:{schedule}",
    )


async def tokens_of(jobs: Delegation, payer: str) -> list[int]:
    rows = await jobs.db.fetch_all(
        "SELECT input_tokens + output_tokens + cache_read_tokens + cache_write_tokens AS n"
        " FROM usage WHERE payer = ? ORDER BY id",
        (payer,),
    )
    return [row["n"] for row in rows]


def gate(jobs: Delegation) -> Spending:
    assert jobs.spending is not None
    return jobs.spending


async def test_a_task_woken_every_minute_stops_costing_at_its_budget(
    rig: Rig, conductor: Conductor
) -> None:
    jobs = await rig.start(budgets=NO_LIMITS)
    task = await jobs.tasks.create("Watch flight prices", description="Tell me below $100.")
    fire = executor(jobs)
    assert (await fire.answer(firing(0, task_id=task.id))).note == "nothing"
    [first] = await tokens_of(jobs, f"task:{task.id}")
    budget = first * 5 // 2  # about three turns (each reads the history the last one wrote)
    await gate(jobs).budgets.book.set("tasks", Limit(budget, "tokens"))  # /budget tasks …

    notes = [(await fire.answer(firing(minute, task_id=task.id))).note for minute in range(1, 10)]
    turns = await tokens_of(jobs, f"task:{task.id}")
    ran = len(turns)
    assert 2 < ran < 10, turns
    assert sum(turns[:-1]) < budget <= sum(turns)  # it stopped at the first turn past it
    assert len(conductor.seen[f"task:{task.id}"]) == ran  # no model call after that
    assert notes == ["nothing"] * (ran - 1) + ["skipped: over budget"] * (10 - ran)
    told = [said for _, said in await jobs.sent(OWNER_CHAT) if "daily budget" in said]
    assert told == [
        f"💸 Task #{task.id} «Watch flight prices» reached its daily budget: "
        f"{Limit(sum(turns), 'tokens').describe()} of {Limit(budget, 'tokens').describe()} "
        "today. It does not run until tomorrow, and messages from the person it talks with "
        f"are not passed on.\n/budget task {task.id} "
        f"{Limit(budget * 2, 'tokens').describe().replace(',', '')} raises it."
    ]


async def test_the_months_cap_stops_tasks_and_schedules_but_not_the_owner(
    rig: Rig, conductor: Conductor
) -> None:
    jobs = await rig.start(budgets={"month": Limit(1_000, "tokens")})
    task = await jobs.tasks.create("Watch flight prices")
    fire = executor(jobs)
    conductor.add("owner", text("Morning!"))
    assert (await jobs.sessions.run_turn(OWNER_KEY, OWNER, "good morning")).text == "Morning!"
    calls = sum(len(seen) for seen in conductor.seen.values())
    assert (await fire.answer(firing(0, task_id=task.id))).note == "skipped: over budget"
    assert (await fire.answer(firing(1, schedule=2))).note == "skipped: over budget"
    assert sum(len(seen) for seen in conductor.seen.values()) == calls
    conductor.add("owner", text("Still here."))
    assert (await jobs.sessions.run_turn(OWNER_KEY, OWNER, "still there?")).text == "Still here."
    told = [said for _, said in await jobs.sent(OWNER_CHAT) if "cap is reached" in said]
    assert len(told) == 1 and told[0].startswith("💸 This month's cap is reached: ")


async def test_pause_holds_a_due_task_and_a_schedule_across_a_restart(
    rig: Rig, conductor: Conductor
) -> None:
    jobs = await rig.start(budgets=NO_LIMITS)
    # A task with a skill has a session of its own: the heartbeat resumes it when a step is due.
    task = await jobs.tasks.create("Watch flight prices", skill="schedule-meeting")
    await executor(jobs).answer(firing(0, task_id=task.id))  # the task's session begins
    await jobs.tasks.update(task.id, next_step_at=utc_now() - timedelta(minutes=1))
    assert await gate(jobs).pause.pause()
    calls = sum(len(seen) for seen in conductor.seen.values())

    fire = executor(jobs)
    assert (await fire.answer(firing(1, schedule=2))).note == "held: runs after /resume"
    assert (await fire.answer(firing(2, schedule=2))).note == "held: runs after /resume"
    assert await jobs.runner.resume_due() == 0  # held: the step stays due
    assert sum(len(seen) for seen in conductor.seen.values()) == calls

    await rig.stop(jobs)
    jobs = await rig.start(budgets=NO_LIMITS)  # a restart: still paused
    assert gate(jobs).pause.paused
    fire = executor(jobs)
    assert (await fire.answer(firing(3, schedule=2))).note == "held: runs after /resume"
    assert await jobs.runner.resume_due() == 0
    assert sum(len(seen) for seen in conductor.seen.values()) == calls
    assert await HeldEventRepo(jobs.db).count() == 1  # the newest firing stands for the rest

    assert await gate(jobs).pause.resume()  # /resume, then what PauseControl runs after it
    owner_before = len(conductor.seen.get("owner", []))
    assert await fire.replay_held() == 1
    assert await jobs.runner.resume_due() == 1
    assert len(conductor.seen.get("owner", [])) == owner_before + 1
    assert await HeldEventRepo(jobs.db).count() == 0
    assert await fire.replay_held() == 0  # each ran once
    assert await jobs.runner.resume_due() == 0
