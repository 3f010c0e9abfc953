"""Jobs' per-message overhead: a Telegram message through the whole of Jobs vs a bare SDK query.

(a) the whole pipeline, in this process: FakeTelegram (in-process sender seam) → Telethon →
    inbound → inbox (SQLite) → dispatcher → owner session (real SDK + Claude Code CLI against
    the scripted model) → outbox → Telethon → the SendMessageRequest reaching the fake.
(b) a bare ClaudeSDKClient with the owner session's options: query → ResultMessage.

Both are warm (one turn first) and run alternately, N turns each, against the same fake model.
Prints median / p90 latencies, their ratio, the per-message overhead, and the RSS of this
process and of each live CLI. No assertions: figures only. --rtt-ms delays every answer of the
fake Telegram (half each way), to show what Jobs waits for on a real network.

    .venv/bin/python benchmarks/pipeline.py [--turns 30] [--rtt-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from claude_agent_sdk import ClaudeSDKClient, McpServerConfig, ResultMessage  # noqa: E402
from telethon.tl import functions  # noqa: E402

from jobs.config import Settings, load_settings  # noqa: E402
from jobs.modes import run_telegram  # noqa: E402
from jobs.sessions.options import build_options, cli_env  # noqa: E402
from jobs.sessions.process import descendants  # noqa: E402
from jobs.sessions.roles import OWNER  # noqa: E402
from jobs.telegram.client import make_client  # noqa: E402
from tests.fakes.anthropic import Call, FakeAnthropic, Turn, inherited_claude_vars, text  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

OWNER_ID = 1000
HASH = "0123456789abcdef0123456789abcdef"


@dataclass
class Stamps:
    """perf_counter() times of model requests and of the reply sends, by message tag."""

    model: dict[str, float] = field(default_factory=dict)
    sent: dict[str, asyncio.Event] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def model_script(self) -> Callable[[Call], Turn]:
        """Answer "<tag>" with "ok <tag>" at once, noting when the request arrived."""

        def script(call: Call) -> Turn:
            now = time.perf_counter()
            tag = call.last_user_text.rsplit(" ", 1)[-1]
            with self.lock:
                self.model.setdefault(tag, now)
            return text(f"ok {tag}")

        return script


@dataclass
class Sample:
    total: float
    to_model: float  # start → the model request arrived
    after_model: float  # the model request → the end


def settings_in(tmp: Path) -> Settings:
    return load_settings(
        None,
        tg_api_id=12345,
        tg_api_hash=HASH,
        tg_user_id=OWNER_ID,
        data_dir=tmp / "data",
        workspace_dir=tmp / "workspace",
        query_timeout_seconds=60,
    )


class Pipeline:
    """(a): the whole of Jobs on FakeTelegram, as tests/e2e/conftest.py runs it."""

    def __init__(
        self, settings: Settings, env: dict[str, str], stamps: Stamps, *, rtt: float
    ) -> None:
        self.settings, self.env, self.stamps, self.rtt = settings, env, stamps, rtt
        self.tg = FakeTelegram(me_id=OWNER_ID)
        self.task: asyncio.Task[int] | None = None
        send = self.tg._on_messages_send_message
        answer = self.tg._answer

        async def after_rtt(req: Any) -> Any:  # half the round trip there, half back
            await asyncio.sleep(rtt / 2)
            result = await answer(req)
            await asyncio.sleep(rtt / 2)
            return result

        if rtt:
            self.tg._answer = after_rtt  # type: ignore[method-assign]

        def on_send(req: Any) -> Any:
            tag = str(req.message).rsplit(" ", 1)[-1]
            self.stamps.sent_at.setdefault(tag, time.perf_counter())
            if tag in self.stamps.sent:
                self.stamps.sent[tag].set()
            return send(req)

        self.tg.handle(functions.messages.SendMessageRequest, on_send)

    async def start(self) -> None:
        client = self.tg.attach(make_client(self.settings))
        task = self.task = asyncio.create_task(
            run_telegram(self.settings, extra_env=self.env, client=client)
        )
        # Until the update loop runs: before that, on a first start, Telethon is still fetching
        # its update state and drops a message pushed meanwhile (tests/e2e/conftest.py).
        while not (client.is_connected() and client._updates_handle is not None):
            if task.done():
                task.result()  # it failed: say why
            await asyncio.sleep(0.01)

    async def turn(self, tag: str) -> Sample:
        done = self.stamps.sent[tag] = asyncio.Event()
        start = time.perf_counter()
        self.tg.outgoing(OWNER_ID, f"note {tag}")
        await asyncio.wait_for(done.wait(), 60)
        end = self.stamps.sent_at[tag]
        model = self.stamps.model[tag]
        await asyncio.sleep(self.rtt)  # the send's answer comes back before the next note
        return Sample(end - start, model - start, end - model)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        self.tg.close()


class Bare:
    """(b): a ClaudeSDKClient with the owner session's options, nothing else (or only the MCP
    `servers` given: benchmarks/browser.py's)."""

    def __init__(
        self,
        settings: Settings,
        env: dict[str, str],
        stamps: Stamps,
        servers: Mapping[str, McpServerConfig] | None = None,
        mcp_tools: Iterable[str] = (),
    ) -> None:
        cwd = settings.workspace_dir.resolve()
        cwd.mkdir(parents=True, exist_ok=True)
        options = build_options(
            OWNER,
            cwd=cwd,
            resume=None,
            servers=servers or {},
            mcp_tools=mcp_tools,
            env=cli_env(settings, extra=env),
            hooks=None,
        )
        self.client = ClaudeSDKClient(options)
        self.stamps = stamps

    async def turn(self, tag: str) -> Sample:
        start = time.perf_counter()
        await self.client.query(f"bare {tag}")
        async for message in self.client.receive_response():
            if isinstance(message, ResultMessage):
                break
        end = time.perf_counter()
        model = self.stamps.model[tag]
        return Sample(end - start, model - start, end - model)


def rss_kb(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def process_name(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return "?"


def cli_processes() -> list[tuple[int, str, int]]:
    """(pid, name, RSS kB) of every live process below this one (the Claude Code CLIs)."""
    found = []
    for pid in descendants(os.getpid()):
        rss = rss_kb(pid)
        if rss is not None:
            found.append((pid, process_name(pid), rss))
    return found


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def summary(name: str, samples: list[Sample]) -> tuple[float, float]:
    totals = [s.total * 1000 for s in samples]
    med, high = statistics.median(totals), p90(totals)
    to_model = statistics.median(s.to_model * 1000 for s in samples)
    after = statistics.median(s.after_model * 1000 for s in samples)
    print(
        f"{name:<28} median {med:7.1f} ms   p90 {high:7.1f} ms   "
        f"(start→model request {to_model:6.1f} ms, model request→end {after:6.1f} ms)"
    )
    return med, high


async def measure(turns: int, rtt: float, tmp: Path) -> None:
    stamps = Stamps()
    model = FakeAnthropic(default=stamps.model_script()).start()
    env = model.env(
        home=tmp / "claude-home",
        IS_SANDBOX="1",
        ENABLE_TOOL_SEARCH="false",
        CLAUDE_CODE_MAX_RETRIES="0",
        API_TIMEOUT_MS="30000",
    )
    settings = settings_in(tmp)
    jobs = Pipeline(settings, env, stamps, rtt=rtt)
    bare = Bare(settings_in(tmp / "bare"), env, stamps)
    try:
        await jobs.start()
        await bare.client.connect()
        await jobs.turn("warm-a")  # first turns start the CLIs: not measured
        await bare.turn("warm-b")
        a: list[Sample] = []
        b: list[Sample] = []
        for i in range(turns):  # alternate, so drift hits both alike
            a.append(await jobs.turn(f"a{i}"))
            b.append(await bare.turn(f"b{i}"))
        report(a, b, turns, rtt)
    finally:
        await bare.client.disconnect()
        await jobs.stop()
        model.stop()


def report(a: list[Sample], b: list[Sample], turns: int, rtt: float) -> None:
    print(
        f"\nwarm turns: {turns} each, alternating; the scripted model answers at once; "
        f"Telegram round trip {rtt * 1000:.0f} ms\n"
    )
    med_a, p90_a = summary("(a) Jobs, Telegram→reply", a)
    med_b, p90_b = summary("(b) bare SDK query→result", b)
    print(f"\nratio median a/b: {med_a / med_b:.3f}   ratio p90 a/b: {p90_a / p90_b:.3f}")
    print(f"per-message overhead (median a - median b): {med_a - med_b:.1f} ms\n")
    print(f"RSS of this process (Jobs + in-process fakes): {rss_kb(os.getpid())} kB")
    for pid, name, rss in cli_processes():
        print(f"RSS of child {pid} ({name}): {rss} kB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument(
        "--rtt-ms", type=float, default=0.0, help="delay every fake Telegram answer this long"
    )
    args = parser.parse_args()
    for name in inherited_claude_vars():  # the SDK passes os.environ to the CLI
        del os.environ[name]
    with tempfile.TemporaryDirectory(prefix="jobs-bench-") as tmp:
        asyncio.run(measure(args.turns, args.rtt_ms / 1000, Path(tmp)))


if __name__ == "__main__":
    main()
