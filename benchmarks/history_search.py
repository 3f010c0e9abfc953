"""History search at scale: the owner's opted-in chats holding 1 M messages, searched through
ChatHistory (the search_history tool's path): latency percentiles and the memory a search adds.

    .venv/bin/python benchmarks/history_search.py [--messages 1000000] [--chats 200]

The index is built once (setup, not a target) into a temporary database. The searches then run
in a fresh process that opens that database as Jobs would, so the memory they add is measured
alone: RSS before opening it, after the searches, and the peak (VmHWM). Messages are synthetic
text, 3 to 30 words drawn from a Zipf-distributed vocabulary of made-up words (a few in almost
every message, as in real chats), plus a few real words ("invoice", "friday") now and then.
Queries are 1 to 3 words of every frequency, a fifth of them limited to one chat. Nothing touches
the network.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from jobs.memory.history import ChatHistory
from jobs.storage.database import Database
from jobs.storage.history import HistoryEntry, HistoryRepo

VOCABULARY = 30_000
ZIPF = 1.05
BATCH = 5_000
REAL_WORDS = ("invoice", "friday", "contract", "promised", "tickets", "birthday")
P95_TARGET_MS = 100.0
ADDED_TARGET_MB = 200.0


class Corpus:
    """Made-up words with Zipf frequencies, and messages drawn from them."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = np.random.default_rng(seed)
        onsets = [*list("bcdfghjklmnprstvwz"), "br", "ch", "st", "tr", "pl", "gr", "sh"]
        syllables = [o + v for o in onsets for v in ("a", "e", "i", "o", "u", "ai", "ou")]
        words: set[str] = set()
        while len(words) < VOCABULARY:
            words.add("".join(self.rng.choice(syllables, int(self.rng.integers(2, 5)))))
        self.words = np.array(sorted(words, key=lambda w: (len(w), w)))
        weights = 1.0 / np.arange(1, VOCABULARY + 1, dtype=np.float64) ** ZIPF
        self.p = weights / weights.sum()

    def messages(self, count: int) -> list[str]:
        lengths = self.rng.integers(3, 31, count)
        picks = self.words[self.rng.choice(VOCABULARY, int(lengths.sum()), p=self.p)]
        extra = self.rng.random(count) < 0.02
        out, at = [], 0
        for i, n in enumerate(lengths):
            words = list(picks[at : at + n])
            if extra[i]:
                words.insert(int(self.rng.integers(0, n)), str(self.rng.choice(REAL_WORDS)))
            out.append(" ".join(words))
            at += n
        return out

    def queries(self, count: int) -> list[str]:
        """1 to 3 words: frequent, middling and rare ones (ranks spread log-uniformly)."""
        found = []
        for _ in range(count):
            size = int(self.rng.integers(1, 4))
            ranks = np.exp(self.rng.uniform(0, np.log(VOCABULARY), size)).astype(int) - 1
            words = [str(self.words[r]) for r in ranks]
            if self.rng.random() < 0.2:
                words[0] = str(self.rng.choice(REAL_WORDS))
            found.append(" ".join(words))
        return found


async def build(path: Path, total: int, chats: int) -> None:
    db = await Database.open(path)
    repo = HistoryRepo(db)
    for chat in range(chats):
        await repo.opt_in(
            1000 + chat, f"Chat {chat}", f"tg://openmessage?user_id={1000 + chat}&message_id="
        )
    corpus = Corpus()
    start = datetime(2022, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    for first in range(0, total, BATCH):
        texts = corpus.messages(min(BATCH, total - first))
        entries = [
            HistoryEntry(
                chat_id=1000 + (first + i) % chats,
                msg_id=first + i + 1,
                sent_at=start + timedelta(minutes=first + i),
                sender="you" if i % 3 == 0 else f"Person {(first + i) % chats}",
                outgoing=i % 3 == 0,
                text=text,
            )
            for i, text in enumerate(texts)
        ]
        await repo.add(entries)
    took = time.perf_counter() - started
    await db.close()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20
    print(
        f"build (setup, not a target)   {total:,} messages in {chats} chats: {took:.0f} s, "
        f"{total / took:,.0f} messages/s; database {size:.0f} MiB"
    )


def memory_mb() -> tuple[float, float]:
    """(RSS, peak RSS) of this process in MiB."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def describe(took: list[float]) -> str:
    ordered = sorted(took)
    return (
        f"p50 {statistics.median(ordered):5.1f} ms   p95 {percentile(ordered, 0.95):5.1f} ms   "
        f"p99 {percentile(ordered, 0.99):5.1f} ms   max {ordered[-1]:5.1f} ms"
    )


async def search(path: Path, count: int, chats: int) -> None:
    before, _ = memory_mb()
    db = await Database.open(path)
    history = ChatHistory(repo=HistoryRepo(db), source=None)
    corpus = Corpus(seed=7)
    queries = corpus.queries(count)
    rng = np.random.default_rng(3)
    scoped = [1000 + int(rng.integers(0, chats)) if rng.random() < 0.2 else None for _ in queries]
    for query in queries[:20]:  # the page cache warms as it would in a running Jobs
        await history.search(query, chat_id=None, limit=10)
    took, hits = [], 0
    for query, chat_id in zip(queries, scoped, strict=True):
        began = time.perf_counter()
        found = await history.search(query, chat_id=chat_id, limit=10)
        took.append((time.perf_counter() - began) * 1000)
        hits += len(found)
    after, peak = memory_mb()
    await db.close()
    ordered = sorted(took)
    p95 = percentile(ordered, 0.95)
    print(f"search ({count} queries)        {describe(took)}   ({hits / count:.1f} hits a query)")
    in_one = [t for t, chat_id in zip(took, scoped, strict=True) if chat_id is not None]
    everywhere = [t for t, chat_id in zip(took, scoped, strict=True) if chat_id is None]
    print(f"  in all chats ({len(everywhere)})          {describe(everywhere)}")
    print(f"  in one chat ({len(in_one)})            {describe(in_one)}")
    added, added_peak = after - before, peak - before
    print(
        f"memory                        RSS {before:.0f} MiB before opening the index, "
        f"{after:.0f} after the searches: +{added:.0f} MiB (peak +{added_peak:.0f} MiB)"
    )
    ok = p95 <= P95_TARGET_MS and added_peak <= ADDED_TARGET_MB
    print(
        f"targets                       p95 <= {P95_TARGET_MS:.0f} ms, added <= "
        f"{ADDED_TARGET_MB:.0f} MiB: {'met' if ok else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--search-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.search_only is not None:
        asyncio.run(search(args.search_only, args.queries, args.chats))
        return
    with tempfile.TemporaryDirectory(prefix="jobs-bench-") as tmp:
        path = Path(tmp) / "db.sqlite"
        asyncio.run(build(path, args.messages, args.chats))
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--search-only",
                str(path),
                "--queries",
                str(args.queries),
                "--chats",
                str(args.chats),
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
