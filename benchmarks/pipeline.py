"""Jobs' per-message overhead: a Telegram message through the whole of Jobs vs a bare SDK query;
then how soon a slowly written reply shows its first words.

(a) the whole pipeline, in this process: FakeTelegram (in-process sender seam) → Telethon →
    inbound → inbox (SQLite) → dispatcher → owner session (real SDK + Claude Code CLI against
    the scripted model) → outbox → Telethon → the SendMessageRequest reaching the fake.
(b) a bare ClaudeSDKClient with the owner session's role (its prompt, permission mode and
    built-in tools), nothing else: query → ResultMessage. Also noted: when the model's answer
    ended there (the message_stop stream event), which Jobs replies at for a plain answer
    (jobs.sessions.agent): the CLI's bookkeeping after it is in (b), not in (a).
(c) a bare ClaudeSDKClient with the owner session's exact options, as Jobs built them (its MCP
    tools, skills plugin, memory and hooks too): what Claude Code itself spends on the session
    Jobs asks for, apart from Jobs' own path (a/c).

All are warm (one turn first) and run in turn, N turns each, against the same fake model. The
CLIs run with their default tool search, as in production: MCP tools (and rarely used built-ins)
are deferred behind ToolSearch instead of sending every schema with each request; --all-tools
sends every schema, as the tests do (ENABLE_TOOL_SEARCH=false).
Prints median / p90 latencies, the ratios, the per-message overhead, and the RSS of this
process and of each live CLI. No assertions: figures only. --rtt-ms delays every answer of the
fake Telegram (half each way), to show what Jobs waits for on a real network; --settle-ms
pauses before each turn, as messages come after a pause in life (a machine that idled runs
every path colder: both take longer, Jobs' more).

(d) streaming: the time from the model's first text delta to the first words visible at
    Telegram (the first live draft reaching the fake), with the scripted model writing slowly
    (--rate tokens/s, --tokens per reply: 40 and 800 are about 20 s), against the time to the
    finished reply — when the first words appeared before replies streamed.

    .venv/bin/python benchmarks/pipeline.py [--turns 30] [--rtt-ms 0] [--settle-ms 0]
                                            [--all-tools] [--replies 3] [--tokens 800]
                                            [--rate 40]
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

from claude_agent_sdk import (  # noqa: E402
    ClaudeAgentOptions,
    ClaudeSDKClient,
    McpServerConfig,
    ResultMessage,
    StreamEvent,
)
from telethon.tl import functions, types  # noqa: E402

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
    answered: float | None = None  # start → the answer's message_stop (bare clients)


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
        options: ClaudeAgentOptions | None = None,
    ) -> None:
        """`options`: exactly these (c); else the owner role's with `servers` only (b)."""
        cwd = settings.workspace_dir.resolve()
        cwd.mkdir(parents=True, exist_ok=True)
        if options is None:
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
        answered = None
        async for message in self.client.receive_response():
            if isinstance(message, StreamEvent) and message.event.get("type") == "message_stop":
                answered = answered or time.perf_counter()
            if isinstance(message, ResultMessage):
                break
        end = time.perf_counter()
        model = self.stamps.model[tag]
        ended = None if answered is None else answered - start
        return Sample(end - start, model - start, end - model, ended)


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


class OwnerOptions:
    """The options Jobs gives the owner's session, seen as its ClaudeSDKClient is made (an
    observer on the class for this run only: Jobs is not changed)."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace.resolve()
        self.seen: ClaudeAgentOptions | None = None
        self._init = ClaudeSDKClient.__init__

    def __enter__(self) -> OwnerOptions:
        original, watch = self._init, self

        def init(client: ClaudeSDKClient, options: Any = None, **kw: Any) -> None:
            if options is not None and Path(options.cwd or "") == watch.workspace:
                watch.seen = watch.seen or options
            original(client, options, **kw)

        ClaudeSDKClient.__init__ = init  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        ClaudeSDKClient.__init__ = self._init  # type: ignore[method-assign]


async def measure(turns: int, rtt: float, settle: float, all_tools: bool, tmp: Path) -> None:
    stamps = Stamps()
    model = FakeAnthropic(default=stamps.model_script()).start()
    env = model.env(
        home=tmp / "claude-home",
        IS_SANDBOX="1",
        CLAUDE_CODE_MAX_RETRIES="0",
        API_TIMEOUT_MS="30000",
        **({"ENABLE_TOOL_SEARCH": "false"} if all_tools else {}),
    )
    settings = settings_in(tmp)
    jobs = Pipeline(settings, env, stamps, rtt=rtt)
    bare = Bare(settings_in(tmp / "bare"), env, stamps)
    same: Bare | None = None
    try:
        with OwnerOptions(settings.workspace_dir) as owner:
            await jobs.start()
            await jobs.turn("warm-a")  # first turns start the CLIs: not measured
        assert owner.seen is not None, "the owner's session was never made"
        same = Bare(settings_in(tmp / "same"), env, stamps, options=owner.seen)
        for client in (bare, same):
            await client.client.connect()
        await bare.turn("warm-b")
        await same.turn("warm-c")
        a: list[Sample] = []
        b: list[Sample] = []
        c: list[Sample] = []
        for i in range(turns):  # in turn, so drift hits all alike
            for runner, tag, samples in ((jobs, "a", a), (bare, "b", b), (same, "c", c)):
                await asyncio.sleep(settle)
                samples.append(await runner.turn(f"{tag}{i}"))
        report(a, b, c, turns, rtt, settle, all_tools)
    finally:
        for client in (bare, same):
            if client is not None:
                await client.client.disconnect()
        await jobs.stop()
        model.stop()


def report(
    a: list[Sample],
    b: list[Sample],
    c: list[Sample],
    turns: int,
    rtt: float,
    settle: float,
    all_tools: bool,
) -> None:
    tools = "every tool schema in each request" if all_tools else "the CLI's tool search"
    print(
        f"\nwarm turns: {turns} each, in turn; the scripted model answers at once; "
        f"Telegram round trip {rtt * 1000:.0f} ms; {settle * 1000:.0f} ms pause before each; "
        f"{tools}\n"
    )
    med_a, p90_a = summary("(a) Jobs, Telegram→reply", a)
    med_b, p90_b = summary("(b) bare SDK query→result", b)
    med_c, _ = summary("(c) bare SDK, Jobs' options", c)
    print(f"\nratio median a/b: {med_a / med_b:.3f}   ratio p90 a/b: {p90_a / p90_b:.3f}")
    print(f"per-message overhead (median a - median b): {med_a - med_b:.1f} ms")
    ended = [s.answered * 1000 for s in b if s.answered is not None]
    if ended:
        med_end = statistics.median(ended)
        print(
            f"(b) to its answer's end (message_stop) median {med_end:.1f} ms: a over that "
            f"{med_a / med_end:.3f} ({med_a - med_end:.1f} ms: Jobs' own path and Telegram's)"
        )
    print(
        f"of which Jobs' own path a/c {med_a / med_c:.3f} ({med_a - med_c:.1f} ms), "
        f"Claude Code on the session Jobs asks for c/b {med_c / med_b:.3f} "
        f"({med_c - med_b:.1f} ms)\n"
    )
    print(f"RSS of this process (Jobs + in-process fakes): {rss_kb(os.getpid())} kB")
    for pid, name, rss in cli_processes():
        print(f"RSS of child {pid} ({name}): {rss} kB")


CHARS_PER_TOKEN = 4


class DraftWatch:
    """perf_counter() times of the first words shown (a live draft, or in Saved Messages the
    message the reply streams into) and of the finished reply (sent, or that message edited)."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.last_word = "ok"
        """The finished reply is the message that ends with this."""
        self.first_shown: float | None = None
        self.sent = asyncio.Event()
        self.sent_at = 0.0
        typing, send = tg._on_messages_set_typing, tg._on_messages_send_message
        edit = tg._on_messages_edit_message

        def shown() -> None:
            self.first_shown = self.first_shown or time.perf_counter()

        def done(message: str) -> None:
            if message.endswith(self.last_word) and not self.sent.is_set():
                self.sent_at = time.perf_counter()
                self.sent.set()

        def on_typing(req: Any) -> Any:
            if isinstance(req.action, types.SendMessageTextDraftAction):
                shown()
            return typing(req)

        def on_send(req: Any) -> Any:
            shown()
            done(req.message)
            return send(req)

        def on_edit(req: Any) -> Any:
            done(req.message or "")
            return edit(req)

        tg.handle(functions.messages.SetTypingRequest, on_typing)
        tg.handle(functions.messages.SendMessageRequest, on_send)
        tg.handle(functions.messages.EditMessageRequest, on_edit)

    def reset(self) -> None:
        self.first_shown, self.sent_at = None, 0.0
        self.sent.clear()


def story(tokens: int) -> str:
    """About `tokens` tokens of text, ending in a whole word."""
    return " ".join(f"w{n:03d}" for n in range(tokens * CHARS_PER_TOKEN // 5))


def slow_writer(tokens: int, rate: float) -> Any:
    """The model's answer: `tokens` tokens at `rate` tokens/s, 4 tokens a delta."""
    body = story(tokens)

    def script(call: Call) -> Turn:
        if "warm" in call.last_user_text:
            return text("ok")
        return text(body, chunk=4 * CHARS_PER_TOKEN, delay=4 / rate)

    return script


async def measure_streaming(replies: int, tokens: int, rate: float, tmp: Path) -> None:
    model = FakeAnthropic(default=slow_writer(tokens, rate)).start()
    env = model.env(
        home=tmp / "claude-home",
        IS_SANDBOX="1",
        CLAUDE_CODE_MAX_RETRIES="0",
        API_TIMEOUT_MS="120000",
    )
    settings = settings_in(tmp)
    tg = FakeTelegram(me_id=OWNER_ID)
    watch = DraftWatch(tg)
    client = tg.attach(make_client(settings))
    jobs = asyncio.create_task(run_telegram(settings, extra_env=env, client=client))
    try:
        # Connected once the update loop runs: a message pushed before is dropped as seen.
        while True:
            if client.is_connected() and client._updates_handle is not None:
                break
            await asyncio.sleep(0.01)
        tg.outgoing(OWNER_ID, "warm up")
        await asyncio.wait_for(watch.sent.wait(), 60)
        watch.last_word = story(tokens).rsplit(" ", 1)[-1]
        seen, whole = [], []
        for n in range(replies):
            watch.reset()
            before = len(model.calls)
            tg.outgoing(OWNER_ID, f"write a long story {n}")
            await asyncio.wait_for(watch.sent.wait(), 10 + 2 * tokens / rate)
            first = next(c.first_text_at for c in model.calls[before:] if c.first_text_at)
            assert watch.first_shown is not None, "the first words were never shown"
            seen.append(watch.first_shown - first)
            whole.append(watch.sent_at - first)
        report_streaming(seen, whole, tokens, rate)
    finally:
        jobs.cancel()
        await asyncio.gather(jobs, return_exceptions=True)
        tg.close()
        model.stop()


def report_streaming(seen: list[float], whole: list[float], tokens: int, rate: float) -> None:
    print(f"\n{len(seen)} replies of {tokens} tokens at {rate:.0f} tokens/s\n")
    print(
        f"first text delta → first words visible:         median {statistics.median(seen):6.2f} s"
        f"   max {max(seen):6.2f} s"
    )
    print(
        f"first text delta → finished reply sent:          median {statistics.median(whole):6.2f} s"
        "   (when the first words appeared before streaming)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument(
        "--rtt-ms", type=float, default=0.0, help="delay every fake Telegram answer this long"
    )
    parser.add_argument(
        "--settle-ms", type=float, default=0.0, help="pause this long before each turn"
    )
    parser.add_argument(
        "--all-tools",
        action="store_true",
        help="every tool schema in every request (ENABLE_TOOL_SEARCH=false, as the tests run)",
    )
    parser.add_argument("--replies", type=int, default=3, help="(d): slowly written replies")
    parser.add_argument("--tokens", type=int, default=800, help="(d): tokens per reply")
    parser.add_argument("--rate", type=float, default=40.0, help="(d): tokens per second")
    args = parser.parse_args()
    for name in inherited_claude_vars():  # the SDK passes os.environ to the CLI
        del os.environ[name]
    with tempfile.TemporaryDirectory(prefix="jobs-bench-") as tmp:
        asyncio.run(
            measure(
                args.turns, args.rtt_ms / 1000, args.settle_ms / 1000, args.all_tools, Path(tmp)
            )
        )
    if args.replies:
        with tempfile.TemporaryDirectory(prefix="jobs-streaming-") as tmp:
            asyncio.run(measure_streaming(args.replies, args.tokens, args.rate, Path(tmp)))


if __name__ == "__main__":
    main()
