"""The `jobs` command: parse arguments, load settings, set up logging, hand over to the app."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from jobs import __version__
from jobs.config import Settings, load_settings
from jobs.errors import JobsError
from jobs.logs import configure_logging

Command = Callable[[Settings, argparse.Namespace], int]


def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.doctor import render, run_checks

    checks = asyncio.run(run_checks(settings))
    print(render(checks))
    return 1 if any(c.blocking for c in checks) else 0


COMMANDS: dict[str, tuple[Command, str]] = {
    "doctor": (_doctor, "check configuration, Telegram login, Claude auth and the browser"),
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
        sub.add_parser(name, help=help_text, description=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.env_file if args.env_file.exists() else None)
    except JobsError as exc:
        print(f"jobs: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, _secrets(settings))
    command, _ = COMMANDS[args.command]
    try:
        return command(settings, args)
    except JobsError as exc:
        print(f"jobs: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _secrets(settings: Settings) -> list[str]:
    values = (
        settings.tg_api_hash,
        settings.tg_session,
        settings.anthropic_api_key,
        settings.openai_api_key,
        settings.claude_code_oauth_token,
    )
    return [v.get_secret_value() for v in values if v is not None]
