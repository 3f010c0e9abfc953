"""The owner's "extensions" tools: skills, plugins and MCP servers managed from chat.

What the model is told about each tool is in jobs.tools.extension_catalog. Each tool body is
a public method returning the text the model reads (tests call them without a model); an
ExtensionError becomes error_result() with its message, never an exception.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from claude_agent_sdk import SdkMcpTool, tool

from jobs.errors import ExtensionError
from jobs.extensions.marketplaces import Listing
from jobs.extensions.mcp_probe import DEFAULT_TIMEOUT, probe
from jobs.extensions.mcp_servers import McpServerEntry, McpServers, describe, parse_spec
from jobs.extensions.plugins import Plugins
from jobs.extensions.skills import SkillStore
from jobs.tools.extension_catalog import DESCRIPTIONS, NEXT_TURN, READERS, schema_of
from jobs.tools.registry import ToolServer, qualified_name
from jobs.tools.results import ToolResult, error_result, text_result

SERVER_NAME: Final = "extensions"
Args = dict[str, Any]
_Body = Callable[[Args], Awaitable[str]]

READ_ONLY_TOOLS: Final = frozenset(qualified_name(SERVER_NAME, name) for name in READERS)
"""Tools that only read (SessionManager's read_only_tools: a tainted turn may use them)."""


class ExtensionTools:
    """Builds the "extensions" server over the three stores."""

    def __init__(
        self,
        *,
        skills: SkillStore,
        plugins: Plugins,
        mcp: McpServers,
        probe_time_limit: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._skills = skills
        self._plugins = plugins
        self._mcp = mcp
        self._probe_limit = probe_time_limit

    def server(self) -> ToolServer:
        return ToolServer.in_process(SERVER_NAME, self.tools())

    def tools(self) -> list[SdkMcpTool[Any]]:
        """One tool per entry of DESCRIPTIONS; each runs the method of the same name."""
        return [
            tool(name, text, schema_of(name))(_guarded(getattr(self, name)))
            for name, text in DESCRIPTIONS.items()
        ]

    # -- skills ------------------------------------------------------------------------------

    async def skill_list(self, _args: Args) -> str:
        lines = []
        for info in self._skills.entries():
            mark = " (bundled, read-only)" if info.bundled else ""
            lines.append(
                f"- {info.name}{mark}: {info.description or 'NOT VALID: ' + str(info.problem)}"
            )
        return "\n".join(["Skills:", *lines]) if lines else "There are no skills yet."

    async def skill_show(self, args: Args) -> str:
        text, others = self._skills.show(_text(args, "name"))
        return text + (f"\n\nOther files: {', '.join(others)}" if others else "")

    async def skill_create(self, args: Args) -> str:
        skill = self._skills.create(
            _text(args, "name"),
            description=_text(args, "description"),
            instructions=_text(args, "instructions"),
            tools=_strings(args, "tools") or (),
        )
        return f"Created the skill {skill.name}. {NEXT_TURN}"

    async def skill_edit(self, args: Args) -> str:
        skill = self._skills.edit(
            _text(args, "name"),
            description=_maybe_text(args, "description"),
            instructions=_maybe_text(args, "instructions"),
            tools=_strings(args, "tools"),
        )
        return f"Updated the skill {skill.name}. {NEXT_TURN}"

    async def skill_delete(self, args: Args) -> str:
        self._skills.delete(name := _text(args, "name"))
        return f"Deleted the skill {name}."

    # -- plugins -----------------------------------------------------------------------------

    async def plugin_marketplace_add(self, args: Args) -> str:
        catalog = await self._plugins.add_marketplace(_text(args, "source"))
        text = f"Added the marketplace {catalog.name} with {len(catalog.listings)} plugins."
        if catalog.problems:
            text += "\nSkipped broken entries: " + "; ".join(catalog.problems[:5])
        return text + " plugin_available lists them."

    async def plugin_marketplace_update(self, args: Args) -> str:
        name = _maybe_text(args, "name")
        lines = []
        for market in [name] if name else list(self._plugins.marketplaces()):
            update = await self._plugins.update_marketplace(market)
            outdated = (
                f"; newer versions of {', '.join(update.outdated)}" if update.outdated else ""
            )
            lines.append(f"Updated {update.name} to {str(update.commit)[:12]}{outdated}.")
        return "\n".join(lines) or "No marketplaces are added yet."

    async def plugin_marketplace_remove(self, args: Args) -> str:
        await self._plugins.remove_marketplace(name := _text(args, "name"))
        return f"Removed the marketplace {name}."

    async def plugin_search(self, args: Args) -> str:
        found = self._plugins.search(_text(args, "query"))
        return self._listings(found) if found else "No plugin matches; try other words."

    async def plugin_available(self, args: Args) -> str:
        found = self._plugins.available(_maybe_text(args, "marketplace"))
        return self._listings(found) if found else "No marketplace offers plugins yet."

    async def plugin_install(self, args: Args) -> str:
        plugin = await self._plugins.install(_text(args, "plugin"))
        return f"Installed and enabled {plugin.key} ({plugin.version or 'no version'}). {NEXT_TURN}"

    async def plugin_list(self, _args: Args) -> str:
        plugins = [
            f"- {p.key} {p.version or ''} [{'enabled' if p.enabled else 'disabled'}]"
            for p in self._plugins.installed()
        ]
        markets = [
            f"- {name}: {record.source} (updated {record.updated_at:%Y-%m-%d})"
            for name, record in self._plugins.marketplaces().items()
        ]
        lines = ["Installed plugins:", *(plugins or ["(none)"]), "Marketplaces:"]
        return "\n".join([*lines, *(markets or ["(none)"])])

    async def plugin_enable(self, args: Args) -> str:
        plugin = _text(args, "plugin")
        return _toggled(plugin, "enabled", self._plugins.set_enabled(plugin, True))

    async def plugin_disable(self, args: Args) -> str:
        plugin = _text(args, "plugin")
        return _toggled(plugin, "disabled", self._plugins.set_enabled(plugin, False))

    async def plugin_remove(self, args: Args) -> str:
        removed = await self._plugins.remove(_text(args, "plugin"))
        return f"Removed {removed.key}. {NEXT_TURN}"

    def _listings(self, listings: list[Listing]) -> str:
        installed = {p.key for p in self._plugins.installed()}
        return "\n".join(
            f"- {item.key}{' (installed)' if item.key in installed else ''}"
            f"{' v' + item.version if item.version else ''}: {item.description[:200]}"
            for item in listings
        )

    # -- MCP servers -------------------------------------------------------------------------

    async def mcp_add(self, args: Args) -> str:
        name = _text(args, "name")
        spec = parse_spec({k: v for k, v in args.items() if k not in ("name", "test")})
        self._mcp.check(name, spec)
        tested = ""
        if args.get("test", True) is not False:
            result = await probe(spec, environ=self._mcp.environ, time_limit=self._probe_limit)
            if result.error is not None:
                raise ExtensionError(f"{result.error}\nNothing was saved.")
            tested = (
                f" It works and offers: {', '.join(t.name for t in result.tools) or 'no tools'}."
            )
        self._mcp.add(name, spec)
        return f"Added the MCP server {name}.{tested} {NEXT_TURN}"

    async def mcp_list(self, _args: Args) -> str:
        entries = self._mcp.entries()
        return "\n".join(self._line(e) for e in entries) if entries else "No MCP servers yet."

    async def mcp_test(self, args: Args) -> str:
        spec = self._mcp.get(name := _text(args, "name"))
        result = await probe(spec, environ=self._mcp.environ, time_limit=self._probe_limit)
        if result.error is not None:
            raise ExtensionError(f"{name}: {result.error}")
        tools = "\n".join(f"- {t.name}: {t.description[:150]}" for t in result.tools)
        return f"{name} started ({result.server or 'unnamed'}) and offers:\n{tools or '(no tools)'}"

    async def mcp_enable(self, args: Args) -> str:
        name = _text(args, "name")
        return _toggled(name, "enabled", self._mcp.set_enabled(name, True))

    async def mcp_disable(self, args: Args) -> str:
        name = _text(args, "name")
        return _toggled(name, "disabled", self._mcp.set_enabled(name, False))

    async def mcp_remove(self, args: Args) -> str:
        self._mcp.remove(name := _text(args, "name"))
        return f"Removed the MCP server {name}. {NEXT_TURN}"

    def _line(self, entry: McpServerEntry) -> str:
        missing = self._mcp.missing(entry.spec)
        note = f"\n  not started: {', '.join(missing)} not set" if missing else ""
        return describe(entry) + note


def _toggled(name: str, state: str, changed: bool) -> str:
    return f"{name} is now {state}. {NEXT_TURN}" if changed else f"{name} was already {state}."


def _guarded(body: _Body) -> Callable[[Args], Awaitable[ToolResult]]:
    async def handler(args: Args) -> ToolResult:
        try:
            return text_result(await body(args))
        except ExtensionError as exc:
            return error_result(str(exc))

    return handler


def _text(args: Args, key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ExtensionError(f"`{key}` must be given as text.")
    return value.strip()


def _maybe_text(args: Args, key: str) -> str | None:
    return None if args.get(key) is None else _text(args, key)


def _strings(args: Args, key: str) -> tuple[str, ...] | None:
    value = args.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ExtensionError(f"`{key}` must be a list of names.")
    return tuple(value)
