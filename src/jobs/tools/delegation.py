"""The owner's task tools: create_task, list_tasks, update_task, cancel_task, tell_task.

A task with a skill or a person to talk with gets a session of its own (jobs.delegation,
reached through the TaskRunner protocol declared here): creating one starts it, tell_task
passes it the owner's words, and cancel_task stops the turn it is running. What the model
writes is checked in jobs.tools.task_fields.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Final, Protocol

from claude_agent_sdk import tool

from jobs.clock import Clock, utc_now
from jobs.storage import Person, Task, TaskRepo, TaskStatus
from jobs.storage.tasks import TALKING_STATUSES
from jobs.tools.messaging import PersonLookup, person_label
from jobs.tools.registry import ToolServer, qualified_name
from jobs.tools.results import ToolResult, error_result, text_result
from jobs.tools.task_fields import GRANT_NAMES, MAX_TEXT, SETTABLE, TaskFields

SERVER_NAME: Final = "delegation"
UPDATE_TOOL: Final = qualified_name(SERVER_NAME, "update_task")
_WHO: Final = "an @username, a phone number, a Telegram user id or a contact's name"


class TaskRunner(Protocol):
    """Task sessions (jobs.delegation.TaskSessions). `start` and `tell` return at once: the
    turn runs in the background, waits for the task's lock, and reports to the owner itself."""

    def start(self, task_id: int, /) -> None:
        """Run the first turn of a new task's session."""

    def tell(self, task_id: int, text: str, /) -> None:
        """Run a turn of the task's session with the owner's words."""

    async def stop(self, task_id: int, /) -> bool:
        """Interrupt the turn the task's session is running, as /stop does (cancel_task: the
        task is already cancelled, so that turn reports nothing and turns waiting behind it
        do not run). False when none was running."""


def _schema(required: list[str], **properties: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            name: {"type": kind, "description": text} for name, (kind, text) in properties.items()
        },
        "required": required,
    }


_TASK_ID = ("integer", "the task's number (#id)")
_GRANTS = {
    "type": "array",
    "items": {"type": "string", "enum": list(GRANT_NAMES)},
    "description": (
        "What the task's session may use beyond its own card, folder, skill and the person it "
        "talks with: memory (the owner's memory), files (read the whole workspace), web "
        "(WebFetch, WebSearch), bash, browser, telegram (the owner's chats). Grant only what "
        "the task needs: a task that talks with someone and holds the owner's private data "
        "asks the owner before each message it sends."
    ),
}
_WHEN = "ISO 8601 date and time, e.g. 2026-12-01T15:00 (the owner's time zone unless it says)"
_CREATE = _schema(
    ["title"],
    title=("string", "short, e.g. 'Meeting with Anna: project kickoff'"),
    description=("string", "everything the task needs: purpose, limits, what not to share"),
    assignee=("string", f"a person who does the task ({_WHO}); omit for the owner's own"),
    talk_to=("string", f"a person Jobs talks with for the owner in this task ({_WHO})"),
    skill=("string", "a skill the task session follows, e.g. schedule-meeting"),
    due=("string", _WHEN),
    next_step=("string", "the first thing the task session should do"),
)
_CREATE["properties"]["grants"] = _GRANTS
_UPDATE = _schema(
    ["task_id"],
    task_id=_TASK_ID,
    title=("string", "a new title"),
    description=("string", "a new description (replaces the old one)"),
    status=("string", f"one of {', '.join(SETTABLE)}"),
    note=("string", "what happened, added to the task's log"),
    next_step=("string", "what happens next ('' clears it)"),
    next_step_at=("string", f"when the next step is due ({_WHEN}), 'now', or '' to clear"),
    due=("string", f"the task's deadline ({_WHEN}) or '' to clear"),
)
_UPDATE["properties"]["grants"] = {**_GRANTS, "description": "the task's grants, all of them"}


class DelegationTools:
    """Builds the "delegation" server over TaskRepo, a PersonLookup and a TaskRunner."""

    def __init__(
        self,
        *,
        tasks: TaskRepo,
        lookup: PersonLookup,
        runner: TaskRunner,
        skills_dir: Path,
        clock: Clock = utc_now,
        zone: tzinfo = UTC,
    ) -> None:
        self._tasks = tasks
        self._lookup = lookup
        self._runner = runner
        self._fields = TaskFields(skills_dir=skills_dir, clock=clock, zone=zone)
        self._clock = clock
        self._zone = zone

    def server(self) -> ToolServer:
        @tool(
            "create_task",
            "Create a task: the owner's own (no assignee), one for a person (assignee: they "
            "see it and update it when they write), and/or one in which Jobs talks with a "
            "person for the owner (talk_to: e.g. arrange a meeting; their replies go to the "
            "task until it ends). A task with a skill or talk_to gets a session of its own "
            "that starts at once, works on it, and reports to the owner.",
            _CREATE,
        )
        async def create_task(args: dict[str, Any]) -> ToolResult:
            return await self.create(args)

        @tool(
            "list_tasks",
            "List tasks with their status, people, next step and due time. status: 'active' "
            "(default: open, in_progress, waiting, blocked), 'all', or one status.",
            _schema([], status=("string", "active, all, or a status")),
        )
        async def list_tasks(args: dict[str, Any]) -> ToolResult:
            return await self.list(args)

        @tool("update_task", "Change a task: status, note, next step and when, due, text.", _UPDATE)
        async def update_task(args: dict[str, Any]) -> ToolResult:
            return await self.update(args)

        @tool(
            "cancel_task",
            "Cancel a task: its session does no more work, and the person it talked with "
            "goes back to their own conversation with Jobs.",
            _schema(["task_id"], task_id=_TASK_ID, reason=("string", "why, for the log")),
        )
        async def cancel_task(args: dict[str, Any]) -> ToolResult:
            return await self.cancel(args)

        @tool(
            "tell_task",
            "Pass the owner's words (a decision, a change of plan) to a task's session; it "
            "acts on them at once and reports back.",
            _schema(["task_id", "text"], task_id=_TASK_ID, text=("string", "what to tell it")),
        )
        async def tell_task(args: dict[str, Any]) -> ToolResult:
            return await self.tell(args)

        tools = [create_task, list_tasks, update_task, cancel_task, tell_task]
        return ToolServer.in_process(SERVER_NAME, tools)

    # -- the tools' bodies (public so tests can call them without a model) ------------------
    async def create(self, args: dict[str, Any], /) -> ToolResult:
        fields = self._fields.new_task(args)
        if isinstance(fields, str):
            return error_result(fields)
        people: dict[str, Person] = {}
        for role in ("assignee", "talk_to"):
            if isinstance(args.get(role), str) and args[role].strip():
                found = await self._lookup.find(args[role])
                if isinstance(found, str):
                    return error_result(f"{role}: {found}")
                people[role] = found
        talk_to = people.get("talk_to")
        earlier = await self._tasks.conversation_with(talk_to.user_id) if talk_to else None
        task = await self._tasks.create(
            fields.pop("title"),
            assignee_id=people["assignee"].user_id if "assignee" in people else None,
            counterpart_id=talk_to.user_id if talk_to else None,
            **fields,
        )
        lines = [f"Created task #{task.id} «{task.title}»."]
        lines += [f"{r.replace('_', ' ')}: {person_label(p)}" for r, p in people.items()]
        if earlier is not None and talk_to is not None:
            lines.append(f"Task #{earlier.id} also talks with them; their replies now go here.")
        if task.grants:
            lines.append(f"granted: {', '.join(task.grants)}")
        if task.has_session:
            step = (args.get("next_step") or "").strip() or "start the task"
            await self._tasks.update(task.id, next_step=step[:MAX_TEXT], next_step_at=self._clock())
            self._runner.start(task.id)
            lines.append("Its session is starting now and will report to the owner here.")
        return text_result("\n".join(lines))

    async def list(self, args: dict[str, Any], /) -> ToolResult:
        wanted = str(args.get("status") or "active").strip().lower()
        if wanted == "all":
            tasks = await self._tasks.list()
        elif wanted == "active":
            tasks = await self._tasks.list(statuses=TALKING_STATUSES)
        elif wanted in {status.value for status in TaskStatus}:
            tasks = await self._tasks.list(statuses=[TaskStatus(wanted)])
        else:
            return error_result("status must be active, all, or one of the task statuses.")
        if not tasks:
            return text_result(f"No {wanted} tasks.")
        return text_result("\n\n".join([await self._describe(t) for t in tasks]))

    async def update(self, args: dict[str, Any], /) -> ToolResult:
        task = await self._task(args)
        if isinstance(task, str):
            return error_result(task)
        fields = self._fields.changes(task, args)
        if isinstance(fields, str):
            return error_result(fields)
        if "next_step_at" in fields:
            fields["next_step_by"] = "owner"  # a task's own session may not move it now
        updated = await self._tasks.update(task.id, **fields)
        assert updated is not None  # it was there a moment ago; tasks are never deleted
        return text_result(f"Updated.\n\n{await self._describe(updated)}")

    async def cancel(self, args: dict[str, Any], /) -> ToolResult:
        task = await self._task(args)
        if isinstance(task, str):
            return error_result(task)
        reason = str(args.get("reason") or "").strip()[:MAX_TEXT]
        context = self._fields.log(task, f"cancelled{': ' + reason if reason else ''}")
        await self._tasks.update(task.id, status=TaskStatus.CANCELLED, context=context)
        stopped = await self._runner.stop(task.id)  # after the update: it then says nothing
        said = f"Cancelled task #{task.id} «{task.title}»."
        return text_result(f"{said} Its running turn was stopped." if stopped else said)

    async def tell(self, args: dict[str, Any], /) -> ToolResult:
        task = await self._task(args)
        if isinstance(task, str):
            return error_result(task)
        text = args.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            return error_result(f"text must be what to tell the task, at most {MAX_TEXT} chars.")
        if not task.has_session or task.status is TaskStatus.CANCELLED:
            return error_result(f"Task #{task.id} has no session to tell (no skill or person).")
        self._runner.tell(task.id, text.strip())
        return text_result(f"Told task #{task.id}; it works on it now and reports back.")

    async def _task(self, args: dict[str, Any]) -> Task | str:
        raw = args.get("task_id")
        digits = str(raw).strip().lstrip("#")
        task = await self._tasks.get(int(digits)) if digits.isdigit() else None
        return task or f"There is no task {raw!r}. list_tasks shows their numbers."

    async def _describe(self, task: Task) -> str:
        lines = [f"#{task.id} {task.title} [{task.status.value}]"]
        for what, user_id in (
            ("assigned to", task.assignee_id),
            ("talks with", task.counterpart_id),
        ):
            person = await self._lookup.people.get(user_id) if user_id is not None else None
            if person is not None:
                lines.append(f"{what}: {person_label(person)}")
        if task.skill:
            lines.append(f"skill: {task.skill}")
        if task.grants:
            lines.append(f"granted: {', '.join(task.grants)}")
        if task.next_step:
            when = f" (at {self._show(task.next_step_at)})" if task.next_step_at else ""
            lines.append(f"next step: {task.next_step}{when}")
        if task.due_at:
            lines.append(f"due: {self._show(task.due_at)}")
        if task.description:
            lines.append(task.description)
        return "\n".join(lines)

    def _show(self, moment: datetime) -> str:
        return f"{moment.astimezone(self._zone):%a %Y-%m-%d %H:%M %Z}"
