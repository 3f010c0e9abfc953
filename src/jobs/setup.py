"""First-run setup: ask for what is missing, save it to .env, log in to Telegram and Claude."""

from __future__ import annotations

import getpass
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from jobs.config import Settings, load_settings
from jobs.doctor import Status, check_claude_auth
from jobs.errors import ConfigError
from jobs.telegram.client import Account, export_string_session, login, make_client

Ask = Callable[[str], str]

_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def save_env(path: Path, values: dict[str, str]) -> None:
    """Set keys in a .env file, keeping every other line; the file is private (0600)."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    remaining = dict(values)
    out = []
    for line in lines:
        match = _ENV_LINE.match(line)
        if match and match.group(1) in remaining:
            name = match.group(1)
            out.append(f"{name}={remaining.pop(name)}")
        else:
            out.append(line)
    out += [f"{name}={value}" for name, value in remaining.items()]
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def ask_telegram_settings(settings: Settings, env_file: Path, ask: Ask) -> Settings:
    """Prompt for TG_API_ID / TG_API_HASH / TG_USER_ID when missing, validate, save."""
    missing = settings.missing_telegram()
    if not missing:
        return settings
    print("Jobs needs your Telegram application (create one at https://my.telegram.org).")
    questions = {
        "TG_API_ID": "api_id (a number): ",
        "TG_API_HASH": "api_hash (32 hex characters): ",
        "TG_USER_ID": "your own numeric Telegram user id (the owner): ",
    }
    answers = {name: ask(questions[name]).strip() for name in missing}
    fields = {name.lower(): value for name, value in answers.items()}
    updated = load_settings(env_file if env_file.exists() else None, **fields)
    save_env(env_file, answers)
    print(f"Saved to {env_file}.")
    return updated


async def telegram_login(settings: Settings, *, ask: Ask, print_session: bool) -> Account:
    client = make_client(settings)
    try:
        await client.connect()
        if await client.is_user_authorized():
            me = await client.get_me()
            account = Account(
                int(me.id), me.first_name or "", me.username, int(me.id) == settings.tg_user_id
            )
        else:
            account = await login(client, settings, ask=ask, ask_secret=getpass.getpass)
        if print_session:
            print("\nStringSession (a full login to your account: keep it secret):\n")
            print(export_string_session(client))
    finally:
        await client.disconnect()
    mode = (
        "your own account: talk to Jobs in Saved Messages"
        if account.is_owner_account
        else "a dedicated assistant account: message it from your own account"
    )
    print(f"Logged in to Telegram as {account.name} (id {account.user_id}), {mode}.")
    return account


async def claude_auth(settings: Settings, env_file: Path, ask: Ask) -> None:
    """Make sure the Claude CLI can authenticate: an API key or a `claude setup-token` token."""
    if (await check_claude_auth(settings)).status is Status.OK:
        return
    print(
        "\nJobs needs access to Claude. Choose one:\n"
        "  1. paste an Anthropic API key (console.anthropic.com)\n"
        "  2. log in with your Claude subscription (runs `claude setup-token`)"
    )
    choice = ask("1 or 2: ").strip()
    if choice == "1":
        key = getpass.getpass("Anthropic API key: ").strip()
        if not key.startswith("sk-"):
            raise ConfigError(
                "That does not look like an Anthropic API key (sk-…).", variable="ANTHROPIC_API_KEY"
            )
        save_env(env_file, {"ANTHROPIC_API_KEY": key})
    elif choice == "2":
        _run_setup_token(settings)
        token = getpass.getpass("Paste the token it printed: ").strip()
        if not token:
            raise ConfigError("No token given.", variable="CLAUDE_CODE_OAUTH_TOKEN")
        save_env(env_file, {"CLAUDE_CODE_OAUTH_TOKEN": token})
    else:
        raise ConfigError("Claude auth was not set up: run `jobs login` again.")
    print(f"Saved to {env_file}.")


def _run_setup_token(settings: Settings) -> None:
    import claude_agent_sdk  # its wheel ships the Claude Code CLI

    cli = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(settings.claude_config_dir)}
    settings.claude_config_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(cli), "setup-token"], env=env, check=False
    )  # the CLI shipped in the SDK's wheel
