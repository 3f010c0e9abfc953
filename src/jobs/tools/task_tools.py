"""The "task" server of a delegated task's own session: its own card (update_task on itself,
nothing else) and its people (send_to_user: the person it talks with, its assignee, or the
owner). Built per session for one task (ToolScope.task_id): no tool takes another task's id
or an arbitrary recipient, so a session steered by someone's words can reach nothing else.

Rules that hold even when the model obeys the counterpart: the title and description are
the owner's (not settable here); a wake-up time is at least MIN_WAKE_MINUTES ahead and never
replaces one the owner set that is still to come.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from claude_agent_sdk import McpSdkServerConfig, SdkMcpTool, create_sdk_mcp_server, tool

from jobs.clock import Clock, utc_now
from jobs.messages import OutboundMessage
from jobs.storage import OutboxRepo, PeopleRepo, Task, TaskRepo, TaskStatus
from jobs.tools.messaging import MAX_TEXT_CHARS, OWNER_WORDS, person_label
from jobs.tools.registry import ToolScope, ToolServer, qualified_name
from jobs.tools.results import ToolResult, error_result, text_result
from jobs.tools.task_fields import SETTABLE, TaskFields

SERVER_NAME: Final = "task"
UPDATE_TOOL: Final = qualified_name(SERVER_NAME, "update_task")
SEND_TOOL: Final = qualified_name(SERVER_NAME, "send_to_user")
TOOL_NAMES: Final = ("update_task", "send_to_user")
MIN_WAKE_MINUTES: Final = 10

_UPDATE: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": list(SETTABLE)},
        "note": {"type": "string", "description": "what happened, added to the task's log"},
        "next_step": {"type": "string", "description": "what you will do next ('' clears it)"},
        "next_step_at": {
            "type": "string",
            "description": "when to wake you for it (ISO 8601, at least "
            f"{MIN_WAKE_MINUTES} min ahead), or '' to clear",
        },
    },
}
_SEND: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "to": {"type": "string", "description": '"owner", or the person this task names'},
        "text": {"type": "string", "description": "the message, as it should arrive"},
    },
    "required": ["to", "text"],
}


class TaskSessionTools:
    """Builds the "task" server for one task's session."""

    def __init__(
        self,
        *,
        tasks: TaskRepo,
        people: PeopleRepo,
        outbox: OutboxRepo,
        owner_chat: int,
        fields: TaskFields,
        clock: Clock = utc_now,
    ) -> None:
        self._tasks = tasks
        self._people = people
        self._outbox = outbox
        self._owner_chat = owner_chat
        self._fields = fields
        self._clock = clock

    def server(self) -> ToolServer:
        """The registry entry: named "task", built for the task each session works on."""
        return ToolServer(name=SERVER_NAME, tools=frozenset(TOOL_NAMES), build=self._build)

    def for_task(self, task_id: int, /) -> McpSdkServerConfig:
        return create_sdk_mcp_server(SERVER_NAME, tools=self.tools_for(task_id))

    def tools_for(self, task_id: int, /) -> list[SdkMcpTool[Any]]:
        @tool(
            "update_task",
            "Keep your task current: status, a note for its log, your next step and when to "
            "wake you for it.",
            _UPDATE,
        )
        async def update_task(args: dict[str, Any]) -> ToolResult:
            return await self.update(task_id, args)

        @tool(
            "send_to_user",
            "Send a Telegram message from the owner's account to the person this task talks "
            'with (or its assignee), or to the owner with to="owner".',
            _SEND,
        )
        async def send_to_user(args: dict[str, Any]) -> ToolResult:
            return await self.send(task_id, args)

        return [update_task, send_to_user]

    def _build(self, scope: ToolScope) -> McpSdkServerConfig:
        if scope.task_id is None:
            raise ValueError("the task server must be built for one task")
        return self.for_task(scope.task_id)

    # -- the tools' bodies (public so tests can call them without a model) ------------------

    async def update(self, task_id: int, args: dict[str, Any], /) -> ToolResult:
        task = await self._tasks.get(task_id)
        if task is None or task.status is TaskStatus.CANCELLED:
            return error_result("This task is cancelled: there is nothing more to update.")
        if args.get("title") is not None or args.get("description") is not None:
            return error_result("Only the owner changes a task's title and description.")
        fields = self._fields.changes(task, _known(args))
        if isinstance(fields, str):
            return error_result(fields)
        if "next_step_at" in fields:
            problem = self._wake_problem(task, fields)
            if problem is not None:
                return error_result(problem)
            fields["next_step_by"] = "task"
        updated = await self._tasks.update(task_id, **fields)
        assert updated is not None  # tasks are never deleted
        step = f"next step: {updated.next_step}" if updated.next_step else "no next step"
        return text_result(f"Updated task #{task_id} [{updated.status.value}], {step}.")

    async def send(self, task_id: int, args: dict[str, Any], /) -> ToolResult:
        to, text = args.get("to"), args.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
            return error_result(f"text must be the message, at most {MAX_TEXT_CHARS} characters.")
        task = await self._tasks.get(task_id)
        if task is None or task.status is TaskStatus.CANCELLED:
            return error_result("This task is cancelled: nothing more goes out from it.")
        chat = await self._recipient(task, to)
        if isinstance(chat, str):
            return error_result(chat)
        chat_id, who = chat
        await self._outbox.enqueue([OutboundMessage(chat_id=chat_id, text=text.strip())])
        return text_result(f"Sent to {who}.")

    # -- internals ----------------------------------------------------------------------------

    async def _recipient(self, task: Task, to: object) -> tuple[int, str] | str:
        """The chat `to` means among the task's own people, or why it cannot be written to."""
        wanted = str(to or "").strip().lower()
        if wanted in OWNER_WORDS:
            return self._owner_chat, "the owner"
        for user_id in (task.counterpart_id, task.assignee_id):
            person = None if user_id is None else await self._people.get(user_id)
            if person is None:
                continue
            names = {str(person.user_id)}
            if person.username:
                names.add(f"@{person.username.lower()}")
            if wanted in names:
                return person.user_id, person_label(person)
        return (
            "This task can write only to the owner and to the people it names (by their id "
            "or @username, as the task card shows them). Ask the owner to write to anyone else."
        )

    def _wake_problem(self, task: Task, fields: dict[str, object]) -> str | None:
        when, now = fields["next_step_at"], self._clock()
        if task.next_step_by == "owner" and _pending(task, now):
            return _OWNERS
        if isinstance(when, datetime) and when < now + timedelta(minutes=MIN_WAKE_MINUTES):
            return f"next_step_at must be at least {MIN_WAKE_MINUTES} minutes from now."
        return None


_OWNERS: Final = (
    "The owner set this task's next wake-up time; only the owner moves it. Note what you "
    "would change, and it will be seen then."
)


def _pending(task: Task, now: datetime) -> bool:
    """The task has a wake-up time still to come."""
    return task.next_step_at is not None and task.next_step_at > now


def _known(args: dict[str, Any]) -> dict[str, Any]:
    """The fields this tool takes (TaskFields reads others, like title, that it must not)."""
    return {k: args[k] for k in ("status", "note", "next_step", "next_step_at") if k in args}
