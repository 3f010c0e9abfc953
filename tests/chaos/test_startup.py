"""Starting `jobs run` as a real process: one instance per DATA_DIR, no login → `jobs login`."""

from __future__ import annotations

import asyncio

from tests.chaos.conftest import Rig


async def test_a_second_jobs_run_on_the_same_data_dir_exits_at_once(rig: Rig) -> None:
    first = await rig.start_jobs()
    second = await rig.spawn("run")
    assert await second.exit_code(within=10) != 0
    assert "already running" in second.log()
    assert str(first.pid) in second.log()  # the holder is named
    assert first.proc.returncode is None  # the first one is untouched


async def test_jobs_run_without_a_telegram_login_and_no_tty_says_jobs_login(rig: Rig) -> None:
    env = {k: v for k, v in rig.env.items() if k != "TG_SESSION"}
    child = await rig.spawn("run", env=env)
    loop = asyncio.get_running_loop()
    started = loop.time()
    code = await child.exit_code(within=15)
    assert code != 0
    assert "jobs login" in child.log()
    assert "Traceback" not in child.log()
    assert loop.time() - started < 15
    assert rig.tg.requests == []  # nothing reached Telegram (nor tried the real one)
    assert not (rig.tmp_path / "data").exists()  # nothing left behind to clean up
