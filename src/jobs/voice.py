"""The Transcriber protocol; WhisperTranscriber over any OpenAI-compatible transcription API."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Final, Protocol

from jobs.errors import JobsError

logger = logging.getLogger(__name__)

DEFAULT_MODEL: Final = "whisper-1"
MAX_AUDIO_BYTES: Final = 25 * 1024 * 1024
"""OpenAI's upload limit for one transcription; longer recordings are refused before upload."""


class TranscriptionFailed(JobsError):
    """The transcription service failed or refused the audio; the message says which."""


class Transcriber(Protocol):
    """Turns a recorded voice note or audio file into text. Called by the conversation layer
    (conversation/attachments.py) once a voice message is downloaded, one file at a time.

    `transcribe` returns the words spoken (possibly "" when nothing was said) and never
    keeps the file. Any failure — network, HTTP status, a file too large — raises
    TranscriptionFailed with a message a person can act on.
    """

    async def transcribe(self, audio: Path, /) -> str: ...


class WhisperTranscriber:
    """Whisper over the `openai` client: OpenAI, or a local server via OPENAI_BASE_URL."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 2,
        proxy: str | None = None,
    ) -> None:
        """`proxy`: HTTP_PROXY, which every request goes through."""
        self._proxy = proxy
        self._model = model
        self._api_key = api_key or "unused"  # a local server wants none; the client insists
        self._base_url = base_url
        self._timeout = timeout
        self._max_retries = max_retries

    async def transcribe(self, audio: Path, /) -> str:
        data = await asyncio.to_thread(audio.read_bytes)
        if len(data) > MAX_AUDIO_BYTES:
            raise TranscriptionFailed(
                f"The recording is {len(data) / 2**20:.0f} MB; transcription takes at most "
                f"{MAX_AUDIO_BYTES // 2**20} MB."
            )
        import openai  # ≈ 40 MB: loaded with the first voice note, not with Jobs

        # A client per call: voice notes are rare, and nothing stays open between them.
        client = openai.AsyncOpenAI(
            api_key=self._api_key,
            base_url=self._base_url,
            timeout=self._timeout,
            max_retries=self._max_retries,
            http_client=openai.DefaultAsyncHttpxClient(proxy=self._proxy) if self._proxy else None,
        )
        try:
            answer = await client.audio.transcriptions.create(
                model=self._model, file=(audio.name, data)
            )
        except openai.OpenAIError as exc:
            where = str(client.base_url)
            raise TranscriptionFailed(f"the transcription service ({where}) failed: {exc}") from exc
        finally:
            await client.close()
        return str(answer.text or "").strip()


def make_transcriber(
    *,
    api_key: str | None,
    base_url: str | None,
    model: str = DEFAULT_MODEL,
    proxy: str | None = None,
) -> WhisperTranscriber | None:
    """The configured Whisper, or None (voice messages are not set up) when neither is set."""
    if not api_key and not base_url:
        return None
    return WhisperTranscriber(model=model, api_key=api_key, base_url=base_url, proxy=proxy)
