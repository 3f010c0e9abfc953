"""`jobs backup` while a real `jobs run` is answering, then `jobs restore` into a fresh folder:
the next start answers with the same memory, tasks, schedules and conversation, on the login the
backup carried (no TG_SESSION given)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from jobs.storage import Database
from jobs.storage.tasks import TaskRepo
from jobs.storage.trigger_rows import ScheduleKind
from jobs.storage.triggers import TriggerRepo
from tests.chaos.conftest import OWNER_ID, Rig, wait_until
from tests.fakes.anthropic import Call, Turn, text, tool_use

FACT = "the dentist is on Friday"


def planner(call: Call) -> Turn:
    """The model: a slow first answer; later, what it knows and what the schedules tool says."""
    if results := call.tool_results:
        knows = "I know" if FACT in call.system_text else "I forgot"
        return text(f"{knows} {FACT}. Schedules: {results[0]['content']}")
    if "what is planned?" in call.last_user_text:
        return tool_use("mcp__schedules__schedule_list", {})
    if "a slow question" in call.last_user_text:
        return text("A slow answer.", delay=3)
    if "first words" in call.last_user_text:
        return text("Glad to meet you.")
    return text(f"unexpected: {call.last_user_text[-200:]}")


async def seed(data: Path, workspace: Path) -> None:
    """What earlier days left: a memory, a task, a schedule."""
    memory = workspace / "MEMORY.md"
    await asyncio.to_thread(workspace.mkdir, parents=True)
    await asyncio.to_thread(memory.write_text, f"# Memory\n\n- {FACT}\n")
    async with await Database.open(data / "db.sqlite") as db:
        await TaskRepo(db).create("Renew the passport")
        await TriggerRepo(db).add_schedule(
            "Morning digest", kind=ScheduleKind.CRON, spec="30 8 * * *", timezone="UTC",
            prompt="send me a digest",
        )  # fmt: skip


async def test_backup_while_answering_then_restore_elsewhere_and_go_on(rig: Rig) -> None:
    rig.model.default = planner
    await seed(Path(rig.env["DATA_DIR"]), Path(rig.env["WORKSPACE_DIR"]))
    first = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, "first words")
    await wait_until(lambda: rig.created("Glad to meet you."), what="the first answer")
    rig.tg.outgoing(OWNER_ID, "a slow question")
    await rig.model.wait_calls_async(2)  # Jobs is answering now
    archive = rig.tmp_path / "backups" / "jobs.tar.gz"
    backup = await rig.spawn("backup", str(archive), "--verify")
    assert await backup.exit_code(within=60) == 0, backup.log()
    assert "Verified: " in backup.log() and "database schema" in backup.log()
    await wait_until(lambda: rig.created("A slow answer."), what="the slow answer")
    await rig.settled()
    first.signal(signal.SIGTERM)
    assert await first.exit_code() == 0

    home = rig.tmp_path / "elsewhere"
    env = {k: v for k, v in rig.env.items() if k != "TG_SESSION"}  # the login is in the backup
    env |= {"JOBS_HOME": str(home), "DATA_DIR": str(home / "data")}
    env |= {"WORKSPACE_DIR": str(home / "workspace")}
    restore = await rig.spawn("restore", str(archive), env=env)
    assert await restore.exit_code(within=60) == 0, restore.log()
    assert f"into {home / 'data'} and {home / 'workspace'}." in restore.log()

    await rig.start_jobs(env=env)
    rig.tg.outgoing(OWNER_ID, "what is planned?")
    said = await wait_until(lambda: rig.sends_containing("Schedules:"), what="the answer")
    assert said[0].startswith(f"I know {FACT}.") and "Morning digest" in said[0]
    resumed = rig.model.calls[-1]  # the same conversation, resumed from its transcript:
    earlier = [str(m["content"]) for m in resumed.messages if m["role"] == "assistant"]
    assert any("Glad to meet you." in m for m in earlier)
    rig.tg.outgoing(OWNER_ID, "/tasks")
    await wait_until(lambda: rig.sends_containing("Renew the passport"), what="the task")
