"""The owner's schedule tools: schedule_create, schedule_list, schedule_delete, schedule_pause,
schedule_resume, over Jobs' own schedules table.

Fire-time arithmetic (APScheduler, in jobs.triggers) comes in as a ScheduleCalendar, so this
module never imports it; what the model sends is checked here first.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from claude_agent_sdk import SdkMcpTool, tool

from jobs.clock import Clock, utc_now
from jobs.storage import JobRun, Misfire, Schedule, ScheduleKind, TriggerRepo
from jobs.tools.registry import ToolServer, qualified_name
from jobs.tools.results import ToolResult, error_result, text_result

SERVER_NAME: Final = "schedules"
READ_ONLY_TOOLS: Final = frozenset({qualified_name(SERVER_NAME, "schedule_list")})
"""The tools here that change nothing: a tainted turn may still use them."""
SHOWN_FIRE_TIMES: Final = 3
MAX_NAME: Final = 80
MAX_PROMPT: Final = 4000

_ID: Final = {"type": "integer", "description": "the id shown by the list tool"}
ID_ONLY: Final[dict[str, Any]] = {"type": "object", "properties": {"id": _ID}, "required": ["id"]}
CREATE_SCHEDULE: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "short, e.g. 'call Anna', 'morning digest'"},
        "prompt": {"type": "string", "description": "what to do when it fires"},
        "at": {"type": "string", "description": "one-off local date-time, 2026-11-28T09:00"},
        "cron": {"type": "string", "description": "5-field cron, e.g. '30 8 * * 1-5'"},
        "every_minutes": {"type": "integer", "minimum": 1},
        "timezone": {"type": "string", "description": "IANA name, e.g. Europe/Berlin"},
        "if_missed": {
            "type": "string",
            "enum": ["run_late", "skip"],
            "description": "when Jobs was down at the time: run once late (default) or skip",
        },
    },
    "required": ["name", "prompt"],
}


class ScheduleCalendar(Protocol):
    """Fire-time arithmetic for the schedule tools (jobs.triggers.scheduler.Scheduler)."""

    def upcoming(
        self,
        kind: ScheduleKind,
        spec: str,
        timezone: str,
        /,
        *,
        anchor: datetime,
        after: datetime,
        count: int,
    ) -> list[datetime]:
        """The next `count` fire times; raises ValueError (read by the model) if invalid."""
        ...

    def changed(self) -> None:
        """Schedules changed: plan again (called after every successful change)."""
        ...


@dataclass(frozen=True, slots=True)
class ScheduleDraft:
    """A checked schedule_create request, not stored yet."""

    name: str
    prompt: str
    kind: ScheduleKind
    spec: str
    timezone: str
    misfire: Misfire
    warning: str = ""


def _local(moment: datetime, timezone: str) -> str:
    return f"{moment.astimezone(zoneinfo.ZoneInfo(timezone)):%a %Y-%m-%d %H:%M %Z}"


def _what(schedule: Schedule | ScheduleDraft) -> str:
    if schedule.kind is ScheduleKind.CRON:
        return f"cron `{schedule.spec}` ({schedule.timezone})"
    if schedule.kind is ScheduleKind.INTERVAL:
        return f"every {int(schedule.spec) // 60} min"
    return f"once at {_local(datetime.fromisoformat(schedule.spec), schedule.timezone)}"


class ScheduleTools:
    """The "schedules" server: the owner's own schedules in Jobs' table."""

    def __init__(
        self,
        *,
        triggers: TriggerRepo,
        calendar: ScheduleCalendar,
        default_timezone: str,
        clock: Clock = utc_now,
    ) -> None:
        self._triggers = triggers
        self._calendar = calendar
        self._zone = default_timezone
        self._clock = clock

    def server(self) -> ToolServer:
        return ToolServer.in_process(SERVER_NAME, self.tools())

    def tools(self) -> list[SdkMcpTool[Any]]:
        @tool(
            "schedule_create",
            "Schedule something Jobs does later or repeatedly: a reminder, a check, a digest. "
            "Give a name, the prompt (an instruction to yourself for when it fires, e.g. "
            "'Remind the owner to call Anna'), and exactly ONE of: `at` (a one-off local date-"
            "time, e.g. '2026-11-28T09:00' for 'tomorrow at 9'), `cron` (5 fields: minute hour "
            "day-of-month month day-of-week, weekdays 0/7=Sunday, e.g. '0 9 * * 1-5'), or "
            f"`every_minutes`. Times are in `timezone` (default {self._zone}). The answer "
            "shows the next fire times: check them against what the owner asked.",
            CREATE_SCHEDULE,
        )
        async def schedule_create(args: dict[str, Any]) -> ToolResult:
            return await self.create(args)

        @tool("schedule_list", "List the schedules: when each fires next, its last run.", {})
        async def schedule_list(_args: dict[str, Any]) -> ToolResult:
            return await self.list_all()

        @tool("schedule_delete", "Delete a schedule for good (by its id).", ID_ONLY)
        async def schedule_delete(args: dict[str, Any]) -> ToolResult:
            return await self.delete(args)

        @tool(
            "schedule_pause", "Pause a schedule (by id); missed firings are not made up.", ID_ONLY
        )
        async def schedule_pause(args: dict[str, Any]) -> ToolResult:
            return await self.set_enabled(args, enabled=False)

        @tool("schedule_resume", "Resume a paused schedule (by its id).", ID_ONLY)
        async def schedule_resume(args: dict[str, Any]) -> ToolResult:
            return await self.set_enabled(args, enabled=True)

        return [schedule_create, schedule_list, schedule_delete, schedule_pause, schedule_resume]

    async def create(self, args: dict[str, Any], /) -> ToolResult:
        now = self._clock()
        draft = parse_draft(args, default_timezone=self._zone, now=now)
        if isinstance(draft, str):
            return error_result(draft)
        try:
            times = self._upcoming(draft, anchor=now, after=now)
        except ValueError as exc:
            return error_result(f"That schedule is not valid: {exc}.")
        if not times:
            return error_result("That schedule would never fire; check the time.")
        schedule = await self._triggers.add_schedule(
            draft.name,
            kind=draft.kind,
            spec=draft.spec,
            timezone=draft.timezone,
            prompt=draft.prompt,
            misfire=draft.misfire,
        )
        self._calendar.changed()
        shown = "; ".join(_local(t, draft.timezone) for t in times)
        return text_result(
            f"Created schedule #{schedule.id} «{schedule.name}»: {_what(draft)}.{draft.warning}\n"
            f"Next: {shown}.\nNow: {_local(now, draft.timezone)}. If Jobs is down when it is "
            f"due: {'it runs once, late' if draft.misfire == 'run_late' else 'it is skipped'}."
        )

    async def list_all(self) -> ToolResult:
        schedules = await self._triggers.list_schedules()
        if not schedules:
            return text_result("There are no schedules.")
        lines = [await self._describe(s) for s in schedules]
        return text_result("\n".join(lines))

    async def delete(self, args: dict[str, Any], /) -> ToolResult:
        schedule = await self._find(args)
        if isinstance(schedule, str):
            return error_result(schedule)
        await self._triggers.delete_schedule(schedule.id)
        self._calendar.changed()
        return text_result(f"Deleted schedule #{schedule.id} «{schedule.name}».")

    async def set_enabled(self, args: dict[str, Any], /, *, enabled: bool) -> ToolResult:
        schedule = await self._find(args)
        if isinstance(schedule, str):
            return error_result(schedule)
        word = "resumed" if enabled else "paused"
        if schedule.enabled == enabled:
            return text_result(f"Schedule #{schedule.id} «{schedule.name}» is already {word}.")
        await self._triggers.set_schedule_enabled(schedule.id, enabled)
        self._calendar.changed()
        return text_result(f"Schedule #{schedule.id} «{schedule.name}» {word}.")

    async def _find(self, args: dict[str, Any]) -> Schedule | str:
        schedule_id = parse_id(args)
        schedule = None if schedule_id is None else await self._triggers.get_schedule(schedule_id)
        if schedule is None:
            return "No such schedule: give the id shown by schedule_list."
        return schedule

    def _upcoming(
        self, s: Schedule | ScheduleDraft, *, anchor: datetime, after: datetime
    ) -> list[datetime]:
        return self._calendar.upcoming(
            s.kind, s.spec, s.timezone, anchor=anchor, after=after, count=SHOWN_FIRE_TIMES
        )

    async def _describe(self, schedule: Schedule) -> str:
        line = f"#{schedule.id} «{schedule.name}»: {_what(schedule)}"
        last = await self._triggers.last_run(schedule.id)
        if schedule.kind is ScheduleKind.ONCE and last is not None:
            return f"{line} — finished ({_run(last, schedule)})"
        if not schedule.enabled:
            line += " — paused"
        else:
            try:
                times = self._upcoming(schedule, anchor=schedule.created_at, after=self._clock())
            except ValueError:
                times = []
            line += f" — next {_local(times[0], schedule.timezone)}" if times else ""
        if last is not None:
            line += f"; last run {_run(last, schedule)}"
        return f"{line}\n  does: {schedule.prompt}"


def _run(run: JobRun, schedule: Schedule) -> str:
    note = f": {run.note}" if run.note else ""
    return f"{run.state.value} for {_local(run.scheduled_for, schedule.timezone)}{note}"


def parse_id(args: dict[str, Any], /) -> int | None:
    value = args.get("id")
    if isinstance(value, str) and value.strip().lstrip("#").isdigit():
        return int(value.strip().lstrip("#"))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text_arg(args: dict[str, Any], key: str, limit: int) -> str | None:
    """A non-empty string of at most `limit` characters, stripped; None otherwise."""
    value = args.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        return None
    return value.strip()


def parse_draft(
    args: dict[str, Any], /, *, default_timezone: str, now: datetime
) -> ScheduleDraft | str:
    """The draft, or what is wrong with the request (for the model)."""
    name, prompt = text_arg(args, "name", MAX_NAME), text_arg(args, "prompt", MAX_PROMPT)
    if name is None or prompt is None:
        return f"Give a name (≤ {MAX_NAME} characters) and a prompt (≤ {MAX_PROMPT})."
    timezone = args.get("timezone") or default_timezone
    try:
        zone = zoneinfo.ZoneInfo(str(timezone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"Unknown time zone {timezone!r}: use an IANA name such as Europe/Berlin."
    misfire = args.get("if_missed") or "run_late"
    if misfire not in ("run_late", "skip"):
        return "if_missed must be run_late or skip."
    when = parse_when(args, zone, now)
    if isinstance(when, str):
        return when
    kind, spec, warning = when
    return ScheduleDraft(name, prompt, kind, spec, str(timezone), Misfire(misfire), warning)


def parse_when(
    args: dict[str, Any], zone: zoneinfo.ZoneInfo, now: datetime
) -> tuple[ScheduleKind, str, str] | str:
    """(kind, spec, warning) from exactly one of at / cron / every_minutes."""
    given = [key for key in ("at", "cron", "every_minutes") if args.get(key) not in (None, "")]
    if len(given) != 1:
        return "Give exactly one of at (one-off), cron (repeating) or every_minutes."
    value = args[given[0]]
    if given[0] == "cron":
        return (ScheduleKind.CRON, " ".join(str(value).split()), "")
    if given[0] == "every_minutes":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 527_040:
            return "every_minutes must be a whole number of minutes (1 or more)."
        return (ScheduleKind.INTERVAL, str(value * 60), "")
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return f"at must be an ISO date-time such as 2026-11-28T09:00, not {value!r}."
    warning = ""
    if moment.tzinfo is None:
        naive, moment = moment, moment.replace(tzinfo=zone)
        if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
            warning = " That local time does not exist (the clocks change then)."
    if moment <= now:
        shown = f"{now.astimezone(zone):%Y-%m-%d %H:%M %Z}"
        return f"{moment.isoformat()} has already passed (now it is {shown})."
    return (ScheduleKind.ONCE, moment.isoformat(), warning)
