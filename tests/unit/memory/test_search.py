from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial

import numpy as np
import numpy.typing as npt
import pytest

from jobs.memory import MemoryStore, search
from jobs.memory.document import add_entry
from jobs.memory.search import HybridSearch, choose_terms, fts_phrase, fuse, query_terms
from tests.fakes.embeddings import FakeEmbedder
from tests.unit.memory.conftest import StoreFactory

FACTS = [
    ("People", "Anna (wife) loves tulips and hates lilies"),
    ("People", "Bob from accounting is allergic to peanuts"),
    ("Work", "Project Zephyr ships on the first Friday of December"),
    ("Home", "The boiler service is booked with Heatwise every October"),
]


async def remember(store: MemoryStore) -> None:
    for section, fact in FACTS:
        await store.edit_memory(partial(add_entry, section=section, entry=fact))


def test_query_terms_drop_stopwords_and_repeats() -> None:
    assert query_terms("What is the deadline of the Zephyr project, the deadline?") == [
        "deadline",
        "zephyr",
        "project",
    ]
    assert query_terms("who is it") == ["who", "is", "it"]  # only stopwords: keep them
    assert query_terms("  ") == []


def test_fts_phrase_quotes_operators() -> None:
    assert fts_phrase("or") == '"or"'
    assert fts_phrase('a"b') == '"a""b"'


def test_choose_terms_prefers_rare_ones_within_the_cap() -> None:
    counts = [("common", 9000), ("rare", 3), ("mid", 400), ("absent", 0)]
    assert choose_terms(counts, cap=1000) == ["rare", "mid"]
    assert choose_terms([("common", 9000)], cap=1000) == ["common"]
    assert choose_terms([("absent", 0)], cap=1000) == []


def test_fuse_rewards_agreement() -> None:
    fused = fuse([1, 2, 3], [3, 4])
    assert [i for i, *_ in fused][:2] == [3, 1]
    assert fused[0][2:] == (True, True)
    assert {i: (kw, vec) for i, _s, kw, vec in fused}[4] == (False, True)


async def test_finds_a_fact_by_keyword_with_its_lines(store: MemoryStore) -> None:
    await remember(store)
    result = await store.search("zephyr")
    top = result.hits[0]
    assert "Zephyr ships" in top.text and top.keyword
    lines = (store.files.root / top.path).read_text().splitlines()
    assert "Project Zephyr" in "\n".join(lines[top.start_line - 1 : top.end_line])
    assert top.citation == f"MEMORY.md:{top.start_line}-{top.end_line}"


async def test_finds_a_fact_by_meaning(store: MemoryStore) -> None:
    await remember(store)
    result = await store.search("which flowers does my spouse like")
    assert result.vectors
    top = result.hits[0]
    assert "tulips" in top.text and top.meaning and not top.keyword


async def test_without_embeddings_only_keywords_count(make_store: StoreFactory) -> None:
    store = make_store(None)
    await store.start()
    await remember(store)
    assert not (await store.search("which flowers does my spouse like")).hits
    result = await store.search("peanuts")
    assert not result.vectors and "allergic to peanuts" in result.hits[0].text
    await store.aclose()


async def test_the_query_vector_is_cached(store: MemoryStore, embedder: FakeEmbedder) -> None:
    await remember(store)
    before = len(embedder.calls)
    await store.search("flowers for my wife")
    await store.search("flowers  for my wife")
    assert len(embedder.calls) == before + 1


async def test_common_words_do_not_hide_a_rare_match(make_store: StoreFactory) -> None:
    store = make_store(None)
    await store.start()
    log = "".join(f"- meeting notes number {i} about the weekly meeting\n\n" for i in range(300))
    await store.files.write(store.files.daily_path(store.files.today()), "# day\n\n" + log)
    await remember(store)
    await store.index.sync()
    # A cap below the ~25 chunks with "meeting": scoring them all would exceed it, so the
    # rare words are scored and the common one is left out.
    search = HybridSearch(index=store.index, match_cap=10)
    hits = (await search.search("meeting about Heatwise boiler")).hits
    assert "Heatwise" in hits[0].text
    assert len(hits) == 1
    only_common = (await search.search("weekly meeting")).hits
    assert len(only_common) == 8 and all("meeting" in h.text for h in only_common)
    await store.aclose()


class SlowEmbedder(FakeEmbedder):
    async def embed(self, texts: Sequence[str], /) -> npt.NDArray[np.float32]:
        if len(texts) == 1 and "slow" in texts[0]:
            await asyncio.sleep(60)
        return await super().embed(texts)


async def test_a_slow_provider_leaves_the_search_to_keywords(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "QUERY_EMBED_SECONDS", 0.05)
    store = make_store(SlowEmbedder())
    await store.start()
    await remember(store)
    result = await store.search("slow zephyr")
    assert not result.vectors and "keyword matches" in result.note
    assert "Zephyr" in result.hits[0].text
    await store.aclose()
