from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from jobs.memory import EmbeddingsUnavailable, OpenAIEmbedder, make_embedder
from jobs.memory.embeddings import default_dimensions
from tests.fakes.embeddings import FakeEmbeddings, fake_vector


@pytest.fixture
def server() -> Iterator[FakeEmbeddings]:
    fake = FakeEmbeddings().start()
    yield fake
    fake.stop()


async def test_embeds_in_batches_in_order(server: FakeEmbeddings) -> None:
    embedder = OpenAIEmbedder(model="fake", base_url=server.url, api_key="k", batch_size=4)
    texts = [f"text number {i}" for i in range(10)] + [""]
    try:
        vectors = await embedder.embed(texts)
    finally:
        await embedder.aclose()
    assert [len(r) for r in server.requests] == [4, 4, 3]
    assert vectors.shape == (11, 64) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.allclose(vectors[3], fake_vector("text number 3"))
    assert server.requests[-1][-1] == "."  # an empty text is not sent empty


async def test_a_failing_provider_raises_embeddings_unavailable(server: FakeEmbeddings) -> None:
    server.failures = 1
    embedder = OpenAIEmbedder(model="fake", base_url=server.url, api_key="k", max_retries=0)
    try:
        with pytest.raises(EmbeddingsUnavailable, match="failed"):
            await embedder.embed(["hello"])
        assert (await embedder.embed(["hello"])).shape == (1, 64)
    finally:
        await embedder.aclose()


async def test_an_unreachable_provider_raises_embeddings_unavailable() -> None:
    embedder = OpenAIEmbedder(
        model="fake", base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0, timeout=2
    )
    try:
        with pytest.raises(EmbeddingsUnavailable):
            await embedder.embed(["hello"])
    finally:
        await embedder.aclose()


async def test_make_embedder_needs_a_key_or_a_url() -> None:
    assert make_embedder(api_key=None, base_url=None) is None
    local = make_embedder(
        api_key=None, base_url="http://127.0.0.1:11434/v1", model="nomic-embed-text"
    )
    assert local is not None and local.model == "nomic-embed-text"
    await local.aclose()
    hosted = make_embedder(api_key="sk-x", base_url=None)
    assert hosted is not None and hosted.model == "text-embedding-3-small@512"
    await hosted.aclose()
    assert default_dimensions("nomic-embed-text") is None
