"""The "extensions" server's catalog: each tool's name, what the model is told it does, its
input schema, and which tools only read."""

from __future__ import annotations

from typing import Any, Final

NEXT_TURN: Final = "It applies from the owner's next message (the session reloads then)."

_NAME = {"type": "string", "description": "kebab-case name, e.g. weekly-report"}
_PLUGIN = {"type": "string", "description": "plugin name, or name@marketplace"}
_SERVER = {"type": "string", "description": "the MCP server's name"}
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}


def _schema(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


_SKILL_FIELDS: Final = {
    "description": {"type": "string", "description": "what it does and when to use it"},
    "instructions": {"type": "string", "description": "Markdown: the steps to follow"},
    "tools": {"type": "array", "items": {"type": "string"}, "description": "tools it uses"},
}
_MCP_ADD: Final = _schema(
    ("name",),
    name=_SERVER,
    type={"type": "string", "enum": ["stdio", "http", "sse"], "description": "default stdio"},
    command={"type": "string", "description": "stdio: the program to run"},
    args={"type": "array", "items": {"type": "string"}},
    env={**_STR_MAP, "description": 'stdio: variables, secrets as "${VAR}" references'},
    url={"type": "string", "description": "http/sse: the server's URL"},
    headers={**_STR_MAP, "description": 'http/sse: headers, secrets as "${VAR}" references'},
    test={"type": "boolean", "description": "start it once to check it first (default true)"},
)


DESCRIPTIONS: Final = {
    "skill_list": "List the skills (bundled and the owner's) with their descriptions.",
    "skill_show": "Show a skill's SKILL.md and the other files in its folder.",
    "skill_create": (
        "Create a skill: Markdown instructions Claude follows whenever a request matches its "
        "description, so the description must say what it does and when to use it (at most "
        "1024 characters). Saved as .claude/skills/<name>/SKILL.md in the workspace. " + NEXT_TURN
    ),
    "skill_edit": (
        "Change a skill's description, instructions and/or tools; fields left out stay as "
        "they are. Bundled skills cannot be changed. " + NEXT_TURN
    ),
    "skill_delete": "Delete one of the owner's skills (bundled skills cannot be deleted).",
    "plugin_marketplace_add": (
        "Add a Claude Code plugin marketplace: a git repository holding "
        ".claude-plugin/marketplace.json. `source` is a git URL (https://…, git@…:…), a "
        "GitHub owner/repo, or the path of a local git repository."
    ),
    "plugin_marketplace_update": (
        "Fetch the newest version of one marketplace (`name`) or of all; says which installed "
        "plugins have a newer version (plugin_install them again to update)."
    ),
    "plugin_marketplace_remove": "Remove an added marketplace (remove its plugins first).",
    "plugin_search": (
        "Search the plugins of every added marketplace by words, best match first (name, "
        "keywords, then description)."
    ),
    "plugin_available": (
        "List every plugin the added marketplaces offer (or one `marketplace`'s), marking "
        "the installed ones."
    ),
    "plugin_install": (
        "Install a plugin from an added marketplace and enable it; installing again updates "
        "it. " + NEXT_TURN
    ),
    "plugin_list": "List the installed plugins (enabled or not) and the added marketplaces.",
    "plugin_enable": "Enable an installed plugin. " + NEXT_TURN,
    "plugin_disable": "Disable an installed plugin without removing it. " + NEXT_TURN,
    "plugin_remove": "Uninstall a plugin and delete its files. " + NEXT_TURN,
    "mcp_add": (
        "Add an MCP server to the owner's sessions: stdio (`command`, `args`, `env`) or "
        "http/sse (`url`, `headers`). Never write a secret's value: refer to a variable of "
        'Jobs\' environment instead, e.g. env {"API_KEY": "${GITHUB_TOKEN}"}. Unless '
        "test=false the server is started once first, and nothing is saved if that fails. "
        + NEXT_TURN
    ),
    "mcp_list": (
        "List the MCP servers: command or URL, enabled or not, and the variables they use "
        "(values are never shown)."
    ),
    "mcp_test": "Start a configured MCP server, list its tools, and report any error.",
    "mcp_enable": "Enable an MCP server. " + NEXT_TURN,
    "mcp_disable": "Disable an MCP server without removing it. " + NEXT_TURN,
    "mcp_remove": "Remove an MCP server. " + NEXT_TURN,
}
TOOL_NAMES: Final = tuple(DESCRIPTIONS)
READERS: Final = (
    "skill_list",
    "skill_show",
    "plugin_search",
    "plugin_available",
    "plugin_list",
    "mcp_list",
)
"""The tools that only read."""
_BY_NAME: Final = _schema(("name",), name=_NAME)
_BY_SERVER: Final = _schema(("name",), name=_SERVER)
_BY_PLUGIN: Final = _schema(("plugin",), plugin=_PLUGIN)
SCHEMAS: Final = {
    "skill_show": _BY_NAME,
    "skill_create": _schema(("name", "description", "instructions"), name=_NAME, **_SKILL_FIELDS),
    "skill_edit": _schema(("name",), name=_NAME, **_SKILL_FIELDS),
    "skill_delete": _BY_NAME,
    "plugin_marketplace_add": _schema(("source",), source={"type": "string"}),
    "plugin_marketplace_update": _schema(name={"type": "string"}),
    "plugin_marketplace_remove": _schema(("name",), name={"type": "string"}),
    "plugin_search": _schema(("query",), query={"type": "string"}),
    "plugin_available": _schema(marketplace={"type": "string"}),
    "plugin_install": _BY_PLUGIN,
    "plugin_enable": _BY_PLUGIN,
    "plugin_disable": _BY_PLUGIN,
    "plugin_remove": _BY_PLUGIN,
    "mcp_add": _MCP_ADD,
    "mcp_test": _BY_SERVER,
    "mcp_enable": _BY_SERVER,
    "mcp_disable": _BY_SERVER,
    "mcp_remove": _BY_SERVER,
}


def schema_of(name: str, /) -> dict[str, Any]:
    """The input schema of the tool `name` (an empty object for tools that take nothing)."""
    return SCHEMAS.get(name, _schema())
