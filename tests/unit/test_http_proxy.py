"""HTTP_PROXY is really used: the embeddings and transcription clients send through it, and the
Claude CLI is given it. The fakes below answer as the proxy itself: a request that reaches them
for a host that does not exist can only have gone through the proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.config import load_settings
from jobs.memory import make_embedder
from jobs.sessions.options import cli_env
from jobs.voice import make_transcriber
from tests.fakes.embeddings import FakeEmbeddings
from tests.fakes.transcription import FakeTranscription

NOWHERE = "http://api.example.invalid/v1"  # never resolved: only the proxy sees this name


@pytest.fixture
def embeddings() -> Iterator[FakeEmbeddings]:
    fake = FakeEmbeddings().start()
    yield fake
    fake.stop()


@pytest.fixture
def whisper() -> Iterator[FakeTranscription]:
    fake = FakeTranscription(default="hello there").start()
    yield fake
    fake.stop()


def proxy_of(url: str) -> str:
    return url.removesuffix("/v1")


async def test_embeddings_go_through_http_proxy(embeddings: FakeEmbeddings) -> None:
    embedder = make_embedder(api_key="k", base_url=NOWHERE, proxy=proxy_of(embeddings.url))
    assert embedder is not None
    try:
        vectors = await embedder.embed(["milk", "bread"])
    finally:
        await embedder.aclose()
    assert vectors.shape[0] == 2
    assert embeddings.paths == [f"{NOWHERE}/embeddings"]


async def test_transcription_goes_through_http_proxy(
    whisper: FakeTranscription, tmp_path: Path
) -> None:
    audio = tmp_path / "note.ogg"
    audio.write_bytes(b"OggS voice")
    transcriber = make_transcriber(api_key="k", base_url=NOWHERE, proxy=proxy_of(whisper.url))
    assert transcriber is not None
    assert await transcriber.transcribe(audio) == "hello there"
    assert whisper.paths == [f"{NOWHERE}/audio/transcriptions"]


def test_the_claude_cli_is_given_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:3128")
    env = cli_env(load_settings(None))
    assert env["HTTPS_PROXY"] == env["HTTP_PROXY"] == "http://127.0.0.1:3128"
    monkeypatch.delenv("HTTP_PROXY")
    assert "HTTPS_PROXY" not in cli_env(load_settings(None))
