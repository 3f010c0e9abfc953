"""First-run setup and `jobs login`: ask for what is missing (each answer checked and saved to
.env as it is given), log in to Telegram, find the owner, set up Claude access."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import subprocess
from pathlib import Path
from typing import Final

from jobs.config import Settings, load_settings
from jobs.doctor import Status, check_claude_auth, check_telegram_session
from jobs.errors import Cancelled, ConfigError
from jobs.healthcheck import not_set_up
from jobs.home import private_dir, private_file
from jobs.i18n.translator import Translator
from jobs.questions import Questions
from jobs.telegram.client import account_of, connect, export_string_session, make_client
from jobs.telegram.login import find_owner, log_in

logger = logging.getLogger(__name__)

WAIT_SECONDS: Final = 5.0
"""How often a `jobs run --wait-for-login` looks for the login."""
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def save_env(path: Path, values: dict[str, str]) -> None:
    """Set keys in a .env file, keeping every other line; the file is private (0600)."""
    if not path.parent.exists():
        private_dir(path.parent)  # a new Jobs home
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
    private_file(path)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def api_id_shape(answer: str, t: Translator) -> str | None:
    if answer.isdigit() and 0 < int(answer) < 2**31:
        return None
    return t.gettext("api_id is a number, such as 1234567 (App configuration on my.telegram.org).")


def api_hash_shape(answer: str, t: Translator) -> str | None:
    if re.fullmatch(r"[0-9a-fA-F]{32}", answer):
        return None
    return t.gettext("api_hash is 32 characters of 0-9 and a-f, as shown on my.telegram.org.")


def _answers(t: Translator) -> tuple[set[str], set[str]]:
    """Yes and no, in English and in `t`'s language."""
    yes = {w.strip() for w in t.pgettext("setup answer", "y, yes").split(",")} | {"y", "yes"}
    no = {w.strip() for w in t.pgettext("setup answer", "n, no").split(",")} | {"n", "no"}
    return yes, no


def yes_no(answer: str, t: Translator) -> str | None:
    yes, no = _answers(t)
    return None if answer.lower() in yes | no else t.gettext("Please answer y or n.")


async def setup_telegram(
    settings: Settings, env_path: Path, questions: Questions, *, print_session: bool = False
) -> Settings:
    """Ask for the Telegram application, log in, find the owner; the settings as saved.
    Cancelled says where the answers given so far were kept."""
    t = questions.words
    try:
        settings = await _ask_application(settings, env_path, questions)
        client = make_client(settings)
        try:
            if not await connect(client, settings):
                questions.tell(t.gettext("Log in to the Telegram account Jobs will run in."))
                await log_in(client, questions)
            account = await account_of(client, settings)
            if settings.tg_user_id is None:
                own = await _own_account(questions)
                owner = account.user_id if own else await find_owner(client, questions)
                save_env(env_path, {"TG_USER_ID": str(owner)})
                settings = load_settings(env_path)
            if print_session:
                questions.tell(
                    t.gettext("\nStringSession (a full login to your account: keep it secret):\n")
                )
                questions.tell(export_string_session(client))
        finally:
            await client.disconnect()
    except Cancelled as exc:
        raise Cancelled(
            t.gettext(
                "Setup {what}. What you answered is saved in {file}; `jobs login` goes on.",
                what=exc,
                file=env_path,
            )
        ) from None
    own = account.user_id == settings.tg_user_id
    mode = (
        t.gettext("your own account: talk to Jobs in Saved Messages")
        if own
        else t.gettext("a dedicated assistant account: message it from your own account")
    )
    questions.tell(
        t.gettext(
            "Logged in to Telegram as {name} (id {id}), {mode}.",
            name=account.name,
            id=account.user_id,
            mode=mode,
        )
    )
    return settings


async def _ask_application(settings: Settings, env_path: Path, questions: Questions) -> Settings:
    missing = settings.missing_telegram(owner=False)
    if not missing:
        return settings
    t = questions.words
    questions.tell(
        t.gettext(
            "Jobs needs a Telegram application: open https://my.telegram.org, log in, choose "
            "API development tools and create one (any name)."
        )
    )
    asked = {
        "TG_API_ID": (t.gettext("api_id (a number): "), api_id_shape),
        "TG_API_HASH": (t.gettext("api_hash (32 characters): "), api_hash_shape),
    }
    for name in missing:
        question, shape = asked[name]
        answer = await questions.ask(question, check=functools.partial(shape, t=t))
        save_env(env_path, {name: answer})
    questions.tell(t.gettext("Saved to {file}.", file=env_path))
    return load_settings(env_path)


async def _own_account(questions: Questions) -> bool:
    t = questions.words
    answer = await questions.ask(
        t.gettext(
            "Is this your own Telegram account? Jobs then talks to you in Saved Messages, and "
            "people who write to you are announced to you first. (y = my own account, n = an "
            "account just for Jobs) [y/n]: "
        ),
        check=lambda a: yes_no(a, t),
    )
    return answer.lower() in _answers(t)[0]


async def claude_auth(settings: Settings, env_path: Path, questions: Questions) -> None:
    """Make sure the Claude CLI can authenticate: an API key or a `claude setup-token` token."""
    if (await check_claude_auth(settings)).status is Status.OK:
        return
    t = questions.words
    questions.tell(
        t.gettext(
            "\nJobs needs access to Claude. Choose one:\n"
            "  1. paste an Anthropic API key (console.anthropic.com)\n"
            "  2. log in with your Claude subscription (runs `claude setup-token`)"
        )
    )
    try:
        choice = await questions.ask(
            t.gettext("1 or 2: "),
            check=lambda a: None if a in {"1", "2"} else t.gettext("Type 1 or 2."),
        )
        if choice == "1":
            key = await questions.ask(
                t.gettext("Anthropic API key: "),
                secret=True,
                check=lambda a: (
                    None if a.startswith("sk-") else t.gettext("An API key starts with sk-.")
                ),
            )
            save_env(env_path, {"ANTHROPIC_API_KEY": key})
        else:
            _run_setup_token(settings)
            token = await questions.ask(t.gettext("Paste the token it printed: "), secret=True)
            save_env(env_path, {"CLAUDE_CODE_OAUTH_TOKEN": token})
    except Cancelled as exc:
        raise Cancelled(
            t.gettext("Claude setup {what}; `jobs login` asks again.", what=exc)
        ) from None
    questions.tell(t.gettext("Saved to {file}.", file=env_path))


def _run_setup_token(settings: Settings) -> None:
    import claude_agent_sdk  # its wheel ships the Claude Code CLI

    cli = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    if not cli.is_file():
        raise ConfigError("The Claude Code CLI is missing from this installation: reinstall Jobs.")
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(settings.claude_config_dir)}
    private_dir(settings.claude_config_dir)
    subprocess.run([str(cli), "setup-token"], env=env, check=False)


async def first_run(settings: Settings, env_path: Path, questions: Questions) -> Settings:
    """`jobs run` in a terminal walks a new owner through whatever is missing."""
    if settings.missing_telegram() or (await check_telegram_session(settings)).blocking:
        settings = await setup_telegram(settings, env_path, questions)
    if (await check_claude_auth(settings)).blocking:
        await claude_auth(settings, env_path, questions)
        settings = load_settings(env_path)
    return settings


async def wait_for_setup(
    settings: Settings, env_path: Path, *, every: float = WAIT_SECONDS
) -> Settings:
    """Without a terminal (Docker, a service) and not set up yet: say so once, then look again
    every `every` seconds until `jobs login` has written the settings and the login."""
    said = False
    while missing := not_set_up(settings):
        if not said:
            logger.warning(
                "Waiting for the Telegram login (%s): run `jobs login` in a terminal (with "
                "Docker: docker compose run --rm jobs jobs login). Jobs starts by itself then.",
                missing,
            )
            said = True
        await asyncio.sleep(every)
        settings = load_settings(env_path)
    if said:
        logger.info("Telegram login found; starting.")
    return settings
