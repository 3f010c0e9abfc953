"""A fake OpenAI-compatible transcription API on 127.0.0.1: POST /v1/audio/transcriptions.

Stdlib only; the HTTP server runs in a background thread, so it works under any loop.

    fake = FakeTranscription().start()
    fake.say(b"OggS voice bytes", "remind me to buy milk")   # audio bytes -> transcript
    transcriber = WhisperTranscriber(base_url=fake.url, api_key="x")
    ...
    fake.stop()

Audio it was not told about is transcribed as `fake.default`. Every request is recorded
(model, file name, bytes, the Authorization header).
"""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass

from tests.fakes.jsonhttp import Answer, HttpRequest, JsonFake


@dataclass(frozen=True, slots=True)
class TranscriptionRequest:
    model: str
    file_name: str
    audio: bytes
    authorization: str


class FakeTranscription(JsonFake):
    """Answers transcription requests from a table of audio bytes → text."""

    route = "/audio/transcriptions"
    name = "fake-transcription"

    def __init__(self, *, default: str = "(unintelligible)") -> None:
        super().__init__()
        self.default = default
        self.requests: list[TranscriptionRequest] = []
        self._texts: dict[bytes, str] = {}

    def say(self, audio: bytes, text: str) -> None:
        """Transcribe `audio` as `text`."""
        with self._lock:
            self._texts[audio] = text

    def answer(self, request: HttpRequest) -> Answer:
        fields = parse_form(request.headers.get("content-type", ""), request.body)
        if "file" not in fields or "model" not in fields:
            return 400, {"error": {"message": "file and model are required"}}
        file_name, audio = fields["file"]
        with self._lock:
            self.requests.append(
                TranscriptionRequest(
                    model=fields["model"][1].decode(),
                    file_name=file_name,
                    audio=audio,
                    authorization=request.headers.get("authorization", ""),
                )
            )
            return 200, {"text": self._texts.get(audio, self.default)}


def parse_form(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]]:
    """multipart/form-data → {field: (file name or "", value bytes)}."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = (part.get_filename() or "", payload)
    return fields
