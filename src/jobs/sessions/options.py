"""The one place that builds ClaudeAgentOptions (from a RoleSpec) and the CLI's environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final, Protocol

from claude_agent_sdk import ClaudeAgentOptions, McpServerConfig, SdkPluginConfig
from claude_agent_sdk.types import SystemPromptCustom, SystemPromptPreset

from jobs.config import Settings
from jobs.sessions.hooks import HookMap
from jobs.sessions.roles import RoleSpec

_QUIET: Final = {
    # The CLI would otherwise phone home, update itself or report errors upstream.
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
}


class ExtensionsSource(Protocol):
    """The owner-managed MCP servers and plugins (jobs.extensions.Extensions) that sessions of
    a role with `extensions` get. Asked when such a session is built and before each of its
    turns, so every member must be cheap (no IO beyond a stat)."""

    @property
    def version(self) -> int:
        """Changes whenever anything below changes: a live session built at another version
        is restarted by resume before its next turn."""

    def mcp_servers(self) -> Mapping[str, McpServerConfig]:
        """Servers to add (Jobs' own servers win a name clash)."""

    def plugins(self) -> Sequence[SdkPluginConfig]:
        """Plugins to load (ClaudeAgentOptions.plugins)."""

    def tool_prefixes(self) -> frozenset[str]:
        """MCP tool name prefixes those servers and plugins may offer (the init check)."""


CONTEXT_SERVER: Final = "memory"
"""A role that may have this server also gets the PromptContext text (MEMORY.md)."""


class PromptContext(Protocol):
    """Text added to the system prompt of every role that may use the memory server
    (jobs.memory.MemoryContext). `version()` is asked before each turn of such a session and
    must be cheap (a stat): when it differs from the version the CLI process was started
    with, the session is restarted by resume; `for_session()` is read at every start."""

    def version(self) -> str: ...

    async def for_session(self) -> str: ...


def gets_context(role: RoleSpec, /) -> bool:
    return CONTEXT_SERVER in role.servers


def cli_env(
    settings: Settings, *, extra: Mapping[str, str] | None = None, as_root: bool | None = None
) -> dict[str, str]:
    """The environment every Claude Code CLI process gets (merged over os.environ by the SDK).

    CLAUDE_CONFIG_DIR sits under DATA_DIR and never moves: transcripts live there, and a
    session can only be resumed from the same config dir and cwd. `extra` (tests: the fake
    model's ANTHROPIC_BASE_URL and friends) is applied last.
    """
    env = dict(_QUIET)
    env["CLAUDE_CONFIG_DIR"] = str(settings.claude_config_dir.resolve())
    env["CLAUDE_CODE_TMPDIR"] = str(cli_tmp_dir(settings).resolve())
    if settings.anthropic_api_key is not None:
        env["ANTHROPIC_API_KEY"] = settings.anthropic_api_key.get_secret_value()
    if settings.claude_code_oauth_token is not None:
        env["CLAUDE_CODE_OAUTH_TOKEN"] = settings.claude_code_oauth_token.get_secret_value()
    if settings.http_proxy:  # Claude Code sends its API requests through HTTPS_PROXY
        env["HTTPS_PROXY"] = env["HTTP_PROXY"] = settings.http_proxy
    root = (os.geteuid() == 0) if as_root is None else as_root
    if root:
        # Claude Code refuses bypassPermissions (the owner's mode) when run as root unless it
        # is told it runs in a sandbox. Containers and CI often run as root; the Docker image
        # runs Jobs as a normal user, where the CLI's own check stays in force.
        env["IS_SANDBOX"] = "1"
    env.update(extra or {})
    return env


def cli_tmp_dir(settings: Settings) -> Path:
    """Where the CLI keeps temporary files (else it litters the system temp dir)."""
    return settings.data_dir / "tmp" / "claude"


def people_dir(settings: Settings) -> Path:
    """Parent of the empty per-person folders external sessions run in."""
    return settings.data_dir / "people"


def session_cwd(role: RoleSpec, *, workspace: Path, people: Path, person_id: int | None) -> Path:
    """The working directory of a session: the workspace, or the person's own empty folder."""
    if not role.isolated_cwd:
        return workspace.resolve()
    if person_id is None:
        raise ValueError(f"a {role.name} session needs the person it serves")
    return (people / str(person_id)).resolve()


def build_options(  # noqa: PLR0913 - one keyword per option group, each named at the call
    role: RoleSpec,
    *,
    cwd: Path,
    resume: str | None,
    servers: Mapping[str, McpServerConfig],
    mcp_tools: Iterable[str],
    env: Mapping[str, str],
    hooks: HookMap | None,
    stderr: Callable[[str], None] | None = None,
    plugins: Sequence[SdkPluginConfig] = (),
    context: str = "",
) -> ClaudeAgentOptions:
    """ClaudeAgentOptions for one session of `role`.

    `mcp_tools` (qualified names of the servers' tools) go into allowed_tools: in default
    permission mode an MCP tool runs only if allowed there. Built-in tools are removed with
    `tools=[...]`; allowed_tools alone would leave them offered to the model. `context`
    (MEMORY.md, for roles that get it) follows the role's prompt.
    """
    builtin = None if role.builtin_tools is None else list(role.builtin_tools)
    return ClaudeAgentOptions(
        tools=builtin,
        allowed_tools=sorted(set(mcp_tools) | set(role.builtin_tools or ())),
        disallowed_tools=list(role.disallowed_builtins),
        system_prompt=_system_prompt(role, context),
        mcp_servers=dict(servers),
        permission_mode=role.permission_mode,
        setting_sources=list(role.setting_sources),
        resume=resume,
        cwd=cwd,
        env=dict(env),
        hooks=dict(hooks) if hooks else None,
        stderr=stderr,
        plugins=list(plugins),
    )


def _system_prompt(
    role: RoleSpec, context: str = ""
) -> str | SystemPromptPreset | SystemPromptCustom:
    if not context:
        if role.builtin_tools is None:
            # Claude Code's own prompt explains the tools the role keeps; ours goes after it.
            return {"type": "preset", "preset": "claude_code", "append": role.prompt}
        return role.prompt
    # snapshot=False: a resumed session takes this prompt, not the one recorded at its first
    # request (the CLI's default), so a changed MEMORY.md reaches it.
    prompt = f"{role.prompt}\n\n{context}"
    if role.builtin_tools is None:
        return {"type": "preset", "preset": "claude_code", "append": prompt, "snapshot": False}
    return {"type": "custom", "prompt": prompt, "snapshot": False}
