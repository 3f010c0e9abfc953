"""A scriptable fake of the Anthropic Messages API on 127.0.0.1 for the real SDK and its CLI.

Stdlib only; the HTTP server runs in a background thread, so it works under any event loop.

    fake = FakeAnthropic().start()
    fake.push(tool_use("mcp__calc__add", {"a": 1, "b": 2}), text("it is 3"))
    options = ClaudeAgentOptions(env=fake.env(home=tmp_path / "home"), ...)
    ...                                          # drive the SDK
    calls = await fake.wait_calls_async(2)
    assert "mcp__calc__add" in calls[0].offered_tools
    assert calls[1].tool_results[0]["content"] ...
    fake.stop()

Turns are consumed in order by POST /v1/messages requests (one turn per model call); when the
queue is empty `fake.default` answers (echo() unless changed). A turn may be a callable
`f(call) -> turn`. Every HTTP request is recorded in `fake.requests`, every model call in
`fake.calls` (parsed: system, tools, messages); API key headers are redacted.

Usage is reported as the Anthropic API would: `PromptCache` (cache.py) follows the request's
`cache_control` breakpoints and says which part of it was read from the cache, written to it,
or plain input; output tokens are counted from the answer. Tokens are estimated as characters / 4
(`Call.usage` keeps what was reported). The CLI prices that by the model the request names.

CLI knobs (claude-agent-sdk 0.2.187 / Claude Code 2.1.330), passed via fake.env(home, NAME=value):
  IS_SANDBOX=1               as root, permission_mode="bypassPermissions" exits 1 without it
  CLAUDE_CODE_MAX_RETRIES=N  retries of 5xx/529/stream cuts/timeouts (default 10, backoff ~0.5 s)
  API_TIMEOUT_MS=N           per-request timeout; a hang() is aborted (and retried) after it
  ENABLE_TOOL_SEARCH=false   every tool schema goes into `tools` (else MCP tools are deferred)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self, TypeAlias, cast

from tests.fakes.cache import PromptCache, count_tokens

Turn: TypeAlias = dict[str, Any]
Script: TypeAlias = "Turn | Callable[[Call], Script]"

_ids = itertools.count(1)
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


# ----------------------------------------------------------------- turn builders
def message(
    *blocks: dict[str, Any], stop_reason: str | None = None, delay: float = 0.0, chunk: int = 0
) -> Turn:
    """A model reply made of content blocks (see text_block / tool_block).

    delay: seconds slept before each SSE event (a slow stream, for interrupt tests).
    chunk: split text / tool JSON deltas into pieces of this many chars (0 = one piece).
    """
    if stop_reason is None:
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    return {
        "kind": "message",
        "content": list(blocks),
        "stop_reason": stop_reason,
        "delay": delay,
        "chunk": chunk,
    }


def text_block(s: str) -> dict[str, Any]:
    return {"type": "text", "text": s}


def tool_block(
    name: str, input: dict[str, Any] | None = None, id: str | None = None
) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": id or f"toolu_fake{next(_ids):04d}",
        "name": name,
        "input": input or {},
    }


def text(s: str, *, stop_reason: str | None = None, delay: float = 0.0, chunk: int = 0) -> Turn:
    """Reply with plain text (stop_reason end_turn)."""
    return message(text_block(s), stop_reason=stop_reason, delay=delay, chunk=chunk)


def tool_use(
    name: str,
    input: dict[str, Any] | None = None,
    *,
    id: str | None = None,
    say: str | None = None,
    delay: float = 0.0,
    chunk: int = 0,
) -> Turn:
    """Ask the client to run tool `name` (stop_reason tool_use); optional text first."""
    blocks = [text_block(say)] if say else []
    blocks.append(tool_block(name, input, id))
    return message(*blocks, delay=delay, chunk=chunk)


def echo(prefix: str = "echo: ", *, delay: float = 0.0, chunk: int = 0) -> Callable[[Call], Turn]:
    """Reply with the text of the last user message (skipping <system-reminder>s)."""
    return lambda call: text(prefix + call.last_user_text, delay=delay, chunk=chunk)


def error(status: int = 529, type: str | None = None, message: str = "fake error") -> Turn:
    """HTTP error with an Anthropic-shaped JSON body. 529 = overloaded_error."""
    kind = type or _ERROR_TYPES.get(status, "api_error")
    return {"kind": "error", "status": status, "type": kind, "message": message}


def hang(seconds: float | None = None) -> Turn:
    """Accept the request and send nothing (until `seconds`, the client leaving, or stop())."""
    return {"kind": "hang", "seconds": seconds}


def cut(turn: Turn, after_events: int = 3) -> Turn:
    """Stream `turn` but drop the TCP connection after `after_events` SSE events."""
    return {**turn, "cut_after": after_events}


def stall(turn: Turn, after_events: int = 3, seconds: float | None = None) -> Turn:
    """Stream `turn`'s first `after_events` SSE events, then send nothing more, keeping the
    connection open (until `seconds`, the client leaving, or stop()), as a model that stops
    mid-reply. `Call.stalled` is set once those events were written."""
    return {**turn, "stall_after": after_events, "stall_seconds": seconds}


# ----------------------------------------------------------------- records
@dataclass
class Call:
    """One POST /v1/messages as the fake received it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    turn: Turn | None = None  # what the fake answered with
    aborted: bool = False  # the client closed the connection before the answer ended
    stalled: bool = False  # a stall() turn has written its first events and now holds
    first_text_at: float | None = None  # time.perf_counter() when the first text delta went
    usage: dict[str, int] = field(default_factory=dict)
    """What the fake reported: input_tokens, cache_creation_input_tokens,
    cache_read_input_tokens, output_tokens (empty for an error or a hang)."""

    @property
    def system(self) -> Any:
        return self.body.get("system")

    @property
    def tools(self) -> list[dict[str, Any]]:
        return cast("list[dict[str, Any]]", self.body.get("tools") or [])

    @property
    def messages(self) -> list[dict[str, Any]]:
        return cast("list[dict[str, Any]]", self.body.get("messages") or [])

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def session_id(self) -> str | None:
        return self.headers.get("x-claude-code-session-id")

    @property
    def tool_names(self) -> list[str]:
        """Names in the request's `tools` array (schemas sent to the model)."""
        return [
            str(t.get("name")) for t in self.tools if t.get("name") != "DeferredToolPlaceholder"
        ]

    @property
    def deferred_tool_names(self) -> list[str]:
        """Tools only *listed* for ToolSearch, parsed from the CLI's text (best effort)."""
        st = self.system_text
        i = st.find("load tool schemas before calling them:")
        if i < 0:
            return []
        names = []
        for line in st[i:].splitlines()[1:]:
            if not line.strip():
                break
            names.append(line.strip())
        return names

    @property
    def offered_tools(self) -> set[str]:
        return set(self.tool_names) | set(self.deferred_tool_names)

    @property
    def system_text(self) -> str:
        """`system` plus role=system messages (the CLI puts env, skills, deferred tools there)."""
        parts = [_text_of(self.system)]
        parts += [_text_of(m.get("content")) for m in self.messages if m.get("role") == "system"]
        return "\n".join(p for p in parts if p)

    @property
    def user_texts(self) -> list[str]:
        """Text of every user message, minus <system-reminder> blocks."""
        return [
            _text_of(m.get("content"), skip_reminders=True)
            for m in self.messages
            if m.get("role") == "user"
        ]

    @property
    def last_user_text(self) -> str:
        return next((t for t in reversed(self.user_texts) if t), "")

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """tool_result blocks of the last user message."""
        for m in reversed(self.messages):
            if m.get("role") == "user":
                c = m.get("content")
                if not isinstance(c, list):
                    return []
                return [b for b in c if isinstance(b, dict) and b.get("type") == "tool_result"]
        return []


def _text_of(content: Any, *, skip_reminders: bool = False) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    out = []
    for b in content:
        if isinstance(b, dict) and b.get("type") == "text":
            t = str(b.get("text", ""))
            if skip_reminders and t.lstrip().startswith("<system-reminder>"):
                continue
            out.append(t)
    return "\n".join(out)


def inherited_claude_vars(environ: dict[str, str] | None = None) -> list[str]:
    """Names of ANTHROPIC_* / CLAUDE* variables: the SDK passes the whole parent environment to
    the CLI, and options.env cannot unset them (an inherited ANTHROPIC_AUTH_TOKEN or
    CLAUDE_CODE_USE_BEDROCK would change what the CLI does)."""
    env = os.environ if environ is None else environ
    return [k for k in env if k.startswith(("ANTHROPIC_", "CLAUDE"))]


# ----------------------------------------------------------------- server
@dataclass
class _Waiter:
    loop: asyncio.AbstractEventLoop
    event: asyncio.Event = field(default_factory=asyncio.Event)


class FakeAnthropic:
    """The fake API server: script turns with push(), read what was sent in calls."""

    def __init__(self, *, port: int = 0, default: Script | None = None) -> None:
        self.default: Script = default or echo()
        self.cache = PromptCache()
        """The prompt cache the usage figures come from (shared by every session)."""
        self.requests: list[dict[str, Any]] = []  # every HTTP request: method, path, headers, body
        self.calls: list[Call] = []  # POST /v1/messages only
        self._queue: list[Script] = []
        self._cond = threading.Condition()
        self._waiters: list[_Waiter] = []
        self._stopping = threading.Event()
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> Self:
        self._server = _Server(self, self._port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # stop() waits up to one poll interval
            name="fake-anthropic",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging answers end at once. Idempotent."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self, home: str | Path | None = None, **extra: str) -> dict[str, str]:
        """Env for ClaudeAgentOptions(env=...).

        Pass a temp `home` so the CLI's config, transcripts (<home>/.claude/projects/) and temp
        files stay out of the real ~/.claude and /tmp. The SDK merges this over os.environ, so
        inherited ANTHROPIC_* / CLAUDE* variables must be removed too (see inherited_claude_vars).
        """
        e = {
            "ANTHROPIC_BASE_URL": self.url,
            "ANTHROPIC_API_KEY": "sk-ant-fake-key",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_ERROR_REPORTING": "1",
        }
        if home is not None:
            home = Path(home)
            (home / "tmp").mkdir(parents=True, exist_ok=True)
            e["HOME"] = str(home)
            e["CLAUDE_CONFIG_DIR"] = str(home / ".claude")
            e["CLAUDE_CODE_TMPDIR"] = str(home / "tmp")  # else /tmp/claude-<uid>/...
        e.update(extra)
        return e

    # -- scripting
    def push(self, *turns: Script) -> None:
        with self._cond:
            self._queue.extend(turns)

    @property
    def pending(self) -> int:
        """Scripted turns not consumed yet."""
        with self._cond:
            return len(self._queue)

    def wait_calls(self, n: int, timeout: float = 10.0) -> list[Call]:
        """Block until at least `n` model calls arrived; raise TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.calls) >= n, timeout):
                raise TimeoutError(f"fake_anthropic: {len(self.calls)} of {n} calls")
            return list(self.calls)

    async def wait_calls_async(
        self,
        n: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - a test helper's deadline, as in wait_calls
    ) -> list[Call]:
        """Like wait_calls, without blocking the event loop."""
        waiter = _Waiter(asyncio.get_running_loop())
        with self._cond:
            self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    with self._cond:
                        if len(self.calls) >= n:
                            return list(self.calls)
                        waiter.event.clear()
                    await waiter.event.wait()
        except TimeoutError:
            raise TimeoutError(f"fake_anthropic: {len(self.calls)} of {n} calls") from None
        finally:
            with self._cond:
                self._waiters.remove(waiter)

    def _record(self, request: dict[str, Any], call: Call | None) -> None:
        with self._cond:
            self.requests.append(request)
            if call is None:
                return
            self.calls.append(call)
            self._cond.notify_all()
            waiters = list(self._waiters)
        for w in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is already closed
                w.loop.call_soon_threadsafe(w.event.set)

    def _next_turn(self, call: Call) -> Turn:
        with self._cond:
            script = self._queue.pop(0) if self._queue else self.default
        while callable(script):
            script = script(call)
        return script


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeAnthropic, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> FakeAnthropic:
        return cast("_Server", self.server).fake

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _any(self) -> None:
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        secret = ("x-api-key", "authorization")
        hdrs = {
            k.lower(): ("<redacted>" if k.lower() in secret else v) for k, v in self.headers.items()
        }
        body: Any
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = {"method": self.command, "path": self.path, "headers": hdrs, "body": body}
        route = self.path.split("?")[0]
        if self.command == "POST" and route == "/v1/messages":
            call = Call(self.path, hdrs, body if isinstance(body, dict) else {})
            self.fake._record(request, call)
            self._messages(call)
            return
        self.fake._record(request, None)
        if route == "/v1/messages/count_tokens":
            self._json(200, {"input_tokens": len(raw) // 4})
            return
        self._json(200, {})  # HEAD /api/hello and anything else

    # http.server dispatches on these exact names
    do_GET = do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815

    def _json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        if status >= 400:
            retry = status >= 500 or status == 429
            self.send_header("x-should-retry", "true" if retry else "false")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _messages(self, call: Call) -> None:
        turn = call.turn = self.fake._next_turn(call)
        if turn["kind"] == "hang":
            self._hang(call, turn["seconds"])
            return
        if turn["kind"] == "error":
            err = {"type": turn["type"], "message": turn["message"]}
            self._json(turn["status"], {"type": "error", "error": err})
            return
        msg_id = f"msg_fake{next(_ids):04d}"
        model = call.body.get("model", "claude-fake")
        call.usage = {**self.fake.cache.use(call.body), "output_tokens": _output_tokens(turn)}
        if not call.stream:
            self._json(200, _full_message(turn, msg_id, model, call.usage))
            return
        try:
            self._stream(call, turn, _sse_events(turn, msg_id, model, call.usage))
        except (BrokenPipeError, ConnectionResetError):
            call.aborted = True

    def _hang(self, call: Call, seconds: float | None) -> None:
        end = None if seconds is None else time.monotonic() + seconds
        while not self.fake._stopping.is_set() and (end is None or time.monotonic() < end):
            if self._peer_closed(0.05):
                call.aborted = True
                break
        self.close_connection = True

    def _peer_closed(self, wait: float) -> bool:
        """Sleep up to `wait` s; True at once if the client closed the socket."""
        r, _, _ = select.select([self.connection], [], [], wait)
        try:
            return bool(r) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _stream(self, call: Call, turn: Turn, events: list[tuple[str, dict[str, Any]]]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        budget, pause = turn.get("cut_after"), turn.get("stall_after")
        for sent, (name, data) in enumerate(events):
            if budget is not None and sent >= budget:
                # drop the socket without the terminating chunk: a stream cut mid-way
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if pause is not None and sent >= pause:
                call.stalled = True  # the events so far are flushed: the client has them
                self._hang(call, turn.get("stall_seconds"))
                return
            if turn["delay"] and self._peer_closed(turn["delay"]):
                raise ConnectionResetError("client went away")
            payload = f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            self.wfile.flush()
            if call.first_text_at is None and data.get("delta", {}).get("type") == "text_delta":
                call.first_text_at = time.perf_counter()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _output_tokens(turn: Turn) -> int:
    return max(1, sum(count_tokens(json.dumps(block)) for block in turn["content"]))


def _full_message(turn: Turn, msg_id: str, model: str, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": turn["content"],
        "stop_reason": turn["stop_reason"],
        "stop_sequence": None,
        "usage": usage,
    }


def _sse_events(
    turn: Turn, msg_id: str, model: str, usage: dict[str, int]
) -> list[tuple[str, dict[str, Any]]]:
    """The SSE event sequence of a streamed reply: (event name, data without `type`).
    As the API does, message_start carries the input side and message_delta the output."""
    start = {**_full_message(turn, msg_id, model, usage), "content": [], "stop_reason": None}
    start["usage"] = {**usage, "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"message": start})]
    k = turn["chunk"]

    def pieces(s: str) -> list[str]:
        return [s[i : i + k] for i in range(0, len(s), k)] if k and s else [s]

    for i, b in enumerate(turn["content"]):
        block: dict[str, Any]
        if b["type"] == "text":
            block, deltas = {"type": "text", "text": ""}, pieces(b["text"])
            delta = [{"type": "text_delta", "text": p} for p in deltas]
        elif b["type"] == "tool_use":
            block = {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}
            deltas = pieces(json.dumps(b["input"]))
            delta = [{"type": "input_json_delta", "partial_json": p} for p in deltas]
        else:
            raise ValueError(f"unsupported block {b['type']}")
        events.append(("content_block_start", {"index": i, "content_block": block}))
        events += [("content_block_delta", {"index": i, "delta": d}) for d in delta]
        events.append(("content_block_stop", {"index": i}))
    stop = {"stop_reason": turn["stop_reason"], "stop_sequence": None}
    output = {"output_tokens": usage["output_tokens"]}
    events.append(("message_delta", {"delta": stop, "usage": output}))
    events.append(("message_stop", {}))
    return events
