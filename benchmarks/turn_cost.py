"""What a turn costs in input: the requests Jobs' sessions send the model, by kind of turn.

The whole core of Jobs runs in this process (storage, dispatcher, sessions: the real SDK and
Claude Code CLI) against the scripted model, which answers every request with a short text
(no tool calls: a turn that uses tools adds a request per tool round). For each kind it prints
the model requests made and the size of what the last one sent: system prompt, tool
definitions, messages, in characters and in estimated tokens (characters / 4; Claude's own count
differs by some percent). Figures only, no assertions.

- owner turn: the owner's second message (the first starts the session);
- stranger turn: an allowed person's second message (their three tools only);
- heartbeat, nothing due: HEARTBEAT.md empty and no task due;
- heartbeat, one item due: one line in HEARTBEAT.md.

    .venv/bin/python benchmarks/turn_cost.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from jobs.app import App, build  # noqa: E402
from jobs.config import ExternalUsers, load_settings  # noqa: E402
from jobs.messages import InboundMessage, OutboundMessage, SentRef  # noqa: E402
from tests.fakes.anthropic import Call, FakeAnthropic, inherited_claude_vars  # noqa: E402

OWNER_ID, STRANGER_ID = 1000, 111
CHARS_PER_TOKEN = 4


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


@dataclass
class Cost:
    kind: str
    requests: int
    last: Call | None

    def line(self) -> str:
        if self.last is None:
            return f"{self.kind:<26} {self.requests:>3} model requests"
        system = len(self.last.system_text)
        tools = len(json.dumps(self.last.tools))
        messages = len(json.dumps(self.last.messages))
        total = system + tools + messages
        return (
            f"{self.kind:<26} {self.requests:>3} model requests; the last sent {total:>7,} chars "
            f"≈ {total // CHARS_PER_TOKEN:>6,} tokens (system {system // CHARS_PER_TOKEN:,}, "
            f"{len(self.last.tools)} tools {tools // CHARS_PER_TOKEN:,}, "
            f"messages {messages // CHARS_PER_TOKEN:,})"
        )


async def turn(app: App, model: FakeAnthropic, replies: Replies, sender: int, n: int) -> Cost:
    before = len(model.calls)
    replies.arrived.clear()
    await app.dispatcher.submit(
        InboundMessage(chat_id=sender, msg_id=n, sender_id=sender, text=f"note number {n}")
    )
    await asyncio.wait_for(replies.arrived.wait(), 120)
    await app.settle()
    kind = "owner turn" if sender == OWNER_ID else "stranger turn"
    return Cost(kind, len(model.calls) - before, model.calls[-1])


async def beat(app: App, model: FakeAnthropic, replies: Replies, kind: str) -> Cost:
    before = len(model.calls)
    replies.arrived.clear()
    if await app.triggers.heartbeat.beat():
        await asyncio.wait_for(replies.arrived.wait(), 120)
    made = len(model.calls) - before
    return Cost(kind, made, model.calls[-1] if made else None)


async def measure(tmp: Path) -> list[Cost]:
    for name in inherited_claude_vars():
        os.environ.pop(name, None)
    model = FakeAnthropic().start()
    env = model.env(home=tmp / "claude-home", IS_SANDBOX="1", ENABLE_TOOL_SEARCH="false")
    settings = load_settings(
        None, jobs_home=tmp, tg_user_id=OWNER_ID, heartbeat_interval_minutes=30
    )
    replies = Replies()
    app = await build(settings, channel=replies, owner_id=OWNER_ID, extra_env=env)
    running = asyncio.create_task(app.run(policy=ExternalUsers.ALL))
    try:
        costs = []
        for sender in (OWNER_ID, STRANGER_ID):
            await turn(app, model, replies, sender, 1)  # starts the session: not counted
            costs.append(await turn(app, model, replies, sender, 2))
        costs.append(await beat(app, model, replies, "heartbeat, nothing due"))
        (settings.workspace_dir / "HEARTBEAT.md").write_text("- is the report there?\n")
        costs.append(await beat(app, model, replies, "heartbeat, one item due"))
        return costs
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await app.aclose()
        model.stop()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jobs-cost-") as tmp:
        costs = asyncio.run(measure(Path(tmp)))
    print("Input of one turn, as Jobs sends it (the model answering in one text):\n")
    for cost in costs:
        print(cost.line())
    print(
        "\nThe system prompt and tool definitions are the same every turn: Claude Code marks "
        "them for prompt caching,\nso within 5 minutes of the last turn they are billed as "
        "cache reads (a tenth of the input price)."
    )


if __name__ == "__main__":
    main()
