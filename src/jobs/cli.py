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
from jobs.i18n.translator import Translator, english, gettext_noop
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
        t = terminal_words(settings.owner_language, os.environ)
        said = t.gettext(
            "jobs: no database at {path} yet (jobs run creates it)", path=settings.db_path
        )
        print(said, file=sys.stderr)
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

    t = terminal_words(settings.owner_language, os.environ)
    write_backup(settings, args.file, now=utc_now())
    print(
        t.gettext(
            "Backed up to {file} (keep it safe: it holds your Telegram login).", file=args.file
        )
    )
    if args.verify:
        print(t.gettext("Verified: {what}.", what=describe(verify_backup(args.file), t)))
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.backup import describe
    from jobs.clock import utc_now
    from jobs.restore import restore_backup

    t = terminal_words(settings.owner_language, os.environ)
    done = restore_backup(settings, args.file, now=utc_now())
    print(t.gettext("Restored {what}", what=describe(done.verified, t)))
    print(
        t.gettext(
            "into {data} and {workspace}.", data=settings.data_dir, workspace=settings.workspace_dir
        )
    )
    for kept in done.kept:
        print(t.gettext("What was there before is kept in {folder}.", folder=kept))
    if done.settings_beside is not None:
        print(
            t.gettext(
                "Your settings file stays; the backup's is beside it: {file}.",
                file=done.settings_beside,
            )
        )
    return 0


def _service(settings: Settings, args: argparse.Namespace) -> int:
    from jobs import service

    chosen = service.Service.chosen(system=args.system, user=args.user, environ=os.environ)
    if args.print:
        print(service.unit(settings, chosen), end="")
        return 0
    t = terminal_words(settings.owner_language, os.environ)
    if args.action == "install":
        lines = service.install(settings, chosen, t)
    else:
        lines = service.uninstall(chosen, t)
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
        t = terminal_words(settings.owner_language, os.environ)
        said = t.gettext(
            "jobs: browser/start.sh is not in this installation; with Docker the browser is "
            "its own service (docker compose up -d browser)"
        )
        print(said, file=sys.stderr)
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
    "run": (
        _run,
        gettext_noop("run Jobs on your Telegram account (walks you through setup the first time)"),
    ),
    "login": (_login, gettext_noop("log in to Telegram (phone, code, 2FA) and set up Claude auth")),
    "chat": (_chat, gettext_noop("talk to your owner session in this terminal, without Telegram")),
    "doctor": (
        _doctor,
        gettext_noop("check configuration, Telegram login, Claude auth and the browser"),
    ),
    "audit": (
        _audit,
        gettext_noop("show the latest audit entries: every tool call, allowed or denied"),
    ),
    "browser": (
        _browser,
        gettext_noop("run the browser service here, without Docker (Chromium, noVNC)"),
    ),
    "backup": (
        _backup,
        gettext_noop("write one archive of everything Jobs keeps (works while Jobs runs)"),
    ),
    "restore": (_restore, gettext_noop("put a backup in place (what it replaces is kept aside)")),
    "service": (
        _service,
        gettext_noop("install a systemd unit that keeps Jobs running (without Docker)"),
    ),
    "health": (
        _health,
        gettext_noop("ask a running Jobs whether it is healthy (GET /health on HEALTH_PORT)"),
    ),
}


def build_parser(t: Translator | None = None) -> argparse.ArgumentParser:
    """The command line, its help in `t`'s words (the terminal's language: settings are not
    read yet, so only an OWNER_LANGUAGE in the environment counts here)."""
    t = t or english()
    parser = argparse.ArgumentParser(
        prog="jobs",
        description=t.gettext("Jobs: a personal AI assistant that lives in your Telegram account."),
    )
    parser.add_argument("--version", action="version", version=f"jobs {__version__}")
    parser.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help=t.gettext("settings file to read besides the environment (default: JOBS_HOME/.env)"),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=t.later(help_text), description=t.later(help_text))
        if (arguments := _ARGUMENTS.get(name)) is not None:
            arguments(command, t)
    return parser


def _run_arguments(command: argparse.ArgumentParser, t: Translator) -> None:
    command.add_argument(
        "--wait-for-login",
        action="store_true",
        help=t.gettext(
            "without a terminal and not set up yet: wait for `jobs login` instead of "
            "exiting (for Docker and service managers)"
        ),
    )


def _login_arguments(command: argparse.ArgumentParser, t: Translator) -> None:
    command.add_argument(
        "--print-session",
        action="store_true",
        help=t.gettext("also print the login as a StringSession (for TG_SESSION)"),
    )


def _audit_arguments(command: argparse.ArgumentParser, t: Translator) -> None:
    said = t.gettext("how many entries (default: 30)")
    command.add_argument("-n", type=_positive, default=30, help=said)


def _browser_arguments(command: argparse.ArgumentParser, t: Translator) -> None:
    command.add_argument("action", nargs="?", default="start", choices=("start", "health", "link"))


def _archive_arguments(command: argparse.ArgumentParser, t: Translator) -> None:
    said = t.gettext("the archive (.tar.gz)")
    command.add_argument("file", type=Path, metavar="FILE", help=said)


def _backup_arguments(command: argparse.ArgumentParser, t: Translator) -> None:
    _archive_arguments(command, t)
    said = t.gettext("read the archive back and check every file")
    command.add_argument("--verify", action="store_true", help=said)


def _service_arguments(command: argparse.ArgumentParser, t: Translator) -> None:
    command.add_argument("action", choices=("install", "uninstall"))
    said = t.gettext("a unit for the whole machine (needs sudo)")
    command.add_argument("--system", action="store_true", help=said)
    said = t.gettext("with --system: the user Jobs runs as (default: you)")
    command.add_argument("--user", help=said)
    said = t.gettext("show the unit; write nothing")
    command.add_argument("--print", action="store_true", help=said)


_ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser, Translator], None]] = {
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
    words = terminal_words(os.environ.get("OWNER_LANGUAGE"), os.environ)
    args = build_parser(words).parse_args(argv)
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
        print(words.gettext("jobs: stopped (Ctrl-C)"), file=sys.stderr)
        return 130
