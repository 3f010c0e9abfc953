"""The one place that builds ClaudeAgentOptions (from a RoleSpec) and the CLI's environment."""

from __future__ import annotations

import json
import os
import shlex
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


class SkillSource(Protocol):
    """The owner's skills as a plugin (jobs.extensions.skills.SkillPlugins): no session loads
    skills from a folder it runs in, only from the plugin Jobs hands it."""

    def plugin(self, names: tuple[str, ...] | None, /) -> SdkPluginConfig | None:
        """A plugin holding the named skills (None: all the owner's skills), or None when
        there is nothing to load."""


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


class PromptContext(Protocol):
    """Text added to the system prompt of every role with `context` (jobs.memory.MemoryContext).
    `version()` is asked before each turn of such a session and must be cheap (a stat): when
    it differs from the version the CLI process was started with, the session is restarted by
    resume; `for_session()` is read at every start."""

    def version(self) -> str: ...

    async def for_session(self) -> str: ...


def cli_env(
    settings: Settings, *, extra: Mapping[str, str] | None = None, as_root: bool | None = None
) -> dict[str, str]:
    """The environment every Claude Code CLI process gets (merged over os.environ by the SDK).

    CLAUDE_CONFIG_DIR sits under DATA_DIR and never moves: transcripts live there, and a
    session can only be resumed from the same config dir and cwd. `extra` (tests: the fake
    model's ANTHROPIC_BASE_URL and friends) is applied last.

    An API key is never put here: every process the CLI starts (Bash, MCP servers, plugins,
    hooks) would inherit it. The CLI reads it through `cli_settings`' apiKeyHelper instead.
    (Claude Code itself keeps CLAUDE_CODE_OAUTH_TOKEN from its children: measured.)
    """
    env = dict(_QUIET)
    env["CLAUDE_CONFIG_DIR"] = str(settings.claude_config_dir.resolve())
    env["CLAUDE_CODE_TMPDIR"] = str(cli_tmp_dir(settings).resolve())
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


def cli_settings(settings: Settings) -> str | None:
    """The CLI's `--settings` (JSON): with an API key, an apiKeyHelper that prints it from a
    0600 file under DATA_DIR, so the key is in no process environment the CLI hands down."""
    if settings.anthropic_api_key is None:
        return None
    key_file = settings.data_dir / "run" / "anthropic-key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.touch(mode=0o600, exist_ok=True)
    key_file.chmod(0o600)
    key_file.write_text(settings.anthropic_api_key.get_secret_value(), encoding="utf-8")
    helper = f"cat {shlex.quote(str(key_file.resolve()))}"
    return json.dumps({"apiKeyHelper": helper})


def cli_tmp_dir(settings: Settings) -> Path:
    """Where the CLI keeps temporary files (else it litters the system temp dir)."""
    return settings.data_dir / "tmp" / "claude"


def people_dir(settings: Settings) -> Path:
    """Parent of the empty per-person folders external sessions run in."""
    return settings.data_dir / "people"


def session_cwd(role: RoleSpec, *, workspace: Path, people: Path, person_id: int | None) -> Path:
    """The working directory of a workspace or person session (the builder places task and
    throwaway ones): the workspace, or the person's own empty folder."""
    if role.cwd == "workspace":
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
    settings: str | None = None,
    resume_at: str | None = None,
) -> ClaudeAgentOptions:
    """ClaudeAgentOptions for one session of `role`.

    `mcp_tools` (qualified names of the servers' tools) go into allowed_tools: in default
    permission mode an MCP tool runs only if allowed there. Built-in tools are removed with
    `tools=[...]`; allowed_tools alone would leave them offered to the model. `context`
    (MEMORY.md, for roles that get it) follows the role's prompt. No setting source is ever
    loaded: settings, hooks, CLAUDE.md, .mcp.json and skills in the session's folders (which
    other people's words may have shaped) are never read as instructions. `resume_at`: the
    resumed session is a fork cut after that transcript entry (jobs.sessions.rewind).
    """
    builtin = None if role.builtin_tools is None else list(role.builtin_tools)
    return ClaudeAgentOptions(
        tools=builtin,
        allowed_tools=sorted(set(mcp_tools) | set(role.builtin_tools or ())),
        disallowed_tools=list(role.disallowed_builtins),
        system_prompt=_system_prompt(role, context),
        mcp_servers=dict(servers),
        permission_mode=role.permission_mode,
        setting_sources=[],
        resume=resume,
        resume_session_at=resume_at if resume else None,
        fork_session=bool(resume and resume_at),
        cwd=cwd,
        env=dict(env),
        hooks=dict(hooks) if hooks else None,
        stderr=stderr,
        plugins=list(plugins),
        settings=settings,
        model=role.model,
        fallback_model=role.fallback_model,
        include_partial_messages=True,  # the reply is shown while it is written (stream.py)
    )


def stop_hooks(options: ClaudeAgentOptions, /) -> bool:
    """Whether a Stop hook may make the CLI go on after the model's answer: one of Jobs' own,
    or one a plugin declares (hooks/hooks.json, or its plugin.json's `hooks`). A plugin whose
    hook files cannot be read counts as having one."""
    if "Stop" in (options.hooks or {}):
        return True
    for plugin in options.plugins:
        root = Path(plugin["path"])
        try:
            if _declares_stop(root):
                return True
        except (OSError, ValueError):
            return True
    return False


def _declares_stop(root: Path) -> bool:
    files = [root / "hooks" / "hooks.json"]
    manifest = root / ".claude-plugin" / "plugin.json"
    if manifest.is_file():
        declared = json.loads(manifest.read_bytes()).get("hooks")
        if isinstance(declared, str):
            files.append(root / declared)
        elif isinstance(declared, list):
            files.extend(root / str(entry) for entry in declared)
        elif declared is not None and _names_stop(declared):
            return True
    return any(path.is_file() and _names_stop(json.loads(path.read_bytes())) for path in files)


def _names_stop(config: object) -> bool:
    """A hooks config ({"hooks": {event: …}} or {event: …}) with a Stop event; an
    unexpected shape counts as one."""
    if not isinstance(config, dict):
        return True
    events = config.get("hooks", config)
    return not isinstance(events, dict) or "Stop" in events


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
