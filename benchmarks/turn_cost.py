"""What a turn costs, by kind: the requests Jobs' sessions send the model and the tokens they
are billed as (input, cache write, cache read, output), and whether the cached prefix stays
byte-identical across turns and across a restart.

The whole core of Jobs runs in this process (storage, dispatcher, sessions, delegation,
triggers: the real SDK and Claude Code CLI) against the scripted model, which answers every
request with a short text (no tool calls: a turn that uses tools adds a request per tool round)
and reports usage as the API would, from the request's cache_control marks
(tests/fakes/cache.py: tokens estimated as characters / 4; a prefix under 1,024 tokens is not
cached). The dollar figure is Claude Code's own total_cost_usd for the turn, at the price of
the model the role runs. Figures only, no assertions.

- owner turn: the owner's second message (the first starts the session; it writes the cache);
- owner turn after a restart: the resumed session's first turn in a new process;
- owner turn after a memory edit: MEMORY.md changed (it ends the system prompt);
- stranger turn: an allowed person's second message (their three tools only);
- task turn: a delegated task's planned step (the heartbeat resumes its session);
- schedule turn: a schedule the owner made, in the owner's session;
- channel post: a watched channel's post, in a throwaway session of its own (no tools);
- heartbeat, nothing due: HEARTBEAT.md empty and no task due (no request at all);
- heartbeat, one item due: one line in HEARTBEAT.md.

    .venv/bin/python benchmarks/turn_cost.py
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from jobs.app import App, build  # noqa: E402
from jobs.clock import utc_now  # noqa: E402
from jobs.config import ExternalUsers, Settings, load_settings  # noqa: E402
from jobs.messages import InboundMessage, OutboundMessage, SentRef  # noqa: E402
from jobs.triggers.events import TriggerEvent, TriggerSource  # noqa: E402
from jobs.triggers.executor import TriggerExecutor  # noqa: E402
from tests.fakes.anthropic import Call, FakeAnthropic, inherited_claude_vars  # noqa: E402

OWNER_ID, STRANGER_ID = 1000, 111
WAIT_SECONDS = 120


class Replies:
    """A Channel that only counts what it is asked to send."""

    def __init__(self) -> None:
        self.sent = 0
        self.arrived = asyncio.Event()

    async def send(self, message: OutboundMessage, /) -> SentRef:
        self.sent += 1
        self.arrived.set()
        return SentRef(chat_id=message.chat_id, msg_id=self.sent)

    async def typing(self, chat_id: int, /) -> None:
        return None

    async def acknowledge(self, chat_id: int, msg_id: int, /) -> None:
        return None

    async def draft(self, chat_id: int, random_id: int, text: str, /) -> bool:
        return False  # no live drafts here: the reply arrives whole

    async def preview(self, chat_id: int, text: str, /, *, msg_id: int | None = None) -> int | None:
        return None


@dataclass
class Cost:
    """One turn: the requests it made, the tokens they were billed as, its cost."""

    kind: str
    calls: list[Call]
    cost_usd: float

    def tokens(self, name: str) -> int:
        return sum(call.usage.get(name, 0) for call in self.calls)

    def line(self) -> str:
        if not self.calls:
            return f"{self.kind:<31} {0:>3}  {'—':>7}  {'—':>7}  {'—':>7} {'—':>6}  $0"
        return (
            f"{self.kind:<31} {len(self.calls):>3}  {self.tokens('input_tokens'):>7,}  "
            f"{self.tokens('cache_creation_input_tokens'):>7,}  "
            f"{self.tokens('cache_read_input_tokens'):>7,} {self.tokens('output_tokens'):>6,}"
            f"  ${self.cost_usd:.4f}"
        )


def prefix(call: Call) -> str:
    """What the cache keeps from turn to turn: the tool definitions and the system prompt."""
    return json.dumps(call.tools, sort_keys=True) + call.system_text


def stability(prefixes: list[str]) -> str:
    """Whether the prefixes are byte-identical; if not, how much of them all is."""
    digests = list(dict.fromkeys(hashlib.sha256(p.encode()).hexdigest()[:12] for p in prefixes))
    if len(digests) == 1:
        return f"byte-identical ({digests[0]}, {len(prefixes[0]):,} chars)"
    shared = os.path.commonprefix(prefixes)  # noqa: RUF071 - strings, not paths
    longest = max(len(p) for p in prefixes)
    return (
        f"{len(digests)} different; the first {len(shared):,} of {longest:,} chars identical, "
        f"then: {prefixes[-1][len(shared) :][:60]!r}"
    )


class Bench:
    """One Jobs process at a time over the same folder and the same scripted model (whose
    cache survives a restart, as the API's does for five minutes)."""

    def __init__(self, tmp: Path, model: FakeAnthropic, settings: Settings) -> None:
        self.tmp = tmp
        self.model = model
        self.settings = settings
        self.env = model.env(home=tmp / "claude-home", IS_SANDBOX="1", ENABLE_TOOL_SEARCH="false")
        self.replies = Replies()
        self.app: App | None = None
        self.running: asyncio.Task[None] | None = None
        self.msg_id = 0

    async def start(self) -> App:
        self.app = await build(
            self.settings, channel=self.replies, owner_id=OWNER_ID, extra_env=self.env
        )
        self.running = asyncio.create_task(self.app.run(policy=ExternalUsers.ALL))
        return self.app

    async def stop(self) -> None:
        if self.running is not None:
            self.running.cancel()
            await asyncio.gather(self.running, return_exceptions=True)
        if self.app is not None:
            await self.app.aclose()
        self.app = self.running = None

    async def measure(self, kind: str, payer: str, work: Callable[[], Awaitable[object]]) -> Cost:
        """The requests `work` made, and the cost Jobs counted against `payer` meanwhile."""
        assert self.app is not None
        before = len(self.model.calls)
        last = await self._last_row()
        await work()
        await self.app.settle()
        rows = await self.app.db.fetch_all(
            "SELECT cost_usd FROM usage WHERE id > ? AND payer = ?", (last, payer)
        )
        return Cost(kind, self.model.calls[before:], sum(row["cost_usd"] for row in rows))

    async def message(self, sender: int) -> None:
        assert self.app is not None
        self.msg_id += 1
        self.replies.arrived.clear()
        await self.app.dispatcher.submit(
            InboundMessage(
                chat_id=sender, msg_id=self.msg_id, sender_id=sender, text=f"note {self.msg_id}"
            )
        )
        await asyncio.wait_for(self.replies.arrived.wait(), WAIT_SECONDS)

    async def beat(self) -> None:
        assert self.app is not None
        self.replies.arrived.clear()
        if await self.app.triggers.heartbeat.beat():
            await asyncio.wait_for(self.replies.arrived.wait(), WAIT_SECONDS)

    async def task_step(self, task_id: int) -> None:
        """The task's planned step is due now; the heartbeat's task pass runs it."""
        assert self.app is not None
        await self.app.repos.tasks.update(task_id, next_step_at=utc_now())
        await self.app.delegation.resume_due()

    async def trigger(self, event: TriggerEvent) -> None:
        assert self.app is not None
        executor = TriggerExecutor(
            sessions=self.app.sessions,
            outbox=self.app.repos.outbox,
            owner_chat=OWNER_ID,
            zone=UTC,
            task_turn=self.app.delegation.trigger_turn,
        )
        await executor.answer(event)

    async def _last_row(self) -> int:
        assert self.app is not None
        row = await self.app.db.fetch_one("SELECT COALESCE(MAX(id), 0) AS n FROM usage")
        return 0 if row is None else int(row["n"])


def schedule(n: int) -> TriggerEvent:
    return TriggerEvent(
        source=TriggerSource.SCHEDULER,
        payload="Remind me to water the plants.",
        trusted=True,
        dedup_key=f"schedule:1@{n}",
        title="plants",
        slot="schedule:1",
    )


def post(n: int) -> TriggerEvent:
    return TriggerEvent(
        source=TriggerSource.TG_CHANNEL,
        payload=f"Post {n}: the city council meets on Tuesday about the new bridge.",
        trusted=False,
        dedup_key=f"tg_channel:-1001:{n}",
        title="City news",
        instructions="Tell me about anything on the bridge.",
        slot="channel:-1001",
    )


async def run(tmp: Path) -> tuple[list[Cost], dict[str, list[str]]]:
    for name in inherited_claude_vars():
        os.environ.pop(name, None)
    model = FakeAnthropic().start()
    settings = load_settings(
        None, jobs_home=tmp, tg_user_id=OWNER_ID, heartbeat_interval_minutes=30
    )
    bench = Bench(tmp, model, settings)
    costs: list[Cost] = []
    prefixes: dict[str, list[str]] = {"owner": [], "stranger": [], "task": []}
    # The prefix each request sent, by session (the owner's last one after a restart).
    try:
        app = await bench.start()
        for sender, kind, payer in (
            (OWNER_ID, "owner turn", "owner"),
            (STRANGER_ID, "stranger turn", f"person:{STRANGER_ID}"),
        ):
            writes = functools.partial(bench.message, sender)
            first = await bench.measure(kind, payer, writes)
            costs.append(await bench.measure(kind, payer, writes))
            who = "owner" if sender == OWNER_ID else "stranger"
            prefixes[who] += [prefix(c) for c in first.calls + costs[-1].calls]
            if sender == OWNER_ID:
                costs.insert(0, Cost("owner, first of a session", first.calls, first.cost_usd))
        task = await app.repos.tasks.create(
            "Water the plants", description="Every day at 8.", skill="telegram-digest"
        )
        payer = f"task:{task.id}"
        started = await bench.measure("task turn", payer, lambda: bench.task_step(task.id))
        costs.append(await bench.measure("task turn", payer, lambda: bench.task_step(task.id)))
        prefixes["task"] += [prefix(c) for c in started.calls + costs[-1].calls]
        await bench.measure(
            "schedule turn", "trigger:schedule:1", lambda: bench.trigger(schedule(0))
        )
        costs.append(
            await bench.measure(
                "schedule (owner's session)",
                "trigger:schedule:1",
                lambda: bench.trigger(schedule(1)),
            )
        )
        costs.append(
            await bench.measure(
                "channel post (own session)",
                "trigger:channel:-1001",
                lambda: bench.trigger(post(1)),
            )
        )
        costs.append(await bench.measure("heartbeat, nothing due", "trigger:heartbeat", bench.beat))
        (settings.workspace_dir / "HEARTBEAT.md").write_text("- is the report there?\n")
        costs.append(
            await bench.measure("heartbeat, one item due", "trigger:heartbeat", bench.beat)
        )

        await bench.stop()
        await bench.start()  # a restart: the owner's session is resumed in a new CLI
        after = await bench.measure(
            "owner turn after a restart", "owner", lambda: bench.message(OWNER_ID)
        )
        costs.insert(2, after)
        prefixes["owner"] += [prefix(c) for c in after.calls]
        # MEMORY.md sits at the end of the system prompt: an edit re-writes what follows it.
        memory = settings.workspace_dir / "MEMORY.md"
        memory.write_text("# Memory\n\n- The owner waters the plants on Sundays.\n")
        edited = await bench.measure(
            "owner turn after a memory edit", "owner", lambda: bench.message(OWNER_ID)
        )
        costs.insert(3, edited)
        return costs, prefixes
    finally:
        await bench.stop()
        model.stop()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jobs-cost-") as tmp:
        costs, prefixes = asyncio.run(run(Path(tmp)))
    print(
        "Tokens of one turn, as the scripted model bills them (the model answering in one text):\n"
    )
    heads = ("input", "c.write", "c.read")
    print(f"{'kind of turn':<31} req  {'  '.join(f'{h:>7}' for h in heads)} output  cost")
    for cost in costs:
        print(cost.line())
    print("\nThe cached prefix (tool definitions + system prompt) of each request, by session:")
    for who, seen in prefixes.items():
        restart = " (the last after a restart)" if who == "owner" else ""
        print(f"  {who:<9} {len(seen)} requests{restart}: {stability(seen)}")
    print(
        "\nInput is billed at the model's price, cache writes at 1.25 times it, cache reads at a "
        "tenth;\nthe cache lives five minutes after its last use (an hour on some plans)."
    )


if __name__ == "__main__":
    main()
