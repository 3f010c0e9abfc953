"""Memory search at scale: hybrid search latency over 100k stored chunks, incremental indexing
of 10k new chunks (embedded by a local fake over HTTP through the real `openai` client), RSS.

    .venv/bin/python benchmarks/memory_search.py [--chunks 100000] [--dim 512] [--new 10000]

Everything runs on this machine; nothing touches the network beyond 127.0.0.1. The stored
chunks are synthetic text (a Zipf-distributed vocabulary of made-up words, so a few words are
in almost every chunk, as in real notes) with random unit vectors of width --dim.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from jobs.memory.chunking import content_hash
from jobs.memory.embeddings import OpenAIEmbedder, normalized
from jobs.memory.files import MemoryFiles
from jobs.memory.index import MemoryIndex
from jobs.memory.search import HybridSearch
from jobs.memory.vectors import to_blob
from jobs.storage.database import Database
from jobs.storage.memory import ChunkSpec, IndexedFile, MemoryRepo

ROOT = Path(__file__).resolve().parents[1]
MODEL = "fake-embed"
VOCABULARY = 20_000
ZIPF = 1.05
CHUNKS_PER_FILE = 100


def fake_embeddings_server(dim: int) -> Any:
    """The fake /v1/embeddings server of the test suite (tests/fakes/embeddings.py)."""
    sys.path.insert(0, str(ROOT))
    from tests.fakes.embeddings import FakeEmbeddings

    return FakeEmbeddings(dim=dim).start()


class QueryEmbedder:
    """Query vectors in process (a real provider adds its network time, once per new query)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._rng = np.random.default_rng(99)

    @property
    def model(self) -> str:
        return MODEL

    async def embed(self, texts: Sequence[str], /) -> npt.NDArray[np.float32]:
        return normalized(self._rng.standard_normal((len(texts), self.dim)))

    async def aclose(self) -> None:
        return None


class Corpus:
    """Made-up words with Zipf frequencies, and text drawn from them."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = np.random.default_rng(seed)
        onsets = [*list("bcdfghjklmnprstvwz"), "br", "ch", "st", "tr", "pl", "gr", "sh"]
        syllables = [o + v for o in onsets for v in ("a", "e", "i", "o", "u", "ai", "ou")]
        words: set[str] = set()
        while len(words) < VOCABULARY:
            count = int(self.rng.integers(2, 5))
            words.add("".join(self.rng.choice(syllables, count)))
        self.words = np.array(sorted(words, key=lambda w: (len(w), w)))
        ranks = np.arange(1, VOCABULARY + 1, dtype=np.float64)
        weights = 1.0 / ranks**ZIPF
        self.p = weights / weights.sum()

    def texts(self, count: int, low: int = 40, high: int = 110) -> list[str]:
        lengths = self.rng.integers(low, high, count)
        picks = self.words[self.rng.choice(VOCABULARY, int(lengths.sum()), p=self.p)]
        out, at = [], 0
        for n in lengths:
            out.append(" ".join(picks[at : at + n]))
            at += n
        return out

    def query(self) -> str:
        return " ".join(
            self.words[self.rng.choice(VOCABULARY, int(self.rng.integers(2, 5)), p=self.p)]
        )


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("db.sqlite*")) / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def load_chunks(repo: MemoryRepo, corpus: Corpus, total: int, dim: int) -> None:
    rng = np.random.default_rng(2)
    for start in range(0, total, CHUNKS_PER_FILE):
        path = f"memory/archive/{start // CHUNKS_PER_FILE:05d}.md"
        texts = corpus.texts(min(CHUNKS_PER_FILE, total - start))
        specs = [
            ChunkSpec(
                i * 2 + 1, i * 2 + 1, "Archive", text, content_hash("Archive", f"{path}{i}{text}")
            )
            for i, text in enumerate(texts)
        ]
        await repo.apply_file(IndexedFile(path, f"h{start}", 0, 0), add=specs)
        vectors = normalized(rng.standard_normal((len(specs), dim)))
        await repo.save_vectors(
            MODEL, dim, [(s.hash, to_blob(v)) for s, v in zip(specs, vectors, strict=True)]
        )


async def time_searches(search: HybridSearch, queries: list[str]) -> list[float]:
    for query in queries[:20]:  # warm the page cache and numpy
        await search.search(query)
    took = []
    for query in queries:
        started = time.perf_counter()
        await search.search(query, limit=8)
        took.append((time.perf_counter() - started) * 1000)
    return took


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def describe(name: str, took: list[float]) -> str:
    ordered = sorted(took)
    return (
        f"{name:<28} p50 {statistics.median(ordered):6.1f} ms   "
        f"p95 {percentile(ordered, 0.95):6.1f} ms   p99 {percentile(ordered, 0.99):6.1f} ms   "
        f"max {ordered[-1]:6.1f} ms   (n={len(took)})"
    )


def write_new_files(workspace: Path, corpus: Corpus, count: int) -> None:
    """`count` chunks as real Markdown files: one `## heading` + paragraph per chunk."""
    folder = workspace / "memory" / "imported"
    folder.mkdir(parents=True, exist_ok=True)
    texts = corpus.texts(count, 50, 90)
    for start in range(0, count, CHUNKS_PER_FILE):
        body = "".join(
            f"## Note {start + i}\n{text}\n\n"
            for i, text in enumerate(texts[start : start + CHUNKS_PER_FILE])
        )
        (folder / f"{start // CHUNKS_PER_FILE:04d}.md").write_text(f"# Imported\n\n{body}")


async def main(args: argparse.Namespace) -> None:
    corpus = Corpus()
    queries = [corpus.query() for _ in range(args.queries)]
    with tempfile.TemporaryDirectory(prefix="jobs-bench-") as tmp:
        base = Path(tmp)
        db = await Database.open(base / "db.sqlite")
        repo = MemoryRepo(db)
        files = MemoryFiles(workspace=base / "workspace", zone=UTC)
        print(f"memory search benchmark: {args.chunks} chunks, {args.dim}-dim float32 vectors")

        started = time.perf_counter()
        await load_chunks(repo, corpus, args.chunks, args.dim)
        print(f"bulk load (setup, not a target)  {time.perf_counter() - started:7.1f} s")

        index = MemoryIndex(repo=repo, files=files, embedder=QueryEmbedder(args.dim))
        started = time.perf_counter()
        await index.load_vectors()
        print(
            f"load vectors into RAM            {time.perf_counter() - started:7.2f} s   "
            f"({len(index.vectors)} rows, {index.vectors.nbytes / 2**20:.0f} MiB)"
        )
        print(
            f"RSS after load                   {rss_mb():7.0f} MiB "
            f"(peak so far {peak_rss_mb():.0f} MiB)"
        )

        hybrid = HybridSearch(index=index)
        keyword_only = HybridSearch(index=MemoryIndex(repo=repo, files=files, embedder=None))
        print(describe("hybrid (BM25 + cosine)", await time_searches(hybrid, queries)))
        print(describe("keyword only (BM25)", await time_searches(keyword_only, queries)))
        query_vectors = normalized(np.random.default_rng(5).standard_normal((200, args.dim)))
        took = []
        for vector in query_vectors:
            began = time.perf_counter()
            index.vectors.top(vector, 40)
            took.append((time.perf_counter() - began) * 1000)
        print(describe("cosine top-40 alone", took))

        server = fake_embeddings_server(args.dim)
        embedder = OpenAIEmbedder(model=MODEL, base_url=server.url, api_key="bench")
        writer = MemoryIndex(repo=repo, files=files, embedder=embedder)
        writer.vectors = index.vectors  # the same RAM matrix, as in the app
        write_new_files(files.root, corpus, args.new)
        started = time.perf_counter()
        report = await writer.sync()
        took_s = time.perf_counter() - started
        print(
            f"index {report.added} new chunks    {took_s:7.2f} s   ({report.added / took_s:,.0f} "
            f"chunks/s; {report.embedded} embedded over HTTP by the local fake, "
            f"{report.files} files)"
        )
        again = await writer.sync()
        print(f"re-sync with nothing changed     files looked at again: {again.files}")
        print(
            describe(
                f"hybrid at {len(index.vectors)} chunks", await time_searches(hybrid, queries[:200])
            )
        )
        print(
            f"RSS now {rss_mb():.0f} MiB, peak {peak_rss_mb():.0f} MiB; "
            f"database {disk_mb(base):.0f} MiB"
        )
        await embedder.aclose()
        server.stop()
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    asyncio.run(main(parser.parse_args()))
