from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from jobs.memory import EmbeddingsUnavailable, MemoryStore
from jobs.memory.chunking import chunk_markdown
from jobs.memory.index import plan
from jobs.storage import Database
from jobs.storage.memory import StoredChunk
from tests.fakes.embeddings import FakeEmbedder
from tests.unit.memory.conftest import StoreFactory

MEMORY = """# Memory

## People
- Anna (wife) loves tulips

## Work
- Project Zephyr ships in December

## Home
- The boiler is serviced in October
"""


class FlakyEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.down = True

    async def embed(self, texts: Sequence[str], /) -> npt.NDArray[np.float32]:
        if self.down:
            raise EmbeddingsUnavailable("fake outage")
        return await super().embed(texts)


def embedded(embedder: FakeEmbedder) -> list[str]:
    return [text for call in embedder.calls for text in call]


def test_plan_keeps_moves_adds_and_removes() -> None:
    old_chunks = chunk_markdown(MEMORY)
    old = [
        StoredChunk(i, "MEMORY.md", c.start_line, c.end_line, c.heading, c.text, c.hash)
        for i, c in enumerate(old_chunks, start=1)
    ]
    new_text = "# Memory\n\nIntro line.\n" + MEMORY.split("\n", 1)[1].replace("December", "May")
    steps = plan(old, chunk_markdown(new_text))
    assert steps.remove == [2]  # Work changed
    assert [c.text for c in steps.add] == [
        "# Memory\nIntro line.",
        "## Work\n- Project Zephyr ships in May",
    ]
    assert {m.chunk_id for m in steps.move} == {1, 3}  # moved down by the intro, not re-added


async def test_only_changed_chunks_are_embedded(store: MemoryStore, embedder: FakeEmbedder) -> None:
    await store.files.write(store.files.memory_path, MEMORY)
    first = await store.index.sync()
    assert (first.files, first.added, first.embedded) == (1, 3, 3)
    embedder.calls.clear()

    edited = MEMORY.replace("December", "January")
    await store.files.write(store.files.memory_path, "# Memory\n\nIntro.\n" + edited[9:])
    report = await store.index.sync()
    assert (report.added, report.removed, report.moved) == (2, 1, 2)
    assert embedded(embedder) == [
        "Memory\n# Memory\nIntro.",
        "Memory / Work\n## Work\n- Project Zephyr ships in January",
    ]
    hit = (await store.search("boiler")).hits[0]
    assert (hit.start_line, hit.end_line) == (11, 12)  # moved lines are cited where they are now
    assert len(store.index.vectors) == 4


async def test_an_unchanged_file_is_not_reindexed(
    store: MemoryStore, embedder: FakeEmbedder
) -> None:
    await store.files.write(store.files.memory_path, MEMORY)
    await store.index.sync()
    embedder.calls.clear()
    stat = store.files.memory_path.stat()
    os.utime(store.files.memory_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    report = await store.index.sync()
    assert report.files == 0 and not embedder.calls
    assert (await store.index.sync()).files == 0


async def test_a_deleted_file_leaves_the_index(store: MemoryStore, db: Database) -> None:
    await store.append_daily("Called the plumber about the leak")
    assert (await store.search("plumber")).hits
    store.files.daily_path(store.files.today()).unlink()
    report = await store.index.sync()
    assert report.forgotten == 1 and report.removed == 1
    assert not (await store.search("plumber")).hits
    assert len(store.index.vectors) == 0
    cached = await db.fetch_all("SELECT hash FROM memory_vectors")
    assert cached == []  # the embedding cache does not only grow


async def test_restart_loads_vectors_without_embedding_again(
    make_store: StoreFactory, store: MemoryStore
) -> None:
    await store.files.write(store.files.memory_path, MEMORY)
    await store.index.sync()
    again = FakeEmbedder()
    restarted = make_store(again)
    report = await restarted.start()
    assert report.files == 0 and not again.calls
    assert len(restarted.index.vectors) == 3
    assert "tulips" in (await restarted.search("flowers for my spouse")).hits[0].text
    await restarted.aclose()


async def test_provider_outage_keeps_keywords_then_backfills(make_store: StoreFactory) -> None:
    flaky = FlakyEmbedder()
    store = make_store(flaky)
    await store.start()
    await store.files.write(store.files.memory_path, MEMORY)
    report = await store.index.sync()
    assert report.added == 3 and report.embedded == 0 and report.embed_errors
    assert "tulips" in (await store.search("tulips")).hits[0].text
    result = await store.search("flowers for my spouse")
    assert not result.vectors
    flaky.down = False
    assert await store.index.backfill() == 3
    result = await store.search("flowers for my spouse")
    assert result.vectors and "tulips" in result.hits[0].text
    await store.aclose()


async def test_a_new_model_embeds_everything_again(
    make_store: StoreFactory, store: MemoryStore
) -> None:
    await store.files.write(store.files.memory_path, MEMORY)
    await store.index.sync()
    other = FakeEmbedder(model="another-model", dim=32)
    switched = make_store(other)
    await switched.start()
    assert len(embedded(other)) == 3 and switched.index.vectors.dim == 32
    await switched.aclose()


async def test_odd_files_do_not_stop_indexing(store: MemoryStore, tmp_path: Path) -> None:
    store.files.memory_dir.mkdir()
    (store.files.memory_dir / "latin1.md").write_bytes("café au lait: Zephyr".encode("latin-1"))
    outside = tmp_path / "outside.md"
    outside.write_text("secret outside memory")
    (store.files.memory_dir / "link.md").symlink_to(outside)
    (store.files.memory_dir / "unreadable.md").mkdir()  # a folder named like a file
    await store.files.write(store.files.memory_path, MEMORY)
    await store.index.sync()
    latin1 = [h for h in (await store.search("lait")).hits if h.keyword]
    assert [(h.path, h.text) for h in latin1] == [("memory/latin1.md", "caf\ufffd au lait: Zephyr")]
    assert not any("secret" in h.text for h in (await store.search("secret outside")).hits)
    assert "boiler" in (await store.search("boiler")).hits[0].text
