"""A fake OpenAI-compatible embeddings API on 127.0.0.1, whose vectors carry testable meaning.

Stdlib and numpy only; the HTTP server runs in a background thread, so it works under any loop.

    fake = FakeEmbeddings().start()
    embedder = OpenAIEmbedder(model="fake-embed", base_url=fake.url, api_key="x")
    ...
    fake.stop()

Meaning is a tiny bag of concepts: words of one concept (wife, husband, spouse…) raise the
same dimension, so "my spouse's favourite flowers" lands near "Anna (wife) loves tulips"
without a word in common. Other words are hashed into the remaining dimensions with a small
weight. `fake_vector(text, dim)` is the same function, in process (FakeEmbedder).
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tests.fakes.jsonhttp import Answer, HttpRequest, JsonFake

DIM = 64
CONCEPTS: dict[str, tuple[str, ...]] = {
    "spouse": ("wife", "husband", "spouse", "partner", "married"),
    "flower": ("flower", "flowers", "tulip", "tulips", "rose", "roses", "orchid", "bouquet"),
    "health": ("doctor", "dentist", "physician", "clinic", "checkup", "teeth"),
    "allergy": ("allergic", "allergy", "nuts", "peanut", "peanuts", "intolerant"),
    "travel": ("flight", "flights", "trip", "travel", "vacation", "holiday", "plane", "airport"),
    "pet": ("dog", "dogs", "cat", "cats", "pet", "pets", "puppy", "kitten"),
    "car": ("car", "vehicle", "automobile", "sedan", "garage", "tyres"),
    "money": ("bank", "salary", "invoice", "payment", "money", "budget", "tax"),
    "birthday": ("birthday", "born", "anniversary", "birth"),
    "music": ("music", "concert", "piano", "guitar", "band", "song"),
}
_CONCEPT_OF = {word: i for i, words in enumerate(CONCEPTS.values()) for word in words}
_WORD = re.compile(r"[a-z0-9]+")
_OTHER_WEIGHT = 0.15


def fake_vector(text: str, dim: int = DIM) -> npt.NDArray[np.float32]:
    """A deterministic unit vector: one dimension per concept, the rest hashed words."""
    vector = np.zeros(dim, dtype=np.float32)
    spare = dim - len(CONCEPTS)
    for word in _WORD.findall(text.lower()):
        concept = _CONCEPT_OF.get(word)
        if concept is not None:
            vector[concept] += 1.0
        else:
            vector[len(CONCEPTS) + zlib.crc32(word.encode()) % spare] += _OTHER_WEIGHT
    norm = float(np.linalg.norm(vector))
    if norm == 0:
        vector[-1] = 1.0
        return vector
    return vector / norm


class FakeEmbedder:
    """The Embedder protocol in process (no HTTP): fake_vector for every text."""

    def __init__(self, *, model: str = "fake-embed", dim: int = DIM) -> None:
        self._model = model
        self.dim = dim
        self.calls: list[list[str]] = []

    @property
    def model(self) -> str:
        return self._model

    async def embed(self, texts: Sequence[str], /) -> npt.NDArray[np.float32]:
        self.calls.append(list(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([fake_vector(t, self.dim) for t in texts])

    async def aclose(self) -> None:
        return None


class FakeEmbeddings(JsonFake):
    """POST /v1/embeddings (OpenAI shape, float or base64). Records every request's inputs."""

    route = "/embeddings"
    name = "fake-embeddings"

    def __init__(self, *, dim: int = DIM) -> None:
        super().__init__()
        self.dim = dim
        self.requests: list[list[str]] = []

    @property
    def inputs(self) -> list[str]:
        """Every text embedded so far, in order."""
        with self._lock:
            return [text for request in self.requests for text in request]

    def answer(self, request: HttpRequest) -> Answer:
        body: dict[str, Any] = json.loads(request.body or b"{}")
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else list(raw or [])
        with self._lock:
            self.requests.append(texts)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(texts):
            vector = fake_vector(str(text), self.dim)
            encoded: Any = (
                base64.b64encode(vector.astype("<f4").tobytes()).decode()
                if as_base64
                else [float(x) for x in vector]
            )
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        tokens = sum(len(str(t).split()) for t in texts)
        return 200, {
            "object": "list",
            "data": data,
            "model": body.get("model", "fake-embed"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
