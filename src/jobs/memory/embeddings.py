"""The Embedder protocol and OpenAIEmbedder (any OpenAI-compatible /v1/embeddings server)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias

from jobs.errors import JobsError

# numpy and openai (≈ 55 MB together) load only when embeddings are configured: a Jobs
# without them never pays for either.
if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Matrix: TypeAlias = npt.NDArray[np.float32]
    """Rows of unit-length float32 vectors."""

logger = logging.getLogger(__name__)

DEFAULT_MODEL: Final = "text-embedding-3-small"
MAX_INPUT_CHARS: Final = 8000
"""About 2000 tokens: far below every model's input limit, and chunks are much shorter."""
BATCH_SIZE: Final = 96


class EmbeddingsUnavailable(JobsError):
    """The embeddings provider failed or answered nonsense; keyword search still works."""


class Embedder(Protocol):
    """Turns texts into vectors; the memory index and search are its only callers.

    `embed` returns one unit-length float32 row per text, in the order given, all of the
    same width; it batches as the provider needs. Any failure (network, HTTP status, a
    malformed answer) raises EmbeddingsUnavailable; the caller then carries on without
    vectors. `model` names the vector space: vectors of different models never mix.
    """

    @property
    def model(self) -> str: ...

    async def embed(self, texts: Sequence[str], /) -> Matrix: ...

    async def aclose(self) -> None: ...


def normalized(rows: npt.ArrayLike, /) -> Matrix:
    """`rows` as float32 with every row scaled to unit length (zero rows stay zero)."""
    import numpy as np

    matrix = np.atleast_2d(np.asarray(rows, dtype=np.float32))
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    scaled: Matrix = (matrix / norms).astype(np.float32, copy=False)
    return scaled


def default_dimensions(model: str, /) -> int | None:
    """Width to ask for: text-embedding-3 models can return fewer dimensions with almost the
    same quality (OpenAI: 3-small at 512 ≈ 1536 within 1 MTEB point); a third of the width
    is a third of the search time and RAM. Other models give their native width."""
    return 512 if model.startswith("text-embedding-3") else None


class OpenAIEmbedder:
    """Embeddings over the `openai` client: OpenAI, or a local server via OPENAI_BASE_URL."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        dimensions: int | None = None,
        batch_size: int = BATCH_SIZE,
        timeout: float = 30.0,
        max_retries: int = 2,
        proxy: str | None = None,
    ) -> None:
        """`proxy`: HTTP_PROXY, which every request goes through."""
        import openai

        # A local server (Ollama) wants no key, but the client insists on one.
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "unused",
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=openai.DefaultAsyncHttpxClient(proxy=proxy) if proxy else None,
        )
        self._model = model
        self._dimensions = dimensions
        self._batch_size = batch_size

    @property
    def model(self) -> str:
        return self._model if self._dimensions is None else f"{self._model}@{self._dimensions}"

    async def embed(self, texts: Sequence[str], /) -> Matrix:
        import numpy as np

        parts = [
            await self._batch(texts[start : start + self._batch_size])
            for start in range(0, len(texts), self._batch_size)
        ]
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        if len({part.shape[1] for part in parts}) != 1:
            raise EmbeddingsUnavailable(f"{self._model} returned vectors of different widths")
        return np.vstack(parts)

    async def _batch(self, texts: Sequence[str]) -> Matrix:
        import openai

        inputs = [text[:MAX_INPUT_CHARS] if text.strip() else "." for text in texts]
        # No encoding_format: the client then asks for base64 and decodes it with numpy
        # (a server that ignores it and sends floats still works). Asking for "float" made
        # indexing 6x slower: the client builds a Python object for every number.
        dimensions = openai.omit if self._dimensions is None else self._dimensions
        try:
            answer = await self._client.embeddings.create(
                model=self._model, input=inputs, dimensions=dimensions
            )
        except openai.OpenAIError as exc:
            raise EmbeddingsUnavailable(
                f"embeddings request to {self._where} failed: {exc}"
            ) from exc
        rows = sorted(answer.data, key=lambda item: item.index)
        if len(rows) != len(inputs) or not rows or not rows[0].embedding:
            raise EmbeddingsUnavailable(
                f"{self._where} returned {len(rows)} vectors for {len(inputs)} texts"
            )
        try:
            return normalized([row.embedding for row in rows])
        except ValueError as exc:  # ragged rows
            raise EmbeddingsUnavailable(f"{self._where} returned malformed vectors") from exc

    @property
    def _where(self) -> str:
        return str(self._client.base_url)

    async def aclose(self) -> None:
        await self._client.close()


def make_embedder(
    *,
    api_key: str | None,
    base_url: str | None,
    model: str = DEFAULT_MODEL,
    proxy: str | None = None,
) -> OpenAIEmbedder | None:
    """The configured provider, or None (keyword search only) when neither is set."""
    if not api_key and not base_url:
        return None
    return OpenAIEmbedder(
        model=model,
        api_key=api_key,
        base_url=base_url,
        dimensions=default_dimensions(model),
        proxy=proxy,
    )
