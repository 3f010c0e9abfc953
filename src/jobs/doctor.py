"""`jobs doctor`: each thing Jobs needs, checked, with ok / missing / how to fix."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from jobs.config import Settings
from jobs.errors import BrowserDown
from jobs.telegram.client import OwnerPeer, owner_peer_on_disk
from jobs.telegram.sessionfile import SessionState, inspect_session


class Status(StrEnum):
    OK = "ok"
    MISSING = "missing"  # Jobs cannot run until this is fixed
    OPTIONAL = "optional"  # not set up; the feature it serves is off
    WARN = "warn"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def blocking(self) -> bool:
        return self.status is Status.MISSING


CheckFn = Callable[[Settings], Awaitable[Check]]


async def check_telegram_config(settings: Settings) -> Check:
    missing = settings.missing_telegram()
    if missing:
        return Check(
            "telegram config",
            Status.MISSING,
            f"{', '.join(missing)} not set",
            "Get TG_API_ID/TG_API_HASH at https://my.telegram.org and put them, with "
            "TG_USER_ID (your numeric id), in .env",
        )
    return Check(
        "telegram config", Status.OK, f"api id {settings.tg_api_id}, owner {settings.tg_user_id}"
    )


async def check_writable_dirs(settings: Settings) -> Check:
    bad = [
        f"{path} ({why})"
        for path in (settings.data_dir, settings.workspace_dir)
        if (why := _not_writable(path))
    ]
    if bad:
        return Check(
            "data dirs",
            Status.MISSING,
            "not writable: " + "; ".join(bad),
            "Create them or set DATA_DIR / WORKSPACE_DIR to writable folders",
        )
    return Check("data dirs", Status.OK, f"{settings.data_dir}, {settings.workspace_dir}")


def _not_writable(path: Path) -> str:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return ""


async def check_telegram_session(settings: Settings) -> Check:
    if settings.tg_session_is_string:
        return Check(
            "telegram session",
            Status.OK,
            "StringSession given in TG_SESSION (imported into the session file at start)",
        )
    path = settings.telethon_session_path
    state = inspect_session(path)
    if state is SessionState.AUTHORISED_KEY:
        return Check("telegram session", Status.OK, str(path))
    fixes = {
        SessionState.MISSING: "Run `jobs login` once to log in to Telegram",
        SessionState.EMPTY: "The login was not finished: run `jobs login`",
        SessionState.CORRUPT: f"The file is damaged: move {path} away and run `jobs login`",
    }
    return Check("telegram session", Status.MISSING, f"{path}: {state.value}", fixes[state])


async def check_owner_chat(settings: Settings) -> Check:
    """In an account of its own, Jobs can write to its owner only once it has met them."""
    state, me = owner_peer_on_disk(settings)
    if state is OwnerPeer.NOT_YET:
        return Check("owner chat", Status.OK, "checked when `jobs run` first connects")
    if state is OwnerPeer.OWN_ACCOUNT:
        return Check("owner chat", Status.OK, "Jobs runs in your own account (Saved Messages)")
    if state is OwnerPeer.KNOWN:
        return Check(
            "owner chat", Status.OK, f"this account ({me}) can write to you ({settings.tg_user_id})"
        )
    return Check(
        "owner chat",
        Status.WARN,
        f"this account ({me}) has never met you (TG_USER_ID={settings.tg_user_id}), so Telegram "
        "does not let it write to you: announcements, reports and notices wait",
        "From your own account, write any message to this account once (the session file "
        "records it when `jobs run` next stops)",
    )


async def check_claude_auth(settings: Settings) -> Check:
    if settings.anthropic_api_key or settings.claude_code_oauth_token:
        which = "ANTHROPIC_API_KEY" if settings.anthropic_api_key else "CLAUDE_CODE_OAUTH_TOKEN"
        return Check("claude auth", Status.OK, f"{which} set")
    for credentials in (
        settings.claude_config_dir / ".credentials.json",
        Path.home() / ".claude" / ".credentials.json",
    ):
        if credentials.exists():
            return Check("claude auth", Status.OK, f"Claude Code login in {credentials.parent}")
    return Check(
        "claude auth",
        Status.MISSING,
        "no API key and no Claude Code login",
        "Run `jobs login` (it can run `claude setup-token`), or set ANTHROPIC_API_KEY",
    )


async def check_claude_cli(settings: Settings) -> Check:
    import claude_agent_sdk  # the SDK ships the CLI binary inside its wheel

    bundled = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    if bundled.exists() and os.access(bundled, os.X_OK):
        return Check(
            "claude cli", Status.OK, f"bundled with claude-agent-sdk {claude_agent_sdk.__version__}"
        )
    found = shutil.which("claude")
    if found:
        return Check("claude cli", Status.OK, found)
    return Check(
        "claude cli",
        Status.MISSING,
        "the Claude Code CLI was not found",
        "Reinstall Jobs (./scripts/run installs claude-agent-sdk with its CLI)",
    )


async def check_openai(settings: Settings) -> Check:
    if settings.openai_api_key or settings.openai_base_url:
        return Check("openai", Status.OK, "voice transcription and vector memory search on")
    return Check(
        "openai",
        Status.OPTIONAL,
        "voice notes and vector search are off",
        "Set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server) to turn them on",
    )


def _has_fts5() -> bool:
    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as probe:
            probe.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
    except sqlite3.OperationalError:
        return False
    return True


async def check_memory_vectors(settings: Settings) -> Check:
    if not _has_fts5():
        return Check(
            "memory search",
            Status.MISSING,
            f"this Python's SQLite {sqlite3.sqlite_version} has no FTS5: memory cannot be indexed",
            "Use a Python whose sqlite3 includes FTS5 (python.org, Debian and Docker builds do)",
        )
    if settings.openai_api_key or settings.openai_base_url:
        where = settings.openai_base_url or "api.openai.com"
        return Check("memory search", Status.OK, f"keywords (FTS5) and vectors via {where}")
    return Check(
        "memory search",
        Status.OPTIONAL,
        "keywords only (FTS5): vectors are off, so search does not find things said in other words",
        "Set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server such as Ollama "
        "(with MEMORY_EMBEDDING_MODEL, e.g. nomic-embed-text)",
    )


async def check_browser(settings: Settings) -> Check:
    from jobs.extensions.browser import (
        BrowserConfig,
        find_playwright_mcp,
        start_command,
        token_file,
    )
    from jobs.extensions.browser_health import cdp_version

    if not settings.browser_cdp_url:
        return Check(
            "browser",
            Status.OPTIONAL,
            "BROWSER_CDP_URL not set: no browser tools",
            f"Start the browser service ({start_command()}) and set BROWSER_CDP_URL",
        )
    config = BrowserConfig(
        cdp_url=settings.browser_cdp_url,
        mcp_command=(),
        output_dir=settings.workspace_dir,
        token_file=token_file(settings.browser_token_file),
    )
    try:
        browser = await cdp_version(config)
    except BrowserDown as exc:
        return Check(
            "browser",
            Status.WARN,
            f"no browser answers at {settings.browser_cdp_url}: {exc}; the owner's browser "
            "tools will fail until it does",
            f"Start the browser service ({start_command()}) or fix BROWSER_CDP_URL "
            "(and BROWSER_TOKEN_FILE)",
        )
    if find_playwright_mcp() is None:
        return Check(
            "browser",
            Status.WARN,
            f"{browser} answers, but the Playwright MCP server is not installed",
            "Run `npm ci` in browser/ (scripts/install does it)",
        )
    return Check("browser", Status.OK, f"{browser} at {settings.browser_cdp_url}")


async def check_companion_bot(settings: Settings) -> Check:
    """TG_BOT_TOKEN: approval cards with buttons (its shape is checked with the settings)."""
    if settings.tg_bot_token is None:
        return Check(
            "companion bot",
            Status.OPTIONAL,
            "no TG_BOT_TOKEN: approvals are answered with /approve_<code> or a reply",
            "Create a bot with @BotFather, put its token in .env as TG_BOT_TOKEN, and press "
            "Start in the bot's chat once",
        )
    bot_id = settings.tg_bot_token.get_secret_value().split(":")[0]
    state = inspect_session(settings.data_dir / "bot.session")
    when = "logged in" if state is SessionState.AUTHORISED_KEY else "logs in at `jobs run`"
    return Check(
        "companion bot",
        Status.OK,
        f"bot id {bot_id}, {when}; press Start in its chat once so it can write to you",
    )


async def check_node(settings: Settings) -> Check:
    node = shutil.which("node")
    if node:
        return Check("node", Status.OK, node)
    return Check(
        "node",
        Status.OPTIONAL,
        "node not found: no browser or npm MCP servers",
        "Install Node.js 20+ (apt-get install nodejs npm)",
    )


CHECKS: tuple[CheckFn, ...] = (
    check_telegram_config,
    check_writable_dirs,
    check_telegram_session,
    check_owner_chat,
    check_claude_auth,
    check_claude_cli,
    check_openai,
    check_memory_vectors,
    check_browser,
    check_companion_bot,
    check_node,
)


async def run_checks(settings: Settings, checks: tuple[CheckFn, ...] = CHECKS) -> list[Check]:
    return [await check(settings) for check in checks]


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{c.status.value:>8}  {c.name:<{width}}  {c.detail}")
        if c.fix and c.status is not Status.OK:
            lines.append(f"{'':>8}  {'':<{width}}  → {c.fix}")
    verdict = (
        "Jobs cannot run yet: fix the 'missing' lines above."
        if any(c.blocking for c in checks)
        else "Jobs is ready to run."
    )
    return "\n".join([*lines, "", verdict])
