"""The `jobs` command: parse arguments, load settings, set up logging, hand over to the app."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path

from jobs import __version__
from jobs.config import Settings, load_settings
from jobs.errors import JobsError
from jobs.i18n.catalogs import terminal_words
from jobs.logs import configure_logging

Command = Callable[[Settings, argparse.Namespace], int]

SECRET_VARIABLES = (
    "TG_API_HASH",
    "TG_SESSION",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "NOVNC_PASSWORD",
    "TG_BOT_TOKEN",
)
"""Read into Settings once; every child (Claude Code, its Bash, MCP servers) inherits the
environment, so they are removed from it: the CLI gets its own auth through options.env."""


def scrub_environment(environ: MutableMapping[str, str], /) -> None:
    for name in SECRET_VARIABLES:
        environ.pop(name, None)


def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.doctor import render, run_checks

    words = terminal_words(settings.owner_language, os.environ)
    checks = asyncio.run(run_checks(settings, t=words))
    print(render(checks, words))
    return 1 if any(c.blocking for c in checks) else 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.modes import run_telegram

    if sys.stdin.isatty():
        settings = _first_run_setup(settings, args)
    scrub_environment(os.environ)
    return asyncio.run(run_telegram(settings))


def _login(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.setup import ask_telegram_settings, claude_auth, telegram_login

    settings = ask_telegram_settings(settings, args.env_file, input)
    asyncio.run(telegram_login(settings, ask=input, print_session=args.print_session))
    asyncio.run(claude_auth(settings, args.env_file, input))
    return 0


def _audit(settings: Settings, args: argparse.Namespace) -> int:
    from jobs import auditlog

    if not settings.db_path.exists():
        print(f"jobs: no database at {settings.db_path} yet (jobs run creates it)", file=sys.stderr)
        return 1
    print(auditlog.render(asyncio.run(auditlog.latest(settings.db_path, args.n))))
    return 0


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.modes import run_terminal

    scrub_environment(os.environ)
    return asyncio.run(run_terminal(settings))


def _first_run_setup(settings: Settings, args: argparse.Namespace) -> Settings:
    """In a terminal, `jobs run` walks a new owner through whatever is missing."""
    from jobs.doctor import check_claude_auth, check_telegram_session
    from jobs.setup import ask_telegram_settings, claude_auth, telegram_login

    settings = ask_telegram_settings(settings, args.env_file, input)
    if (asyncio.run(check_telegram_session(settings))).blocking:
        asyncio.run(telegram_login(settings, ask=input, print_session=False))
    if (asyncio.run(check_claude_auth(settings))).blocking:
        asyncio.run(claude_auth(settings, args.env_file, input))
        settings = load_settings(args.env_file)
    return settings


def _browser(settings: Settings, args: argparse.Namespace) -> int:  # noqa: RET503 - exec
    from jobs.extensions.browser import start_script

    script = start_script()
    if script is None:
        print(
            "jobs: browser/start.sh is not in this installation; with Docker the browser is "
            "its own service (docker compose up -d browser)",
            file=sys.stderr,
        )
        return 1
    # The settings both sides read (from .env too): the script writes the token and the
    # downloads where Jobs looks for them, and uses the same viewer address and password.
    env = dict(os.environ)
    shared = {
        "BROWSER_TOKEN_FILE": settings.browser_token_file,
        "BROWSER_DOWNLOADS_DIR": settings.browser_downloads_dir,
        "NOVNC_URL": settings.novnc_url,
        "NOVNC_PASSWORD": settings.novnc_password.get_secret_value()
        if settings.novnc_password
        else None,
    }
    env.update({name: str(value) for name, value in shared.items() if value is not None})
    # Replaces this process, so signals (docker stop, Ctrl-C) reach the script itself.
    os.execvpe("bash", ["bash", str(script), args.action], env)


COMMANDS: dict[str, tuple[Command, str]] = {
    "run": (_run, "run Jobs on your Telegram account (walks you through setup the first time)"),
    "login": (_login, "log in to Telegram (phone, code, 2FA) and set up Claude auth"),
    "chat": (_chat, "talk to your owner session in this terminal, without Telegram"),
    "doctor": (_doctor, "check configuration, Telegram login, Claude auth and the browser"),
    "audit": (_audit, "show the latest audit entries: every tool call, allowed or denied"),
    "browser": (_browser, "run the browser service here, without Docker (Chromium, noVNC)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobs",
        description="Jobs: a personal AI assistant that lives in your Telegram account.",
    )
    parser.add_argument("--version", action="version", version=f"jobs {__version__}")
    parser.add_argument(
        "--env-file",
        type=Path,
        default=Path(".env"),
        help="settings file to read besides the environment (default: .env)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == "browser":
            command.add_argument(
                "action", nargs="?", default="start", choices=("start", "health", "link")
            )
        if name == "audit":
            command.add_argument(
                "-n", type=_positive, default=30, help="how many entries (default: 30)"
            )
        if name == "login":
            command.add_argument(
                "--print-session",
                action="store_true",
                help="also print the login as a StringSession (for TG_SESSION)",
            )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.env_file if args.env_file.exists() else None)
    except JobsError as exc:
        print(f"jobs: {exc}", file=sys.stderr)
        return 2
    configure_logging(
        settings.log_level, settings.secret_values(), json_lines=settings.log_format == "json"
    )
    command, _ = COMMANDS[args.command]
    try:
        return command(settings, args)
    except JobsError as exc:
        print(f"jobs: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
