"""How soon the owner sees a reply being written: the time from the model's first text delta to
the first words visible at Telegram (the first live draft reaching the fake), with the scripted
model writing slowly (40 tokens/s, 800 tokens: about 20 s). Before streaming, the first words
appeared only with the finished reply, after the whole generation.

Jobs runs whole, in this process, as benchmarks/pipeline.py runs it (FakeTelegram, the real SDK
and Claude Code CLI against the scripted model). Prints figures, asserts nothing.

    .venv/bin/python benchmarks/streaming.py [--replies 3] [--tokens 800] [--rate 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from telethon.tl import functions, types  # noqa: E402

from benchmarks.pipeline import OWNER_ID, settings_in  # noqa: E402
from jobs.modes import run_telegram  # noqa: E402
from jobs.telegram.client import make_client  # noqa: E402
from tests.fakes.anthropic import Call, FakeAnthropic, Turn, text  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

CHARS_PER_TOKEN = 4


class Watch:
    """perf_counter() times of the first draft and of the final send, per reply."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.first_draft: float | None = None
        self.sent = asyncio.Event()
        self.sent_at = 0.0
        typing, send = tg._on_messages_set_typing, tg._on_messages_send_message

        def on_typing(req: Any) -> Any:
            if isinstance(req.action, types.SendMessageTextDraftAction):
                self.first_draft = self.first_draft or time.perf_counter()
            return typing(req)

        def on_send(req: Any) -> Any:
            self.sent_at = time.perf_counter()
            self.sent.set()
            return send(req)

        tg.handle(functions.messages.SetTypingRequest, on_typing)
        tg.handle(functions.messages.SendMessageRequest, on_send)

    def reset(self) -> None:
        self.first_draft, self.sent_at = None, 0.0
        self.sent.clear()


def slow_writer(tokens: int, rate: float) -> Any:
    """The model's answer: `tokens` tokens at `rate` tokens/s, 4 tokens a delta."""
    body = " ".join(f"w{n:03d}" for n in range(tokens))[: tokens * CHARS_PER_TOKEN]

    def script(call: Call) -> Turn:
        if "warm" in call.last_user_text:
            return text("ok")
        return text(body, chunk=4 * CHARS_PER_TOKEN, delay=4 / rate)

    return script


async def measure(replies: int, tokens: int, rate: float, tmp: Path) -> None:
    model = FakeAnthropic(default=slow_writer(tokens, rate)).start()
    env = model.env(
        home=tmp / "claude-home",
        IS_SANDBOX="1",
        CLAUDE_CODE_MAX_RETRIES="0",
        API_TIMEOUT_MS="120000",
    )
    settings = settings_in(tmp)
    tg = FakeTelegram(me_id=OWNER_ID)
    watch = Watch(tg)
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
        seen, whole = [], []
        for n in range(replies):
            watch.reset()
            before = len(model.calls)
            tg.outgoing(OWNER_ID, f"write a long story {n}")
            await asyncio.wait_for(watch.sent.wait(), 10 + 2 * tokens / rate)
            first = next(c.first_text_at for c in model.calls[before:] if c.first_text_at)
            assert watch.first_draft is not None, "no draft was shown"
            seen.append(watch.first_draft - first)
            whole.append(watch.sent_at - first)
        report(seen, whole, tokens, rate)
    finally:
        jobs.cancel()
        await asyncio.gather(jobs, return_exceptions=True)
        tg.close()
        model.stop()


def report(seen: list[float], whole: list[float], tokens: int, rate: float) -> None:
    print(f"\n{len(seen)} replies of {tokens} tokens at {rate:.0f} tokens/s\n")
    print(
        f"first text delta → first words visible (draft): median {statistics.median(seen):6.2f} s"
        f"   max {max(seen):6.2f} s"
    )
    print(
        f"first text delta → finished reply sent:          median {statistics.median(whole):6.2f} s"
        "   (when the first words appeared before streaming)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=800)
    parser.add_argument("--rate", type=float, default=40.0, help="tokens per second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobs-streaming-") as tmp:
        asyncio.run(measure(args.replies, args.tokens, args.rate, Path(tmp)))


if __name__ == "__main__":
    main()
