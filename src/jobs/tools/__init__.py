"""Jobs' in-process MCP tools: one factory per domain, a registry the roles select from."""

from jobs.tools.registry import ToolServer, ToolServers
from jobs.tools.results import ToolResult, error_result, text_result

__all__ = ["ToolResult", "ToolServer", "ToolServers", "error_result", "text_result"]
