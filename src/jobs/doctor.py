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
from typing import Final

from jobs.config import Settings
from jobs.errors import BrowserDown
from jobs.i18n.translator import Translator, english, gettext_noop
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


CheckFn = Callable[[Settings, Translator], Awaitable[Check]]
"""A check; its detail and fix in the Translator's language (a name is translated when shown)."""

# The checks' names: identifiers in code and tests, translated when `render` shows them.
TELEGRAM_CONFIG: Final = gettext_noop("telegram config")
DATA_DIRS: Final = gettext_noop("data dirs")
TELEGRAM_SESSION: Final = gettext_noop("telegram session")
OWNER_CHAT: Final = gettext_noop("owner chat")
CLAUDE_AUTH: Final = gettext_noop("claude auth")
CLAUDE_CLI: Final = gettext_noop("claude cli")
OPENAI: Final = gettext_noop("openai")
MEMORY_SEARCH: Final = gettext_noop("memory search")
BROWSER: Final = gettext_noop("browser")
COMPANION_BOT: Final = gettext_noop("companion bot")
NODE: Final = gettext_noop("node")


async def check_telegram_config(settings: Settings, t: Translator | None = None) -> Check:
    t = t or english()
    missing = settings.missing_telegram()
    if missing:
        return Check(
            TELEGRAM_CONFIG,
            Status.MISSING,
            t.gettext("{names} not set", names=", ".join(missing)),
            t.gettext(
                "Run `jobs login`: it asks for TG_API_ID/TG_API_HASH (from "
                "https://my.telegram.org) and finds TG_USER_ID, and saves them in {file}",
                file=settings.jobs_home / ".env",
            ),
        )
    return Check(
        TELEGRAM_CONFIG,
        Status.OK,
        t.gettext(
            "api id {api_id}, owner {owner}", api_id=settings.tg_api_id, owner=settings.tg_user_id
        ),
    )


async def check_writable_dirs(settings: Settings, t: Translator | None = None) -> Check:
    t = t or english()
    bad = [
        f"{path} ({why})"
        for path in (settings.data_dir, settings.workspace_dir)
        if (why := _not_writable(path))
    ]
    if bad:
        return Check(
            DATA_DIRS,
            Status.MISSING,
            t.gettext("not writable: {folders}", folders="; ".join(bad)),
            t.gettext("Create them or set DATA_DIR / WORKSPACE_DIR to writable folders"),
        )
    later = [str(p) for p in (settings.data_dir, settings.workspace_dir) if not p.exists()]
    note = (
        t.gettext(" ({folders} made by the first `jobs run`)", folders=", ".join(later))
        if later
        else ""
    )
    return Check(
        DATA_DIRS,
        Status.OK,
        t.gettext(
            "home {home}: {data}, {workspace}{note}",
            home=settings.jobs_home,
            data=settings.data_dir,
            workspace=settings.workspace_dir,
            note=note,
        ),
    )


def _not_writable(path: Path) -> str:
    """Why `path` (or, while it does not exist, the folder it would be made in) cannot be
    written; "" when it can. Makes nothing: doctor only looks."""
    existing = next(p for p in (path, *path.parents) if p.exists())
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".doctor-"):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return ""


async def check_telegram_session(settings: Settings, t: Translator | None = None) -> Check:
    t = t or english()
    if settings.tg_session_is_string:
        return Check(
            TELEGRAM_SESSION,
            Status.OK,
            t.gettext(
                "StringSession given in TG_SESSION (imported into the session file at start)"
            ),
        )
    path = settings.telethon_session_path
    state = inspect_session(path)
    if state is SessionState.AUTHORISED_KEY:
        return Check(TELEGRAM_SESSION, Status.OK, str(path))
    fixes = {
        SessionState.MISSING: t.gettext("Run `jobs login` once to log in to Telegram"),
        SessionState.EMPTY: t.gettext("The login was not finished: run `jobs login`"),
        SessionState.CORRUPT: t.gettext(
            "The file is damaged: move {path} away and run `jobs login`", path=path
        ),
    }
    return Check(TELEGRAM_SESSION, Status.MISSING, f"{path}: {state.value}", fixes[state])


async def check_owner_chat(settings: Settings, t: Translator | None = None) -> Check:
    """In an account of its own, Jobs can write to its owner only once it has met them."""
    t = t or english()
    state, me = owner_peer_on_disk(settings)
    if state is OwnerPeer.NOT_YET:
        return Check(OWNER_CHAT, Status.OK, t.gettext("checked when `jobs run` first connects"))
    if state is OwnerPeer.OWN_ACCOUNT:
        return Check(
            OWNER_CHAT, Status.OK, t.gettext("Jobs runs in your own account (Saved Messages)")
        )
    if state is OwnerPeer.KNOWN:
        return Check(
            OWNER_CHAT,
            Status.OK,
            t.gettext(
                "this account ({me}) can write to you ({owner})", me=me, owner=settings.tg_user_id
            ),
        )
    return Check(
        OWNER_CHAT,
        Status.WARN,
        t.gettext(
            "this account ({me}) has never met you (TG_USER_ID={owner}), so Telegram does not "
            "let it write to you: announcements, reports and notices wait",
            me=me,
            owner=settings.tg_user_id,
        ),
        t.gettext(
            "From your own account, write any message to this account once (the session file "
            "records it when `jobs run` next stops)"
        ),
    )


async def check_claude_auth(settings: Settings, t: Translator | None = None) -> Check:
    t = t or english()
    if settings.anthropic_api_key or settings.claude_code_oauth_token:
        which = "ANTHROPIC_API_KEY" if settings.anthropic_api_key else "CLAUDE_CODE_OAUTH_TOKEN"
        return Check(CLAUDE_AUTH, Status.OK, t.gettext("{name} set", name=which))
    for credentials in (
        settings.claude_config_dir / ".credentials.json",
        Path.home() / ".claude" / ".credentials.json",
    ):
        if credentials.exists():
            return Check(
                CLAUDE_AUTH,
                Status.OK,
                t.gettext("Claude Code login in {folder}", folder=credentials.parent),
            )
    return Check(
        CLAUDE_AUTH,
        Status.MISSING,
        t.gettext("no API key and no Claude Code login"),
        t.gettext("Run `jobs login` (it can run `claude setup-token`), or set ANTHROPIC_API_KEY"),
    )


async def check_claude_cli(settings: Settings, t: Translator | None = None) -> Check:
    t = t or english()
    import claude_agent_sdk  # the SDK ships the CLI binary inside its wheel

    bundled = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    if bundled.exists() and os.access(bundled, os.X_OK):
        return Check(
            CLAUDE_CLI,
            Status.OK,
            t.gettext(
                "bundled with claude-agent-sdk {version}", version=claude_agent_sdk.__version__
            ),
        )
    found = shutil.which("claude")
    if found:
        return Check(CLAUDE_CLI, Status.OK, found)
    return Check(
        CLAUDE_CLI,
        Status.MISSING,
        t.gettext("the Claude Code CLI was not found"),
        t.gettext("Reinstall Jobs (./scripts/run installs claude-agent-sdk with its CLI)"),
    )


async def check_openai(settings: Settings, t: Translator | None = None) -> Check:
    t = t or english()
    if settings.openai_api_key or settings.openai_base_url:
        return Check(
            OPENAI, Status.OK, t.gettext("voice transcription and vector memory search on")
        )
    return Check(
        OPENAI,
        Status.OPTIONAL,
        t.gettext("voice notes and vector search are off"),
        t.gettext("Set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server) to turn them on"),
    )


def _has_fts5() -> bool:
    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as probe:
            probe.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")  # i18n: skip
    except sqlite3.OperationalError:
        return False
    return True


async def check_memory_vectors(settings: Settings, t: Translator | None = None) -> Check:
    t = t or english()
    if not _has_fts5():
        return Check(
            MEMORY_SEARCH,
            Status.MISSING,
            t.gettext(
                "this Python's SQLite {version} has no FTS5: memory cannot be indexed",
                version=sqlite3.sqlite_version,
            ),
            t.gettext(
                "Use a Python whose sqlite3 includes FTS5 (python.org, Debian and Docker builds do)"
            ),
        )
    if settings.openai_api_key or settings.openai_base_url:
        where = settings.openai_base_url or "api.openai.com"
        return Check(
            MEMORY_SEARCH,
            Status.OK,
            t.gettext("keywords (FTS5) and vectors via {where}", where=where),
        )
    return Check(
        MEMORY_SEARCH,
        Status.OPTIONAL,
        t.gettext(
            "keywords only (FTS5): vectors are off, so search does not find things said in other "
            "words"
        ),
        t.gettext(
            "Set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server such as Ollama "
            "(with MEMORY_EMBEDDING_MODEL, e.g. nomic-embed-text)"
        ),
    )


async def check_browser(settings: Settings, t: Translator | None = None) -> Check:
    t = t or english()
    from jobs.extensions.browser import (
        BrowserConfig,
        find_playwright_mcp,
        start_command,
        token_file,
    )
    from jobs.extensions.browser_health import cdp_version

    if not settings.browser_cdp_url:
        return Check(
            BROWSER,
            Status.OPTIONAL,
            t.gettext("BROWSER_CDP_URL not set: no browser tools"),
            t.gettext(
                "Start the browser service ({command}) and set BROWSER_CDP_URL",
                command=start_command(),
            ),
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
            BROWSER,
            Status.WARN,
            t.gettext(
                "no browser answers at {url}: {error}; the owner's browser tools will fail until "
                "it does",
                url=settings.browser_cdp_url,
                error=exc,
            ),
            t.gettext(
                "Start the browser service ({command}) or fix BROWSER_CDP_URL "
                "(and BROWSER_TOKEN_FILE)",
                command=start_command(),
            ),
        )
    if find_playwright_mcp() is None:
        return Check(
            BROWSER,
            Status.WARN,
            t.gettext(
                "{browser} answers, but the Playwright MCP server is not installed",
                browser=browser,
            ),
            t.gettext("Run `npm ci` in browser/ (scripts/install does it)"),
        )
    return Check(
        BROWSER,
        Status.OK,
        t.gettext("{browser} at {url}", browser=browser, url=settings.browser_cdp_url),
    )


async def check_companion_bot(settings: Settings, t: Translator | None = None) -> Check:
    """TG_BOT_TOKEN: approval cards with buttons (its shape is checked with the settings)."""
    t = t or english()
    if settings.tg_bot_token is None:
        return Check(
            COMPANION_BOT,
            Status.OPTIONAL,
            t.gettext("no TG_BOT_TOKEN: approvals are answered with /approve_<code> or a reply"),
            t.gettext(
                "Create a bot with @BotFather, put its token in .env as TG_BOT_TOKEN, and press "
                "Start in the bot's chat once"
            ),
        )
    bot_id = settings.tg_bot_token.get_secret_value().split(":")[0]
    state = inspect_session(settings.data_dir / "bot.session")
    when = (
        t.gettext("logged in")
        if state is SessionState.AUTHORISED_KEY
        else t.gettext("logs in at `jobs run`")
    )
    return Check(
        COMPANION_BOT,
        Status.OK,
        t.gettext(
            "bot id {bot_id}, {when}; press Start in its chat once so it can write to you",
            bot_id=bot_id,
            when=when,
        ),
    )


async def check_node(settings: Settings, t: Translator | None = None) -> Check:
    t = t or english()
    node = shutil.which("node")
    if node:
        return Check(NODE, Status.OK, node)
    return Check(
        NODE,
        Status.OPTIONAL,
        t.gettext("node not found: no browser or npm MCP servers"),
        t.gettext("Install Node.js 20+ (apt-get install nodejs npm)"),
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


async def run_checks(
    settings: Settings, checks: tuple[CheckFn, ...] = CHECKS, t: Translator | None = None
) -> list[Check]:
    """Every check, said in `t`'s language (default English)."""
    words = t or english()
    return [await check(settings, words) for check in checks]


def render(checks: list[Check], t: Translator | None = None) -> str:
    t = t or english()
    statuses = {status: _status_word(status, t) for status in Status}
    names = {c.name: t.later(c.name) for c in checks}
    width = max(len(name) for name in names.values())
    status_width = max(8, *(len(word) for word in statuses.values()))
    lines = []
    for c in checks:
        lines.append(f"{statuses[c.status]:>{status_width}}  {names[c.name]:<{width}}  {c.detail}")
        if c.fix and c.status is not Status.OK:
            lines.append(f"{'':>{status_width}}  {'':<{width}}  → {c.fix}")
    verdict = (
        t.gettext(
            "Jobs cannot run yet: fix the '{missing}' lines above.",
            missing=statuses[Status.MISSING],
        )
        if any(c.blocking for c in checks)
        else t.gettext("Jobs is ready to run.")
    )
    return "\n".join([*lines, "", verdict])


def _status_word(status: Status, t: Translator) -> str:
    words = {
        Status.OK: t.pgettext("doctor status", "ok"),
        Status.MISSING: t.pgettext("doctor status", "missing"),
        Status.OPTIONAL: t.pgettext("doctor status", "optional"),
        Status.WARN: t.pgettext("doctor status", "warn"),
    }
    return words[status]
