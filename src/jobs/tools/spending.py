"""The owner's "spending" tool: usage_report — what Jobs spent today, over the last week or this
month, by kind and payer (ids, never names), and the weekly cost line; a schedule can send it.
Reads only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from claude_agent_sdk import SdkMcpTool, tool

from jobs.tools.registry import ToolServer, qualified_name
from jobs.tools.results import ToolResult, error_result, text_result

SERVER_NAME: Final = "spending"
READ_ONLY_TOOLS: Final = frozenset({qualified_name(SERVER_NAME, "usage_report")})
PERIODS: Final = ("today", "week", "month")
Report = Callable[[str], Awaitable[str]]
"""The report for a period (jobs.spending.UsageReport: text, or week_line for `week`)."""

SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"period": {"type": "string", "enum": list(PERIODS)}},
    "required": ["period"],
}


class SpendingTools:
    def __init__(self, *, report: Report) -> None:
        self._report = report

    def server(self) -> ToolServer:
        return ToolServer.in_process(SERVER_NAME, self.tools())

    def tools(self) -> list[SdkMcpTool[Any]]:
        @tool(
            "usage_report",
            "What Jobs spent (model costs) today, over the last 7 days (with the weekly cost "
            "line) or this month, by the owner, other people, tasks and triggers.",
            SCHEMA,
        )
        async def usage_report(args: dict[str, Any]) -> ToolResult:
            period = args.get("period")
            if period not in PERIODS:
                return error_result("period must be today, week or month.")
            return text_result(await self._report(str(period)))

        return [usage_report]
