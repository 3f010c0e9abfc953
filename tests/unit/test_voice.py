"""WhisperTranscriber through the openai client against the fake transcription server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.voice import (
    MAX_AUDIO_BYTES,
    TranscriptionFailed,
    WhisperTranscriber,
    make_transcriber,
)
from tests.fakes.transcription import FakeTranscription


@pytest.fixture
def whisper() -> Iterator[FakeTranscription]:
    fake = FakeTranscription().start()
    yield fake
    fake.stop()


@pytest.fixture
def voice_note(tmp_path: Path) -> Path:
    path = tmp_path / "voice-7.ogg"
    path.write_bytes(b"OggS fake opus")
    return path


async def test_transcribes_with_the_configured_model(
    whisper: FakeTranscription, voice_note: Path
) -> None:
    whisper.say(b"OggS fake opus", "  Remind me to buy milk.  ")
    transcriber = WhisperTranscriber(model="whisper-large", api_key="k-1", base_url=whisper.url)
    assert await transcriber.transcribe(voice_note) == "Remind me to buy milk."
    [request] = whisper.requests
    assert (request.model, request.file_name, request.audio) == (
        "whisper-large",
        "voice-7.ogg",
        b"OggS fake opus",
    )
    assert request.authorization == "Bearer k-1"


async def test_a_failing_service_is_a_transcription_error(
    whisper: FakeTranscription, voice_note: Path
) -> None:
    whisper.failures = 5
    transcriber = WhisperTranscriber(api_key="k", base_url=whisper.url, max_retries=0)
    with pytest.raises(TranscriptionFailed, match="transcription service"):
        await transcriber.transcribe(voice_note)


async def test_too_long_recordings_are_refused_before_upload(
    whisper: FakeTranscription, tmp_path: Path
) -> None:
    big = tmp_path / "long.ogg"
    big.write_bytes(b"\0" * (MAX_AUDIO_BYTES + 1))
    with pytest.raises(TranscriptionFailed, match="at most 25 MB"):
        await WhisperTranscriber(api_key="k", base_url=whisper.url).transcribe(big)
    assert not whisper.requests


def test_no_key_and_no_server_means_no_voice() -> None:
    assert make_transcriber(api_key=None, base_url=None) is None
    assert make_transcriber(api_key="k", base_url=None) is not None
    assert make_transcriber(api_key=None, base_url="http://127.0.0.1:9/v1") is not None
