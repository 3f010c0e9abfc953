"""The reply as it is being written: the SDK's stream events of a turn → ReplyStream calls with
the text so far (the same text the finished Reply will hold) and the tools it starts, so the
person can watch the answer grow instead of "typing…"."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from claude_agent_sdk import StreamEvent


class ReplyStream(Protocol):
    """Told, while a turn runs, what its reply says so far (called from the session's reader:
    quick and never raising)."""

    def text(self, so_far: str, /) -> None:
        """The reply's text so far (grows; a new paragraph starts after a tool ran)."""

    def tool(self, name: str, /) -> None:
        """The model started using `name`."""


@dataclass
class StreamText:
    """Feeds one turn's stream events to a ReplyStream, joining text blocks as the reply does
    (each stripped, blank line between); sub-agents' events are not the reply's. Without a
    `sink` it only keeps the text so far."""

    sink: ReplyStream | None = None
    _done: list[str] = field(default_factory=list)
    _current: list[str] = field(default_factory=list)

    def event(self, message: StreamEvent, /) -> None:
        if message.parent_tool_use_id is not None:
            return
        event = message.event
        kind = event.get("type")
        if kind == "content_block_start":
            self._close_block()
            block = event.get("content_block") or {}
            name = block.get("name")
            if block.get("type") == "tool_use" and isinstance(name, str) and self.sink is not None:
                self.sink.tool(name)
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                self._current.append(delta["text"])
                if self.sink is not None:
                    self.sink.text(self.so_far())
        elif kind == "content_block_stop":
            self._close_block()

    def so_far(self) -> str:
        current = "".join(self._current).strip()
        return "\n\n".join([*self._done, current] if current else self._done)

    def _close_block(self) -> None:
        finished = "".join(self._current).strip()
        if finished:
            self._done.append(finished)
        self._current = []
