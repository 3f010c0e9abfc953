"""A JSON-over-HTTP fake server on 127.0.0.1 in a background thread (the OpenAI-shaped fakes).

Stdlib only, so it works under any event loop. A fake subclasses JsonFake, names the path
suffix it serves and implements `answer(request)`; `failures` makes the next N requests 500.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Answer = tuple[int, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    path: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes


class JsonFake:
    """POST <base>/v1/<route> → `answer`; other paths 404. Subclasses set `route` and `name`."""

    route = ""
    name = "fake-http"

    def __init__(self) -> None:
        self.failures = 0
        """The next this-many requests answer 500."""
        self.paths: list[str] = []
        """Every request's target as sent: absolute (http://host/…) when it came as to a proxy."""
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the client (OPENAI_BASE_URL)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def handle(self, request: HttpRequest) -> Answer:
        self.paths.append(request.path)
        if not request.path.rstrip("/").endswith(self.route):
            return 404, {"error": {"message": f"no route {request.path}"}}
        with self._lock:
            if self.failures > 0:
                self.failures -= 1
                return 500, {"error": {"message": "fake outage", "type": "server_error"}}
        return self.answer(request)

    def answer(self, request: HttpRequest) -> Answer:
        raise NotImplementedError


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: JsonFake


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        request = HttpRequest(
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length),
        )
        status, answer = self.server.fake.handle(request)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return None
