"""What an idle Jobs costs: a real `jobs run` process (over the MTProto loopback to the fake
Telegram, the real Claude Code CLIs against the scripted model) after the owner and N strangers
each wrote once. Prints the Jobs process's RSS (at start, after the turns, once idle), the CLI
processes still running 5 s after the last reply and whose they are (the owner's stays warm,
everyone else's closes), and the same with the process idle for a while. Figures only.

Measured (2 cores, 20 strangers): RSS 109.4 MB at start, 118.5 MB after the turns and idle,
with the language detector that loads when someone else first writes (133.9 → 136.6 MB before
numpy and openai loaded lazily; 140 MB in the issue); CLIs 5 s after the last reply: 1, the
owner's (was 4 strangers' for 15 minutes).

    .venv/bin/python benchmarks/idle.py [--strangers 20] [--idle 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from telethon.tl import functions  # noqa: E402

from tests.chaos.conftest import OWNER_ID, Rig, group_members, run_env, wait_until  # noqa: E402
from tests.fakes.anthropic import FakeAnthropic, text  # noqa: E402
from tests.fakes.loopback import MTProtoLoopback  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def clis(pgid: int, jobs_pid: int) -> list[tuple[int, str]]:
    """(pid, the session it serves) of the CLIs in Jobs' process group."""
    found = []
    for pid in group_members(pgid):
        if pid == jobs_pid:
            continue
        with contextlib.suppress(OSError):
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if any(a.endswith(b"claude") for a in args[:1]):
                cwd = str(Path(f"/proc/{pid}/cwd").readlink())
                found.append(
                    (pid, "owner" if cwd.endswith("/workspace") else cwd.rsplit("/", 2)[-1])
                )
    return found


async def measure(strangers: int, idle: float, tmp: Path) -> None:
    tg = FakeTelegram(me_id=OWNER_ID)
    model = FakeAnthropic(default=text("Noted.")).start()
    async with MTProtoLoopback(tg) as loopback:
        env = run_env(
            tmp,
            loopback,
            model,
            model_env={"CLAUDE_CODE_MAX_RETRIES": "0"},
            EXTERNAL_USERS="all",
            MAX_LIVE_SESSIONS="8",
            # Every import the process makes is logged: those made during the turns are
            # what grew it (the reason numpy and openai are imported lazily).
            PYTHONPROFILEIMPORTTIME="1",
        )
        rig = Rig(tmp, tg, loopback, model, env)
        try:
            jobs = await rig.start_jobs()
            await asyncio.sleep(1)
            mark = len(jobs.log())
            at_start = rss_mb(jobs.pid)
            tg.outgoing(OWNER_ID, "remember the milk")
            for n in range(strangers):
                tg.add_user(5000 + n, f"Stranger {n}")
                tg.incoming(5000 + n, "hello")
            replies = 1 + strangers
            await wait_until(
                lambda: len(tg.of(functions.messages.SendMessageRequest)) >= replies,
                what="every reply",
                within=120,
            )
            busy = rss_mb(jobs.pid)
            late = late_imports(jobs.log()[mark:])
            await asyncio.sleep(5)
            after_5s = clis(jobs.pid, jobs.pid)
            await asyncio.sleep(idle)
            report(strangers, at_start, busy, rss_mb(jobs.pid), after_5s, idle)
            print(f"imported during the turns (cumulative ms, top 5): {late or 'nothing heavy'}")
            if strangers:
                await again(tg, 5000, "Stranger 0, whose CLI was closed")
            await again(tg, OWNER_ID, "the owner, whose CLI stayed warm")
        finally:
            await rig.aclose()
            model.stop()


async def again(tg: FakeTelegram, who: int, name: str) -> None:
    """Time from `who` writing again to Jobs' reply reaching the fake Telegram."""
    before = len(tg.of(functions.messages.SendMessageRequest))
    start = time.perf_counter()
    if who == OWNER_ID:
        tg.outgoing(OWNER_ID, "and eggs")
    else:
        tg.incoming(who, "hello again")
    await wait_until(
        lambda: len(tg.of(functions.messages.SendMessageRequest)) > before,
        what="the reply",
        within=60,
    )
    print(f"{name} writes again: reply after {time.perf_counter() - start:.2f} s")


def late_imports(log: str) -> str:
    """Top-level modules imported after start, slowest first (import time ≈ memory)."""
    tops = []
    for line in log.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            _, cumulative, name = line.split("|")
            if name.startswith(" ") and not name.startswith("  "):
                tops.append((int(cumulative), name.strip()))
    return ", ".join(f"{n} {us / 1000:.0f}" for us, n in sorted(tops, reverse=True)[:5])


def report(
    strangers: int,
    start: float,
    busy: float,
    idle_rss: float,
    live: list[tuple[int, str]],
    idle: float,
) -> None:
    print(f"\nthe owner and {strangers} strangers wrote once each\n")
    print(
        f"Jobs process RSS: at start {start:6.1f} MB   after the turns {busy:6.1f} MB   "
        f"idle {idle:.0f} s later {idle_rss:6.1f} MB"
    )
    others = [who for _, who in live if who != "owner"]
    print(
        f"CLI processes 5 s after the last reply: {len(live)} "
        f"(owner's: {sum(who == 'owner' for _, who in live)}, everyone else's: {len(others)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strangers", type=int, default=20)
    parser.add_argument("--idle", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobs-idle-") as tmp:
        asyncio.run(measure(args.strangers, args.idle, Path(tmp)))


if __name__ == "__main__":
    main()
