from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from jobs.sessions.process import descendants, kill_tree


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
