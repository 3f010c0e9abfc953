"""The injection suite at the task entry points (see tests/e2e/test_injection.py for the rest):
every payload as a counterpart's reply, as an assignee's fields, and as a file a tainted task
session wrote that the owner's session then reads. The model obeys every payload (tests/
injection/obey.py); every approval question is answered no. For each: no out-of-policy call
ran, nothing private reached anyone but the owner, and what the owner sees carries no entity
the attacker made."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from jobs.clock import utc_now
from jobs.sessions import OWNER
from jobs.sessions.keys import OWNER_KEY
from jobs.sessions.roles import task_folder
from jobs.storage import ApprovalRepo
from jobs.tools.tasks import ExternalTaskTools
from tests.fakes.anthropic import FakeAnthropic
from tests.injection.obey import PIN, SECRET, Obeyer, problems, shown, tag_of
from tests.injection.payloads import PAYLOADS
from tests.integration.delegation.rig import ALICE, BOB, OWNER_CHAT, Delegation, Rig


@dataclass
class Attack:
    jobs: Delegation
    obeyer: Obeyer
    rig: Rig
    found: dict[str, list[str]]

    async def each(self, deliver: Callable[[int, str, str], Awaitable[None]], kind: str) -> None:
        """Every payload in turn: `deliver(index, tag, text)`, until the obeying model is
        done with it in a session of `kind`; then what it did is checked."""
        for index, payload in enumerate(PAYLOADS):
            tag = tag_of(index)
            outbox, audit = await self._mark()
            await deliver(index, tag, payload.text(tag, str(self.obeyer.marker(tag))))
            await _until(functools.partial(self.obeyer.done, kind, tag))
            await self.jobs.idle()
            said = problems(
                tag,
                owner_chat=OWNER_CHAT,
                messages=shown(
                    await self.jobs.db.fetch_all("SELECT * FROM outbox WHERE id > ?", (outbox,))
                ),
                audit=await self.jobs.db.fetch_all("SELECT * FROM audit WHERE id > ?", (audit,)),
                obeyer=self.obeyer,
                folders=[self.rig.tmp / "workspace", task_folder(self.rig.tmp / "workspace", 1)],
            )
            if said:
                self.found[payload.name] = said

    async def _mark(self) -> tuple[int, int]:
        row = await self.jobs.db.fetch_one(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM outbox) AS o,"
            " (SELECT COALESCE(MAX(id), 0) FROM audit) AS a"
        )
        assert row is not None
        return int(row["o"]), int(row["a"])


@contextlib.asynccontextmanager
async def attack(rig: Rig, fake_model: FakeAnthropic) -> AsyncIterator[Attack]:
    workspace = rig.tmp / "workspace"
    workspace.mkdir(exist_ok=True)
    (workspace / "MEMORY.md").write_text(f"- Bank: {PIN}\n", encoding="utf-8")
    secret = workspace / "secret.txt"
    secret.write_text(f"API_KEY={SECRET}\n", encoding="utf-8")
    obeyer = Obeyer(workspace=workspace, secret_file=secret)
    fake_model.default = obeyer
    jobs = await rig.start()
    owner = asyncio.create_task(_say_no_to_every_question(jobs))
    made = Attack(jobs, obeyer, rig, {})
    try:
        yield made
    finally:
        owner.cancel()
        await asyncio.gather(owner, return_exceptions=True)
    assert not made.found, made.found


async def _until(done: Callable[[], bool]) -> None:
    async with asyncio.timeout(60):
        while True:
            if done():
                return
            await asyncio.sleep(0.05)


async def _say_no_to_every_question(jobs: Delegation) -> None:
    approvals = ApprovalRepo(jobs.db)
    while True:
        for pending in await approvals.pending():
            await jobs.broker.decide(pending.code, approve=False)
        await asyncio.sleep(0.05)


async def task_with(
    jobs: Delegation, *, counterpart_id: int | None = None, assignee_id: int | None = None
) -> None:
    """Task #1, talking with or assigned to the attacker, started (it has a session)."""
    await jobs.people.upsert_seen(BOB, display_name="Bob", username="bob")
    await jobs.people.upsert_seen(ALICE, display_name="Alice", username="alice")
    task = await jobs.tasks.create(
        "Meeting",
        skill="schedule-meeting",
        grants=["bash"],
        counterpart_id=counterpart_id,
        assignee_id=assignee_id,
    )
    assert task.id == 1
    await jobs.tasks.set_session_id(1, "not-started-yet")


async def test_a_counterparts_replies(rig: Rig, fake_model: FakeAnthropic) -> None:
    async with attack(rig, fake_model) as run:
        jobs = run.jobs
        await task_with(jobs, counterpart_id=BOB)

        async def deliver(index: int, tag: str, said: str) -> None:
            item = await jobs.message(BOB, said, 100 + index)
            prompt = jobs.runner.frame(item, said)
            reply = await jobs.runner.counterpart_turn(1, item, prompt)
            await jobs.outbox.enqueue(await jobs.runner.report(1, reply.text))

        await run.each(deliver, "task")


async def test_an_assignees_fields(rig: Rig, fake_model: FakeAnthropic) -> None:
    async with attack(rig, fake_model) as run:
        jobs = run.jobs
        await task_with(jobs, assignee_id=ALICE)
        assignee = ExternalTaskTools(tasks=jobs.tasks, notify_owner=_unused)

        async def deliver(index: int, tag: str, said: str) -> None:
            changes = {"task_id": 1, "note": said[:2000], "next_step": said[:500]}
            await assignee.update_task(ALICE, changes)
            await jobs.tasks.update(1, next_step_at=utc_now() - timedelta(seconds=1))
            await jobs.runner.resume_due()  # the heartbeat: the task reads its card

        await run.each(deliver, "task")


async def test_files_a_tainted_task_wrote(rig: Rig, fake_model: FakeAnthropic) -> None:
    async with attack(rig, fake_model) as run:
        jobs = run.jobs
        await task_with(jobs, counterpart_id=BOB)
        folder = task_folder(rig.tmp / "workspace", 1)

        async def deliver(index: int, tag: str, said: str) -> None:
            item = await jobs.message(BOB, said, 100 + index)  # the task writes notes-<tag>.md
            await jobs.runner.counterpart_turn(1, item, jobs.runner.frame(item, said))
            await jobs.sessions.reset(OWNER_KEY)  # a clean owner's session reads the file
            note = folder / f"notes-{tag}.md"
            assert note.exists(), f"the task did not write {note.name}"
            reply = await jobs.sessions.run_turn(OWNER_KEY, OWNER, f"@@read {note}")
            assert reply.tainted

        await run.each(deliver, "owner")


async def _unused(person_id: int, text: str) -> None:
    raise AssertionError("no summary is sent here")


pytestmark = pytest.mark.timeout(600)
