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
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass(frozen=True, slots=True)
class TranscriptionRequest:
    model: str
    file_name: str
    audio: bytes
    authorization: str


class FakeTranscription:
    """Answers transcription requests from a table of audio bytes → text."""

    def __init__(self, *, default: str = "(unintelligible)") -> None:
        self.default = default
        self.requests: list[TranscriptionRequest] = []
        self.failures = 0
        """The next this-many requests answer 500."""
        self._texts: dict[bytes, str] = {}
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the client (OPENAI_BASE_URL)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def say(self, audio: bytes, text: str) -> None:
        """Transcribe `audio` as `text`."""
        with self._lock:
            self._texts[audio] = text

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-transcription", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def answer(self, request: TranscriptionRequest) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self.failures > 0:
                self.failures -= 1
                return 500, {"error": {"message": "fake outage", "type": "server_error"}}
            self.requests.append(request)
            text = self._texts.get(request.audio, self.default)
        return 200, {"text": text}


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTranscription


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        if not self.path.rstrip("/").endswith("/audio/transcriptions"):
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        fields = parse_form(self.headers.get("content-type", ""), body)
        if "file" not in fields or "model" not in fields:
            self._send(400, {"error": {"message": "file and model are required"}})
            return
        file_name, audio = fields["file"]
        request = TranscriptionRequest(
            model=fields["model"][1].decode(),
            file_name=file_name,
            audio=audio,
            authorization=self.headers.get("authorization", ""),
        )
        self._send(*self.server.fake.answer(request))

    def _send(self, status: int, answer: dict[str, Any]) -> None:
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return None
