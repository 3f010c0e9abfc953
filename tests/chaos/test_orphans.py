"""kill -9 of `jobs run` alone (not its group): the next start ends the CLIs it left running."""

from __future__ import annotations

import signal

from jobs.sessions.process import proc_stat, running
from tests.chaos.conftest import OWNER_ID, Rig, group_members, wait_until
from tests.fakes.anthropic import Call, Script, Turn, hang, text

QUESTION, REPLY = "what is the answer?", "Here is your answer."


def scripted(*, hold: set[str]) -> Script:
    """Answer QUESTION; hang (hold the turn) while it is in `hold`."""

    def script(call: Call) -> Turn:
        if QUESTION not in call.last_user_text:
            return text(f"unexpected prompt: {call.last_user_text[-200:]}")
        return hang() if QUESTION in hold else text(REPLY)

    return script


def started(pids: list[int]) -> dict[int, int]:
    """Each live process's start time (with its pid, it names the process for good)."""
    stats = {pid: proc_stat(pid) for pid in pids}
    return {pid: stat.start for pid, stat in stats.items() if stat is not None}


async def test_a_cli_left_by_kill_9_of_jobs_alone_is_ended_at_the_next_start(rig: Rig) -> None:
    hold = {QUESTION}
    rig.model.default = scripted(hold=hold)
    first = await rig.start_jobs()
    rig.tg.outgoing(OWNER_ID, QUESTION)
    await rig.model.wait_calls_async(1, timeout=20)  # the CLI is answering, its turn held
    clis = started([pid for pid in group_members(first.pid) if pid != first.pid])
    assert clis, "no Claude Code process found in the group of jobs"

    first.signal(signal.SIGKILL)  # Jobs alone: as the OOM killer does
    assert await first.exit_code() == -signal.SIGKILL
    assert all(running(pid, start) for pid, start in clis.items()), "the CLI ended by itself"
    hold.clear()

    second = await rig.start_jobs()  # the sweep runs before it logs in
    assert not [pid for pid, start in clis.items() if running(pid, start)]
    await rig.logged(second, "ended 1 Claude Code process(es) left running by an earlier Jobs")
    await wait_until(lambda: rig.sends(REPLY), what="the reply after the restart")
    await rig.settled()
    second.signal(signal.SIGTERM)
    assert await second.exit_code() == 0, second.log()[-3000:]

    assert len(rig.sends(REPLY)) == 1
    assert await rig.inbox_states() == {"answered": 1}
    assert not (rig.tmp_path / "data" / "run" / "cli-pids.json").exists()  # each CLI closed
