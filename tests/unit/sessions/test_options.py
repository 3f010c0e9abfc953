from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import HookMatcher

from jobs.config import Settings, load_settings
from jobs.sessions import SessionSettings
from jobs.sessions.options import (
    build_options,
    cli_env,
    cli_settings,
    people_dir,
    session_cwd,
    stop_hooks,
)
from jobs.sessions.roles import EXTERNAL, OWNER


def settings(tmp_path: Path, **values: Any) -> Settings:
    return load_settings(None, data_dir=tmp_path / "data", workspace_dir=tmp_path / "ws", **values)


def test_cli_env_paths_and_quiet_flags(tmp_path: Path) -> None:
    env = cli_env(settings(tmp_path), as_root=False)
    assert env["CLAUDE_CONFIG_DIR"] == str((tmp_path / "data" / "claude").resolve())
    assert env["CLAUDE_CODE_TMPDIR"].startswith(str((tmp_path / "data").resolve()))
    for flag in ("DISABLE_TELEMETRY", "DISABLE_AUTOUPDATER", "DISABLE_ERROR_REPORTING"):
        assert env[flag] == "1"
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert "IS_SANDBOX" not in env
    assert "ANTHROPIC_API_KEY" not in env and "CLAUDE_CODE_OAUTH_TOKEN" not in env


def test_cli_env_credentials_root_and_extra(tmp_path: Path) -> None:
    configured = settings(tmp_path, anthropic_api_key="sk-a", claude_code_oauth_token="tok")
    env = cli_env(configured, extra={"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}, as_root=True)
    # The key is no process's environment: the CLI's children (Bash, MCP servers, plugins)
    # would inherit it. Claude Code keeps the OAuth token from its children itself.
    assert "ANTHROPIC_API_KEY" not in env and env["CLAUDE_CODE_OAUTH_TOKEN"] == "tok"
    assert env["IS_SANDBOX"] == "1"
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"


def test_the_api_key_is_read_by_a_helper_from_a_private_file(tmp_path: Path) -> None:
    assert cli_settings(settings(tmp_path)) is None
    made = cli_settings(settings(tmp_path, anthropic_api_key="sk-ant-secret"))
    assert made is not None and "sk-ant-secret" not in made
    helper = json.loads(made)["apiKeyHelper"]
    key_file = tmp_path / "data" / "run" / "anthropic-key"
    assert helper == f"cat {key_file.resolve()}"
    assert key_file.read_text() == "sk-ant-secret" and key_file.stat().st_mode & 0o777 == 0o600
    assert subprocess.run(helper, shell=True, capture_output=True, text=True).stdout == (
        "sk-ant-secret"
    )


def test_session_cwd(tmp_path: Path) -> None:
    people = people_dir(settings(tmp_path))
    assert people == tmp_path / "data" / "people"
    assert (
        session_cwd(OWNER, workspace=tmp_path / "ws", people=people, person_id=None)
        == (tmp_path / "ws").resolve()
    )
    assert (
        session_cwd(EXTERNAL, workspace=tmp_path / "ws", people=people, person_id=7)
        == (people / "7").resolve()
    )
    with pytest.raises(ValueError, match="needs the person"):
        session_cwd(EXTERNAL, workspace=tmp_path, people=people, person_id=None)


def test_external_options_have_no_builtins_and_no_settings(tmp_path: Path) -> None:
    hooks = {"PreToolUse": [HookMatcher(matcher=None, hooks=[])]}
    options = build_options(
        EXTERNAL,
        cwd=tmp_path,
        resume="abc",
        servers={},
        mcp_tools=["mcp__tasks__get_my_tasks"],
        env={"X": "1"},
        hooks=hooks,  # type: ignore[arg-type]
    )
    assert options.tools == []
    assert options.allowed_tools == ["mcp__tasks__get_my_tasks"]
    assert options.setting_sources == []
    assert options.permission_mode == "default"
    assert options.system_prompt == EXTERNAL.prompt
    assert options.resume == "abc" and options.cwd == tmp_path and options.env == {"X": "1"}
    assert options.hooks == hooks


def test_owner_options_keep_claude_code(tmp_path: Path) -> None:
    options = build_options(
        OWNER, cwd=tmp_path, resume=None, servers={}, mcp_tools=[], env={}, hooks=None
    )
    assert options.tools is None
    assert options.permission_mode == "bypassPermissions"
    assert options.setting_sources == []  # nothing is ever loaded from a folder
    assert options.system_prompt == {
        "type": "preset",
        "preset": "claude_code",
        "append": OWNER.prompt,
    }
    assert options.hooks is None


def test_session_settings_from_settings(tmp_path: Path) -> None:
    configured = settings(tmp_path, max_live_sessions=2, query_timeout_seconds=12)
    derived = SessionSettings.from_settings(configured, extra_env={"API_TIMEOUT_MS": "5"})
    assert derived.workspace_dir == tmp_path / "ws"
    assert derived.people_dir == tmp_path / "data" / "people"
    assert (derived.max_live, derived.turn_timeout) == (2, 12)
    assert derived.env["API_TIMEOUT_MS"] == "5" and "CLAUDE_CONFIG_DIR" in derived.env


def _with_plugin(tmp_path: Path, files: dict[str, object]) -> Any:
    """Owner options with one plugin holding `files` (JSON unless a str)."""
    root = tmp_path / "plugin"
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    root.mkdir(exist_ok=True)
    return build_options(
        OWNER,
        cwd=tmp_path,
        resume=None,
        servers={},
        mcp_tools=(),
        env={},
        hooks=None,
        plugins=[{"type": "local", "path": str(root)}],
    )


STOP = {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]}
LATER = {"PostToolUse": [{"hooks": [{"type": "command", "command": "true"}]}]}


@pytest.mark.parametrize(
    ("files", "found"),
    [
        ({}, False),
        ({".claude-plugin/plugin.json": {"name": "p"}}, False),
        ({"hooks/hooks.json": {"hooks": LATER}}, False),
        ({"hooks/hooks.json": {"description": "d", "hooks": STOP}}, True),
        ({".claude-plugin/plugin.json": {"name": "p", "hooks": STOP}}, True),
        ({".claude-plugin/plugin.json": {"name": "p", "hooks": {"hooks": LATER}}}, False),
        (
            {
                ".claude-plugin/plugin.json": {"name": "p", "hooks": "extra.json"},
                "extra.json": {"hooks": STOP},
            },
            True,
        ),
        (
            {
                ".claude-plugin/plugin.json": {"name": "p", "hooks": ["a.json", "b.json"]},
                "a.json": {"hooks": LATER},
                "b.json": STOP,
            },
            True,
        ),
        ({"hooks/hooks.json": "{not json"}, True),  # unreadable: assume the worst
        ({"hooks/hooks.json": {"hooks": ["odd"]}}, True),
    ],
)
def test_stop_hooks_are_found_in_any_plugin_hook_file(
    tmp_path: Path, files: dict[str, object], found: bool
) -> None:
    """A Stop hook could make the CLI go on after the model's answer, so a session that
    has one never gives a plain answer back early (jobs.sessions.agent)."""
    assert stop_hooks(_with_plugin(tmp_path, files)) is found


def test_stop_hooks_of_jobs_own_and_none(tmp_path: Path) -> None:
    plain = build_options(
        OWNER, cwd=tmp_path, resume=None, servers={}, mcp_tools=(), env={}, hooks=None
    )
    assert not stop_hooks(plain)
    own = build_options(
        OWNER,
        cwd=tmp_path,
        resume=None,
        servers={},
        mcp_tools=(),
        env={},
        hooks={"Stop": [HookMatcher(matcher=None, hooks=[])]},
    )
    assert stop_hooks(own)
