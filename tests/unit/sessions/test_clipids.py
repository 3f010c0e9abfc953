"""The record of running CLIs and the sweep at start, on real processes left to init."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from jobs.sessions.clipids import CliPids, CliProcess, cli_pids_path, end_orphaned_clis, read_record
from jobs.sessions.process import descendants, proc_stat, running

Orphan = Callable[[str], Awaitable[int]]


@pytest.fixture
async def orphan() -> AsyncIterator[Orphan]:
    """Start a shell command whose parent exits at once, so init adopts it (as a CLI is when
    Jobs alone is killed); every one is SIGKILLed at the end, with what it started."""
    started: list[int] = []

    async def start(script: str) -> int:
        shell = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            'sh -c "$0" </dev/null >/dev/null 2>&1 & echo $!',
            script,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await shell.communicate()
        started.append(int(out))
        return started[-1]

    yield start
    for pid in started:
        for victim in [pid, *descendants(pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)


def start_of(pid: int) -> int:
    stat = proc_stat(pid)
    assert stat is not None
    return stat.start


async def below(pid: int) -> list[int]:
    """The processes `pid` started, once there are any."""
    for _ in range(200):
        if found := descendants(pid):
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"{pid} started nothing")


def test_the_record_has_an_entry_per_running_cli_and_goes_with_the_last(tmp_path: Path) -> None:
    path = cli_pids_path(tmp_path)
    record = CliPids(path=path)
    record.add(os.getpid(), "owner")
    record.add(os.getppid(), "external:7")
    assert read_record(path) == [
        CliProcess(os.getpid(), start_of(os.getpid()), "owner"),
        CliProcess(os.getppid(), start_of(os.getppid()), "external:7"),
    ]
    record.remove(os.getpid())
    assert [e.key for e in read_record(path)] == ["external:7"]
    record.remove(os.getppid())
    assert not path.exists()
    assert not path.with_name(path.name + ".tmp").exists()  # written aside, then renamed


def test_entries_a_sweep_has_not_handled_are_kept(tmp_path: Path) -> None:
    path = cli_pids_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps([{"pid": 4242, "start": 17, "key": "owner"}]))
    CliPids(path=path).add(os.getpid(), "owner")
    assert [e.pid for e in read_record(path)] == [4242, os.getpid()]


def test_a_process_already_gone_is_not_recorded(tmp_path: Path) -> None:
    path = cli_pids_path(tmp_path)
    CliPids(path=path).add(2**22 + 1, "owner")  # above the kernel's pid_max: never a process
    assert not path.exists()


async def test_an_unreadable_record_is_ignored_and_removed(tmp_path: Path) -> None:
    path = cli_pids_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert read_record(path) == []
    assert await end_orphaned_clis(tmp_path) == 0
    assert not path.exists()


async def test_the_sweep_ends_an_orphaned_cli_and_what_it_started(
    tmp_path: Path, orphan: Orphan
) -> None:
    cli = await orphan("sleep 60 & wait")  # sh ends at SIGTERM; its sleep would live on
    [child] = await below(cli)
    cli_start, child_start = start_of(cli), start_of(child)
    CliPids(path=cli_pids_path(tmp_path)).add(cli, "owner")

    assert await end_orphaned_clis(tmp_path, grace=0.5) == 1

    assert not running(cli, cli_start)
    assert not running(child, child_start)
    assert not cli_pids_path(tmp_path).exists()


async def test_a_cli_ignoring_sigterm_gets_sigkill_after_the_grace(
    tmp_path: Path, orphan: Orphan
) -> None:
    cli = await orphan("trap '' TERM; sleep 60 & wait")  # the sleep ignores SIGTERM too
    [child] = await below(cli)
    cli_start, child_start = start_of(cli), start_of(child)
    CliPids(path=cli_pids_path(tmp_path)).add(cli, "owner")

    assert await end_orphaned_clis(tmp_path, grace=0.3) == 1

    assert not running(cli, cli_start)
    assert not running(child, child_start)


async def test_a_reused_pid_is_not_killed(tmp_path: Path, orphan: Orphan) -> None:
    stranger = await orphan("sleep 60")
    start = start_of(stranger)
    path = cli_pids_path(tmp_path)
    path.parent.mkdir(parents=True)
    # The CLI that had this pid started earlier; the pid now names another process.
    path.write_text(json.dumps([{"pid": stranger, "start": start - 1, "key": "owner"}]))

    assert await end_orphaned_clis(tmp_path, grace=0.3) == 0

    assert running(stranger, start)
    assert not path.exists()


async def test_a_child_of_this_process_is_left_alone(tmp_path: Path) -> None:
    mine = await asyncio.create_subprocess_exec("sleep", "60")
    try:
        CliPids(path=cli_pids_path(tmp_path)).add(mine.pid, "owner")
        assert await end_orphaned_clis(tmp_path, grace=0.3) == 0
        assert mine.returncode is None
        assert running(mine.pid, start_of(mine.pid))
    finally:
        mine.kill()
        await mine.wait()
