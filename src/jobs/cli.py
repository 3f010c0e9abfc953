"""The `jobs` command: parse arguments, load settings, set up logging, hand over to the command.

Anything a person can cause ends in one line `jobs: …` and an exit code (`JobsError.exit_code`:
1 an error, 2 a bad setting, 69 Telegram unreachable, 130 stopped at a question), never a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path

from jobs import __version__
from jobs.config import Settings, default_env_file, load_settings
from jobs.errors import JobsError
from jobs.home import set_private_umask
from jobs.i18n.catalogs import terminal_words
from jobs.logs import configure_logging

Command = Callable[[Settings, argparse.Namespace], int]

SECRET_VARIABLES = (
    "TG_API_HASH",
    "TG_SESSION",
    "TG_PROXY",
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
    from jobs.questions import TerminalQuestions
    from jobs.setup import first_run, wait_for_setup

    if TerminalQuestions.available():
        questions = TerminalQuestions(words=terminal_words(settings.owner_language, os.environ))
        settings = asyncio.run(first_run(settings, args.env_file, questions))
    elif args.wait_for_login:
        settings = asyncio.run(wait_for_setup(settings, args.env_file))
    scrub_environment(os.environ)
    return asyncio.run(run_telegram(settings))


def _login(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.questions import TerminalQuestions
    from jobs.setup import claude_auth, setup_telegram

    if not TerminalQuestions.available():
        raise JobsError(
            "jobs login asks questions, so it needs a terminal (with Docker: "
            "docker compose run --rm jobs jobs login)."
        )

    async def login() -> None:
        questions = TerminalQuestions(words=terminal_words(settings.owner_language, os.environ))
        done = await setup_telegram(
            settings, args.env_file, questions, print_session=args.print_session
        )
        await claude_auth(done, args.env_file, questions)

    asyncio.run(login())
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


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.backup import describe, verify_backup, write_backup
    from jobs.clock import utc_now

    write_backup(settings, args.file, now=utc_now())
    print(f"Backed up to {args.file} (keep it safe: it holds your Telegram login).")
    if args.verify:
        print(f"Verified: {describe(verify_backup(args.file))}.")
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.backup import describe
    from jobs.clock import utc_now
    from jobs.restore import restore_backup

    done = restore_backup(settings, args.file, now=utc_now())
    print(f"Restored {describe(done.verified)}")
    print(f"into {settings.data_dir} and {settings.workspace_dir}.")
    for kept in done.kept:
        print(f"What was there before is kept in {kept}.")
    if done.settings_beside is not None:
        print(f"Your settings file stays; the backup's is beside it: {done.settings_beside}.")
    return 0


def _service(settings: Settings, args: argparse.Namespace) -> int:
    from jobs import service

    chosen = service.Service.chosen(system=args.system, user=args.user, environ=os.environ)
    if args.print:
        print(service.unit(settings, chosen), end="")
        return 0
    if args.action == "install":
        lines = service.install(settings, chosen)
    else:
        lines = service.uninstall(chosen)
    print("\n".join(lines))
    return 0


def _health(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.healthcheck import check_health

    code, line = check_health(settings)
    print(line, file=sys.stdout if code == 0 else sys.stderr)
    return code


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
    "backup": (_backup, "write one archive of everything Jobs keeps (works while Jobs runs)"),
    "restore": (_restore, "put a backup in place (what it replaces is kept aside)"),
    "service": (_service, "install a systemd unit that keeps Jobs running (without Docker)"),
    "health": (_health, "ask a running Jobs whether it is healthy (GET /health on HEALTH_PORT)"),
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
        default=None,
        help="settings file to read besides the environment (default: JOBS_HOME/.env)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if (arguments := _ARGUMENTS.get(name)) is not None:
            arguments(command)
    return parser


def _run_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--wait-for-login",
        action="store_true",
        help="without a terminal and not set up yet: wait for `jobs login` instead of "
        "exiting (for Docker and service managers)",
    )


def _login_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--print-session",
        action="store_true",
        help="also print the login as a StringSession (for TG_SESSION)",
    )


def _audit_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("-n", type=_positive, default=30, help="how many entries (default: 30)")


def _browser_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("action", nargs="?", default="start", choices=("start", "health", "link"))


def _archive_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("file", type=Path, metavar="FILE", help="the archive (.tar.gz)")


def _backup_arguments(command: argparse.ArgumentParser) -> None:
    _archive_arguments(command)
    command.add_argument(
        "--verify", action="store_true", help="read the archive back and check every file"
    )


def _service_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("action", choices=("install", "uninstall"))
    command.add_argument(
        "--system", action="store_true", help="a unit for the whole machine (needs sudo)"
    )
    command.add_argument("--user", help="with --system: the user Jobs runs as (default: you)")
    command.add_argument("--print", action="store_true", help="show the unit; write nothing")


_ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "run": _run_arguments,
    "login": _login_arguments,
    "audit": _audit_arguments,
    "browser": _browser_arguments,
    "backup": _backup_arguments,
    "restore": _archive_arguments,
    "service": _service_arguments,
}


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_private_umask()  # the database, the session, uploads: nobody else's to read
    args.env_file = args.env_file or default_env_file()
    try:
        settings = load_settings(args.env_file)
    except JobsError as exc:
        print(f"jobs: {exc}", file=sys.stderr)
        return exc.exit_code
    # In `jobs chat` the log shares the screen with the conversation: warnings only, unless
    # LOG_LEVEL asks for more.
    quiet = args.command == "chat" and "log_level" not in settings.model_fields_set
    configure_logging(
        "WARNING" if quiet else settings.log_level,
        settings.secret_values(),
        json_lines=settings.log_format == "json",
    )
    command, _ = COMMANDS[args.command]
    try:
        return command(settings, args)
    except JobsError as exc:
        print(f"jobs: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("jobs: stopped (Ctrl-C)", file=sys.stderr)
        return 130
