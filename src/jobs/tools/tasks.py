"""The external person's task tools: get_my_tasks, update_task, send_summary_to_owner.

Each session gets a server scoped to ONE person (built by `for_person`): no tool takes a
person id, so the model can never read or change somebody else's tasks. What they write is
kept as theirs: a note goes into the task's log marked with their name, their next step is
kept apart from the task session's own plan, and the task is marked as holding outside
text, so the session that reads its card is tainted and never takes it as the owner's.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Final

from claude_agent_sdk import McpSdkServerConfig, SdkMcpTool, create_sdk_mcp_server, tool

from jobs.clock import Clock, utc_now
from jobs.errors import JobsError
from jobs.storage import Task, TaskRepo, TaskStatus
from jobs.tools.registry import ToolScope, ToolServer
from jobs.tools.results import ToolResult, error_result, text_result

logger = logging.getLogger(__name__)

SERVER_NAME: Final = "tasks"
TOOL_NAMES: Final = ("get_my_tasks", "update_task", "send_summary_to_owner")
SETTABLE_STATUSES: Final = ("in_progress", "waiting", "done", "blocked")
MAX_SUMMARY_CHARS: Final = 2000
SUMMARIES_PER_HOUR: Final = 5
MAX_NOTE_CHARS: Final = 2000
MAX_NEXT_STEP_CHARS: Final = 500

NotifyOwner = Callable[[int, str], Awaitable[None]]
"""`notify_owner(person_id, text)`: deliver a person's summary to the owner."""

_UPDATE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "task_id": {"type": "integer", "description": "the task's number from get_my_tasks"},
        "status": {"type": "string", "enum": list(SETTABLE_STATUSES)},
        "note": {"type": "string", "description": "what happened, for the owner to read"},
        "next_step": {"type": "string", "description": "what you will do next"},
    },
    "required": ["task_id"],
}
_SUMMARY_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"text": {"type": "string", "description": "at most 2000 characters"}},
    "required": ["text"],
}


class ExternalTaskTools:
    """Builds the per-person server; keeps the summary rate limit across that person's sessions."""

    def __init__(
        self, *, tasks: TaskRepo, notify_owner: NotifyOwner, clock: Clock = utc_now
    ) -> None:
        self._tasks = tasks
        self._notify_owner = notify_owner
        self._clock = clock
        self._sent: dict[int, deque[datetime]] = {}

    def server(self) -> ToolServer:
        """The registry entry: named "tasks", built for the person each session serves."""
        return ToolServer(name=SERVER_NAME, tools=frozenset(TOOL_NAMES), build=self._build)

    def for_person(self, person_id: int, /) -> McpSdkServerConfig:
        return create_sdk_mcp_server(SERVER_NAME, tools=self.tools_for(person_id))

    def tools_for(self, person_id: int, /) -> list[SdkMcpTool[Any]]:
        """The three tools, closed over `person_id`."""

        @tool("get_my_tasks", "List the tasks the owner gave you, with status and next step.", {})
        async def get_my_tasks(_args: dict[str, Any]) -> ToolResult:
            return await self.get_my_tasks(person_id)

        @tool(
            "update_task",
            "Update one of your tasks: its status (in_progress, waiting, done, blocked), "
            "a note about progress, and/or your next step.",
            _UPDATE_SCHEMA,
        )
        async def update_task(args: dict[str, Any]) -> ToolResult:
            return await self.update_task(person_id, args)

        @tool(
            "send_summary_to_owner",
            "Send the owner a short summary (at most 2000 characters, 5 per hour).",
            _SUMMARY_SCHEMA,
        )
        async def send_summary_to_owner(args: dict[str, Any]) -> ToolResult:
            return await self.send_summary(person_id, args)

        return [get_my_tasks, update_task, send_summary_to_owner]

    def _build(self, scope: ToolScope) -> McpSdkServerConfig:
        if scope.person_id is None:
            raise ValueError("the external task server must be built for one person")
        return self.for_person(scope.person_id)

    # -- the tools' bodies (public so tests can call them without a model) ------------------

    async def get_my_tasks(self, person_id: int, /) -> ToolResult:
        tasks = [t for t in await self._tasks.list(assignee_id=person_id) if _visible(t)]
        if not tasks:
            return text_result("You have no tasks from the owner right now.")
        return text_result("\n\n".join(_describe(t) for t in tasks))

    async def update_task(self, person_id: int, args: dict[str, Any], /) -> ToolResult:
        """The assignee's update (their status, note and next step)."""
        task_id = _as_int(args.get("task_id"))
        if task_id is None:
            return error_result("task_id must be the task's number, as shown by get_my_tasks.")
        task = await self._tasks.get(task_id)
        if task is None or task.assignee_id != person_id or not _visible(task):
            return error_result(f"You have no task #{task_id}. Call get_my_tasks to see yours.")
        fields = self._update_fields(task, args)
        if isinstance(fields, str):
            return error_result(fields)
        if task.outside_text_by is None and ("context" in fields or "assignee_next_step" in fields):
            fields["outside_text_by"] = json.dumps(
                {"caused_by": f"notes from the assignee (id {person_id})", "person_id": person_id}
            )
        updated = await self._tasks.update(task_id, **fields)
        if updated is None:
            return error_result(f"Task #{task_id} no longer exists.")
        return text_result(f"Updated.\n\n{_describe(updated)}")

    def _update_fields(self, task: Task, args: dict[str, Any]) -> dict[str, object] | str:
        """The columns to write, or a message saying what is wrong with the input."""
        status, note, next_step = args.get("status"), args.get("note"), args.get("next_step")
        if status is None and note is None and next_step is None:
            return "Give at least one of status, note or next_step."
        fields: dict[str, object] = {}
        if status is not None:
            if status not in SETTABLE_STATUSES:
                return f"status must be one of {', '.join(SETTABLE_STATUSES)}."
            fields["status"] = TaskStatus(status)
        if note is not None:
            if not isinstance(note, str) or not note.strip() or len(note) > MAX_NOTE_CHARS:
                return f"note must be non-empty text of at most {MAX_NOTE_CHARS} characters."
            stamp = self._clock().strftime("%Y-%m-%d %H:%M UTC")
            entry = f"[{stamp}] the assignee's note (their words): {_one_line(note)}"
            fields["context"] = f"{task.context}\n{entry}" if task.context else entry
        if next_step is not None:
            if not isinstance(next_step, str) or len(next_step) > MAX_NEXT_STEP_CHARS:
                return f"next_step must be text of at most {MAX_NEXT_STEP_CHARS} characters."
            fields["assignee_next_step"] = next_step.strip() or None
        return fields

    async def send_summary(self, person_id: int, args: dict[str, Any], /) -> ToolResult:
        text = args.get("text")
        if not isinstance(text, str) or not text.strip():
            return error_result("text must be the summary to send, not empty.")
        if len(text) > MAX_SUMMARY_CHARS:
            return error_result(
                f"The summary is {len(text)} characters; the limit is {MAX_SUMMARY_CHARS}. "
                "Shorten it and send it again."
            )
        wait = self._rate_limited(person_id)
        if wait is not None:
            minutes = max(1, round(wait.total_seconds() / 60))
            return error_result(
                f"You already sent {SUMMARIES_PER_HOUR} summaries in the last hour; "
                f"the next one can go in about {minutes} min."
            )
        try:
            await self._notify_owner(person_id, text.strip())
        except JobsError:
            logger.exception("could not pass person %d's summary to the owner", person_id)
            return error_result("The summary could not be sent just now; try again later.")
        self._sent.setdefault(person_id, deque()).append(self._clock())
        return text_result("Sent to the owner.")

    def _rate_limited(self, person_id: int) -> timedelta | None:
        """None if a summary may go now, else how long until one may."""
        now = self._clock()
        sent = self._sent.get(person_id)
        if sent is None:
            return None
        while sent and now - sent[0] >= timedelta(hours=1):
            sent.popleft()
        if len(sent) < SUMMARIES_PER_HOUR:
            return None
        return sent[0] + timedelta(hours=1) - now


def _visible(task: Task) -> bool:
    return task.status is not TaskStatus.CANCELLED


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("#").isdigit():
        return int(value.strip().lstrip("#"))
    return None


def _describe(task: Task) -> str:
    lines = [f"#{task.id} {task.title} [{task.status.value}]"]
    if task.description:
        lines.append(task.description)
    if task.due_at is not None:
        lines.append(f"due: {task.due_at.strftime('%Y-%m-%d %H:%M UTC')}")
    if task.assignee_next_step:
        lines.append(f"your next step: {task.assignee_next_step}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    """A note kept on one log line: it cannot start a line that looks like Jobs' own."""
    return " ".join(text.split())
