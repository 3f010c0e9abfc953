"""The owner's reply time while strangers flood Jobs at the rate Telegram itself lets each
sender write (about one message a second), against the same with no flood.

A real `jobs run` process over the MTProto loopback to the fake Telegram (the chaos tests'
rig), the real Claude Code CLIs against the scripted model, which answers at once. Phase 1: the
owner writes a note every `--every` seconds, nobody else writes. Phase 2: the same while
`--strangers` people each write about once a second (jittered), for `--seconds`. Strangers are
answered (`EXTERNAL_USERS=all`, their rate limit as configured) or, with `--policy announce`,
announced to the owner once and otherwise ignored. Prints the owner's reply times (median,
p95) in both phases and their ratio, what happened to the strangers' messages, and the Jobs
process's RSS. Figures only.

    .venv/bin/python benchmarks/flood.py [--strangers 50] [--seconds 120] [--every 3]
                                         [--policy all|announce]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from telethon.tl import functions  # noqa: E402

from jobs.storage import Database  # noqa: E402
from tests.chaos.conftest import OWNER_ID, Rig, run_env, wait_until  # noqa: E402
from tests.fakes.anthropic import Call, FakeAnthropic, Turn, text  # noqa: E402
from tests.fakes.loopback import MTProtoLoopback  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

FIRST_STRANGER = 7000


def answer(call: Call) -> Turn:
    return text("ok " + call.last_user_text.rsplit(" ", 1)[-1])


class OwnerClock:
    """When each of the owner's notes was written and when its reply reached Telegram."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.asked: dict[str, float] = {}
        self.answered: dict[str, float] = {}
        send = tg._on_messages_send_message

        def on_send(req: object) -> object:
            message = str(getattr(req, "message", ""))
            tag = message.rsplit(" ", 1)[-1]
            if tag in self.asked and tag not in self.answered:
                self.answered[tag] = time.perf_counter()
            return send(req)

        tg.handle(functions.messages.SendMessageRequest, on_send)

    def ask(self, tg: FakeTelegram, tag: str) -> None:
        self.asked[tag] = time.perf_counter()
        tg.outgoing(OWNER_ID, f"note {tag}")

    def seconds(self, tags: list[str]) -> list[float]:
        return [self.answered[t] - self.asked[t] for t in tags if t in self.answered]


async def owner_phase(
    tg: FakeTelegram, clock: OwnerClock, *, prefix: str, seconds: float, every: float
) -> list[str]:
    tags, end = [], time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        tag = f"{prefix}{n}"
        clock.ask(tg, tag)
        tags.append(tag)
        n += 1
        await asyncio.sleep(every)
    await asyncio.sleep(min(30.0, 4 * every))  # the last replies come in
    return tags


async def flood(tg: FakeTelegram, strangers: int, seconds: float) -> int:
    """Each stranger writes about once a second (0.7 to 1.3 s apart) for `seconds`."""
    sent = 0
    end = time.perf_counter() + seconds

    async def one(person: int) -> None:
        nonlocal sent
        await asyncio.sleep(random.uniform(0, 1))  # jitter, not security
        n = 0
        while time.perf_counter() < end:
            tg.incoming(person, f"hello {n} from {person}")
            sent += 1
            n += 1
            await asyncio.sleep(random.uniform(0.7, 1.3))

    await asyncio.gather(*(one(FIRST_STRANGER + i) for i in range(strangers)))
    return sent


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else 0.0


async def inbox_states(db_path: Path) -> dict[str, int]:
    async with await Database.open(db_path) as db:
        rows = await db.fetch_all("SELECT state, COUNT(*) AS n FROM inbox GROUP BY state")
    return {str(r["state"]): int(r["n"]) for r in rows}


async def measure(args: argparse.Namespace, tmp: Path) -> None:
    tg = FakeTelegram(me_id=OWNER_ID)
    for i in range(args.strangers):
        tg.add_user(FIRST_STRANGER + i, f"Stranger {i}")
    model = FakeAnthropic(default=answer).start()
    clock = OwnerClock(tg)
    async with MTProtoLoopback(tg) as loopback:
        env = run_env(
            tmp,
            loopback,
            model,
            model_env={"CLAUDE_CODE_MAX_RETRIES": "0"},
            EXTERNAL_USERS="all" if args.policy == "all" else "approved",
        )
        rig = Rig(tmp, tg, loopback, model, env)
        try:
            jobs = await rig.start_jobs()
            clock.ask(tg, "warm")  # the owner's CLI starts: not measured
            await wait_until(lambda: "warm" in clock.answered, what="the first reply", within=60)
            quiet = await owner_phase(tg, clock, prefix="q", seconds=args.quiet, every=args.every)
            rss_quiet = rss_mb(jobs.pid)
            flooding = asyncio.create_task(flood(tg, args.strangers, args.seconds))
            loud = await owner_phase(tg, clock, prefix="f", seconds=args.seconds, every=args.every)
            sent = await flooding
            rss_loud = rss_mb(jobs.pid)
            states = await inbox_states(tmp / "data" / "db.sqlite")
            report(args, clock.seconds(quiet), clock.seconds(loud), sent, states)
            print(f"Jobs process RSS: {rss_quiet:.1f} MB quiet, {rss_loud:.1f} MB after the flood")
        finally:
            await rig.aclose()
            model.stop()


def report(
    args: argparse.Namespace,
    quiet: list[float],
    loud: list[float],
    sent: int,
    states: dict[str, int],
) -> None:
    print(
        f"\n{args.strangers} strangers at ~1 msg/s each for {args.seconds:.0f} s "
        f"({sent} messages, policy {args.policy}); the owner writes every {args.every:.0f} s\n"
    )
    for name, values in (("no flood", quiet), ("flood", loud)):
        median = statistics.median(values)
        print(
            f"owner's reply, {name:<8}: n={len(values):3d}  median {median:6.2f} s"
            f"  p95 {p95(values):6.2f} s  max {max(values):6.2f} s"
        )
    print(f"\nratio p95 flood / no flood: {p95(loud) / p95(quiet):.2f} (target ≤ 2)")
    print(f"inbox after the flood: {states}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strangers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the flood")
    parser.add_argument("--quiet", type=float, default=45.0, help="length of the quiet phase")
    parser.add_argument("--every", type=float, default=3.0, help="seconds between owner notes")
    parser.add_argument("--policy", choices=("all", "announce"), default="all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobs-flood-") as tmp:
        asyncio.run(measure(args, Path(tmp)))


if __name__ == "__main__":
    main()
