from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from jobs.sessions.process import ProcStat, descendants, kill_tree, proc_stat, running


def fake_proc(root: Path, parents: dict[int, int]) -> Path:
    for pid, ppid in parents.items():
        (root / str(pid)).mkdir()
        (root / str(pid) / "stat").write_text(f"{pid} (a (weird) name) S {ppid} 1 1 0")
    return root


def test_descendants_walks_the_tree(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, {10: 1, 11: 10, 12: 10, 13: 11, 20: 1})
    assert sorted(descendants(10, proc=proc)) == [11, 12, 13]
    assert descendants(20, proc=proc) == []


async def test_kill_tree_kills_children_too() -> None:
    script = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
    parent = await asyncio.create_subprocess_exec(sys.executable, "-c", script)
    for _ in range(100):
        children = descendants(parent.pid)
        if children:
            break
        await asyncio.sleep(0.05)
    assert children
    kill_tree(parent.pid)
    assert await asyncio.wait_for(parent.wait(), 5) == -9
    for _ in range(100):
        if _dead(children[0]):
            break
        await asyncio.sleep(0.05)
    assert _dead(children[0])


def _dead(pid: int) -> bool:
    """Gone, or a zombie (an orphan's reaper, pid 1 in a container, may never wait for it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


def test_proc_stat_reads_state_parent_and_start_time(tmp_path: Path) -> None:
    (tmp_path / "7").mkdir()
    rest = " ".join(str(n) for n in range(5, 22))  # fields 5…21, then starttime (22nd)
    (tmp_path / "7" / "stat").write_text(f"7 (a ) (b) Z 3 {rest} 987654 0 0")
    stat = proc_stat(7, proc=tmp_path)
    assert stat == ProcStat(state="Z", ppid=3, start=987654)
    assert stat.ended
    assert proc_stat(8, proc=tmp_path) is None
    assert not running(7, 987654, proc=tmp_path)  # a zombie runs no more


def test_running_needs_the_same_start_time() -> None:
    me = proc_stat(os.getpid())
    assert me is not None and not me.ended
    assert running(os.getpid(), me.start)
    assert not running(os.getpid(), me.start + 1)  # the pid of an earlier process
