"""The task tools' input, checked: the model's arguments → TaskRepo fields, or what is wrong."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Final

from jobs.clock import Clock
from jobs.storage import Task, TaskStatus

SETTABLE: Final = ("open", "in_progress", "waiting", "blocked", "done")
"""Statuses update_task may set (cancel_task cancels)."""
GRANT_NAMES: Final = ("memory", "files", "web", "bash", "browser", "telegram")
"""What the owner may grant a task's session (jobs.sessions.roles.GRANTS gives each meaning)."""
MAX_TITLE: Final = 200
MAX_TEXT: Final = 4000
MAX_STEP: Final = 500
_SKILL_NAME: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class TaskFields:
    """Reads create_task's and update_task's arguments, times in the owner's zone. Each
    reading returns the fields, or a str saying what is wrong (the tool's error text)."""

    def __init__(self, *, skills_dir: Path, clock: Clock, zone: tzinfo) -> None:
        self._skills = skills_dir
        self._clock = clock
        self._zone = zone

    def new_task(self, args: dict[str, Any], /) -> dict[str, Any] | str:
        """create_task's title, description, skill and due, as TaskRepo.create takes them."""
        title, description = args.get("title"), args.get("description") or ""
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
            return f"title must be a short text (at most {MAX_TITLE} characters)."
        if not isinstance(description, str) or len(description) > MAX_TEXT:
            return f"description must be text of at most {MAX_TEXT} characters."
        skill = args.get("skill") or None
        if skill is not None and not self._skill_exists(skill):
            return (
                f"There is no skill {str(skill)[:64]!r}; leave skill out or name one that exists."
            )
        due = self._when(args.get("due"))
        if isinstance(due, str):
            return f"due: {due}"
        grants = _grants(args.get("grants"))
        if isinstance(grants, str):
            return grants
        return {
            "title": title.strip(),
            "description": description.strip(),
            "skill": skill,
            "due_at": due,
            "grants": grants,
        }

    def changes(self, task: Task, args: dict[str, Any], /) -> dict[str, object] | str:
        """update_task's changes to `task`, as TaskRepo.update takes them."""
        fields: dict[str, object] = {}
        for name, limit in (
            ("title", MAX_TITLE),
            ("description", MAX_TEXT),
            ("next_step", MAX_STEP),
        ):
            if (value := args.get(name)) is not None:
                if not isinstance(value, str) or len(value) > limit:
                    return f"{name} must be text of at most {limit} characters."
                fields[name] = value.strip() or (None if name == "next_step" else "")
        for name, column in (("next_step_at", "next_step_at"), ("due", "due_at")):
            if args.get(name) is not None:
                when = self._when(args[name], allow_now=True)
                if isinstance(when, str):
                    return f"{name}: {when}"
                fields[column] = when
        if args.get("grants") is not None:
            grants = _grants(args["grants"])
            if isinstance(grants, str):
                return grants
            fields["grants"] = grants
        return self._status_and_note(task, args, fields)

    def _status_and_note(
        self, task: Task, args: dict[str, Any], fields: dict[str, object]
    ) -> dict[str, object] | str:
        status, note = args.get("status"), args.get("note")
        if status is not None:
            if status not in SETTABLE:
                return f"status must be one of {', '.join(SETTABLE)} (cancel_task cancels)."
            fields["status"] = TaskStatus(status)
        if note is not None:
            if not isinstance(note, str) or not note.strip() or len(note) > MAX_TEXT:
                return f"note must be non-empty text of at most {MAX_TEXT} characters."
            fields["context"] = self.log(task, note.strip())
        return fields or "Give at least one thing to change."

    def _when(self, value: object, *, allow_now: bool = False) -> datetime | str | None:
        """A time from the model's text, None for none; a str says what is wrong."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            return "give a date and time as text, e.g. 2026-12-01T15:00"
        if allow_now and value.strip().lower() == "now":
            return self._clock()
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return f"{value[:40]!r} is not an ISO 8601 time, e.g. 2026-12-01T15:00"
        return moment if moment.tzinfo else moment.replace(tzinfo=self._zone)

    def _skill_exists(self, name: object) -> bool:
        if not isinstance(name, str) or not _SKILL_NAME.match(name):
            return False
        return (self._skills / name / "SKILL.md").is_file()

    def log(self, task: Task, entry: str, /) -> str:
        """The task's log (its context) with `entry` added, dated in the owner's zone."""
        line = f"[{self._clock().astimezone(self._zone):%Y-%m-%d %H:%M}] {entry}"
        return f"{task.context}\n{line}" if task.context else line


def _grants(value: object) -> tuple[str, ...] | str:
    """The grants asked for, checked; a str says what is wrong."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"grants must be a list of names from: {', '.join(GRANT_NAMES)}."
    unknown = sorted({v for v in value if v not in GRANT_NAMES})
    if unknown:
        return f"unknown grant(s) {', '.join(unknown)[:80]}; choose from {', '.join(GRANT_NAMES)}."
    return tuple(sorted(set(value)))
