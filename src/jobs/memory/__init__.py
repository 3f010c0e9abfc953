"""The owner's memory: MEMORY.md, daily logs and past conversations, indexed for hybrid search.

files (atomic writes, safe paths) · document (MEMORY.md edits) · chunking · embeddings
(Embedder, OpenAIEmbedder) · vectors (the RAM matrix) · index (incremental sync) · search
(BM25 + cosine, fused) · context (MEMORY.md for session prompts) · store (what tools call).
"""

from jobs.memory.context import MemoryContext
from jobs.memory.document import DocumentError
from jobs.memory.embeddings import (
    Embedder,
    EmbeddingsUnavailable,
    OpenAIEmbedder,
    make_embedder,
)
from jobs.memory.files import MemoryFiles, PathRefused
from jobs.memory.index import MemoryIndex, SyncReport
from jobs.memory.search import Hit, HybridSearch, SearchResult
from jobs.memory.store import Appended, MemoryStore, open_memory

__all__ = [
    "Appended",
    "DocumentError",
    "Embedder",
    "EmbeddingsUnavailable",
    "Hit",
    "HybridSearch",
    "MemoryContext",
    "MemoryFiles",
    "MemoryIndex",
    "MemoryStore",
    "OpenAIEmbedder",
    "PathRefused",
    "SearchResult",
    "SyncReport",
    "make_embedder",
    "open_memory",
]
