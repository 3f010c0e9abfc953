"""Hybrid memory search: FTS5 BM25 always, cosine over the VectorMatrix when there are vectors,
fused by reciprocal rank; every hit cites its file and line range."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from jobs.memory.embeddings import EmbeddingsUnavailable
from jobs.memory.index import MemoryIndex

if TYPE_CHECKING:
    from jobs.memory.embeddings import Matrix

logger = logging.getLogger(__name__)

CANDIDATES: Final = 40
"""How many hits each ranking contributes to the fusion."""
RRF_K: Final = 60
"""Reciprocal rank fusion's constant (Cormack et al. 2009): a hit scores 1/(60 + rank)."""
MATCH_CAP: Final = 8000
"""BM25 scores at most this many matching chunks (the newest); rarer terms go first."""
MAX_TERMS: Final = 12
QUERY_EMBED_SECONDS: Final = 8.0
"""A provider slower than this (down, retrying) leaves the search to keywords."""
_STOPWORDS: Final = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    }
)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Hit:
    path: str
    start_line: int
    end_line: int
    heading: str
    text: str
    score: float
    keyword: bool
    """Found by words (BM25)."""
    meaning: bool
    """Found by meaning (cosine similarity of embeddings)."""

    @property
    def citation(self) -> str:
        if self.start_line == self.end_line:
            return f"{self.path}:{self.start_line}"
        return f"{self.path}:{self.start_line}-{self.end_line}"


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: tuple[Hit, ...]
    vectors: bool
    """True when cosine similarity took part (a provider is configured and answered)."""
    note: str = ""


def query_terms(query: str, /) -> list[str]:
    """The words of a query worth matching: no stopwords (unless that leaves none), no repeats."""
    words = [w for w in _WORD.findall(query.casefold()) if len(w) > 1 or w.isdigit()]
    content = [w for w in words if w not in _STOPWORDS] or words
    return list(dict.fromkeys(content))[:MAX_TERMS]


def fts_phrase(term: str, /) -> str:
    """A term as an FTS5 string: quoted, so no word is read as an operator (OR, NEAR, …)."""
    return '"' + term.replace('"', '""') + '"'


def choose_terms(counts: Sequence[tuple[str, int]], /, *, cap: int) -> list[str]:
    """The rarest terms whose matches together stay within `cap` (at least the rarest one).

    A word in most chunks adds almost nothing to BM25 (its IDF is near zero) but would make
    SQLite score every one of them.
    """
    chosen: list[str] = []
    total = 0
    for term, count in sorted((c for c in counts if c[1] > 0), key=lambda c: c[1]):
        if chosen and total + count > cap:
            break
        chosen.append(term)
        total += count
    return chosen


def fuse(
    keyword: Sequence[int], meaning: Sequence[int], /, *, k: int = RRF_K
) -> list[tuple[int, float, bool, bool]]:
    """Reciprocal rank fusion: (chunk id, score, by keyword, by meaning), best first."""
    scores: dict[int, float] = {}
    for ranking in (keyword, meaning):
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    in_keyword, in_meaning = set(keyword), set(meaning)
    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0] not in in_keyword))
    return [(i, s, i in in_keyword, i in in_meaning) for i, s in ordered]


class HybridSearch:
    """Searches what MemoryIndex holds. Query vectors are cached (the same question twice
    costs one embeddings call)."""

    def __init__(
        self,
        *,
        index: MemoryIndex,
        candidates: int = CANDIDATES,
        match_cap: int = MATCH_CAP,
        query_cache: int = 256,
    ) -> None:
        self._index = index
        self._repo = index.repo
        self._candidates = candidates
        self._cap = match_cap
        self._cache: OrderedDict[str, Matrix] = OrderedDict()
        self._cache_size = query_cache

    async def search(self, query: str, /, *, limit: int = 8) -> SearchResult:
        keyword, (meaning, used, note) = await asyncio.gather(
            self._keyword(query_terms(query)), self._meaning(query)
        )
        fused = fuse(keyword, meaning)[:limit]
        chunks = await self._repo.chunks([chunk_id for chunk_id, *_ in fused])
        hits = tuple(
            Hit(c.path, c.start_line, c.end_line, c.heading, c.text, score, by_kw, by_vec)
            for chunk_id, score, by_kw, by_vec in fused
            if (c := chunks.get(chunk_id)) is not None
        )
        return SearchResult(hits=hits, vectors=used, note=note)

    async def _keyword(self, terms: list[str]) -> list[int]:
        if not terms:
            return []
        counts = await self._repo.count_matches_each(
            [fts_phrase(t) for t in terms], up_to=self._cap + 1
        )
        chosen = choose_terms(list(zip(terms, counts, strict=True)), cap=self._cap)
        if not chosen:
            return []
        found = await self._repo.keyword_search(
            " OR ".join(fts_phrase(t) for t in chosen), limit=self._candidates, cap=self._cap
        )
        return [chunk_id for chunk_id, _score in found]

    async def _meaning(self, query: str) -> tuple[list[int], bool, str]:
        """(chunk ids by similarity, whether vectors were used, a note when they failed)."""
        if self._index.embedder is None or not query.strip():
            return [], False, ""
        vectors = self._index.vectors
        if not len(vectors):
            return [], False, ""
        try:
            async with asyncio.timeout(QUERY_EMBED_SECONDS):
                vector = await self._query_vector(query)
            found = await asyncio.to_thread(vectors.top, vector, self._candidates)
        except (EmbeddingsUnavailable, ValueError, TimeoutError) as exc:
            logger.warning("memory search without vectors: %r", exc)
            return [], False, "Search by meaning failed just now; these are keyword matches."
        return [chunk_id for chunk_id, _score in found], True, ""

    async def _query_vector(self, query: str) -> Matrix:
        key = " ".join(query.split())
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        embedder = self._index.embedder
        if embedder is None:
            raise EmbeddingsUnavailable("no embeddings provider is configured")
        vector: Matrix = (await embedder.embed([key]))[0]
        self._cache[key] = vector
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vector
