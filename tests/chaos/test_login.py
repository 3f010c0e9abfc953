"""`jobs login` on a pseudo-terminal against the fake Telegram (MTProto loopback): each answer is
checked as it is given and asked again, every answer is saved as soon as it is good, the owner's
id comes from the login, and leaving (Ctrl-C, Ctrl-D) or an unreachable Telegram is one line
and an exit code, never a traceback."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.conftest import Rig
from tests.chaos.test_reaching_telegram import closed_port
from tests.fakes.login import CODE, FakeLogin
from tests.fakes.telegram import API_HASH, API_ID
from tests.terminal import CTRL_C, CTRL_D, Terminal

ASKED = ("TG_SESSION", "TG_USER_ID", "TG_API_ID", "TG_API_HASH")


@pytest.fixture
def env(rig: Rig) -> dict[str, str]:
    """Nothing Telegram set up yet; Claude access is there (only Telegram is asked here)."""
    return {
        **{k: v for k, v in rig.env.items() if k not in ASKED},
        "ANTHROPIC_API_KEY": "sk-test-not-used",
    }


@pytest.fixture
def home(env: dict[str, str]) -> Path:
    return Path(env["JOBS_HOME"])


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    made: list[Terminal] = []
    yield made
    for term in made:
        term.close()


def login(rig: Rig, env: dict[str, str], terminals: list[Terminal], **more: str) -> Terminal:
    term = Terminal.spawn("login", env={**env, **more}, cwd=rig.tmp_path)
    terminals.append(term)
    return term


def saved(home: Path) -> dict[str, str]:
    lines = (home / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def answer(term: Terminal, question: str, *answers: str) -> None:
    """At `question`, type each answer; all but the last are refused with a reason."""
    await term.expect(question)
    for text in answers:
        term.line(text)


async def test_every_answer_checked_as_given_and_the_owner_found(
    rig: Rig, env: dict[str, str], home: Path, terminals: list[Terminal]
) -> None:
    fake = FakeLogin(rig.tg, password="hunter2", wrong_passwords=1)
    fake.session_file(Path(env["DATA_DIR"]) / "telethon.session", rig.loopback)
    term = login(rig, env, terminals)
    await answer(term, "api_id (a number): ", "my app")
    await answer(term, "api_id is a number", str(API_ID))
    await answer(term, "api_hash (32 characters): ", "0123")
    await answer(term, "api_hash is 32 characters", API_HASH)
    await answer(term, "Phone number of the Telegram account", "12")
    await answer(term, "That is not a phone number", "+1 555 000 0000")
    await answer(term, "Telegram does not know that number", "+49 151 1234 5678")
    await answer(term, "The login code Telegram just sent", "11111")
    await answer(term, "That code is not right", CODE)
    await answer(term, "Two-step verification password: ", "wrong")
    await answer(term, "That password is not right", "hunter2")
    await answer(term, "Is this your own Telegram account?", "perhaps")
    await answer(term, "Please answer y or n.", "y")
    await term.expect("Logged in to Telegram as")
    assert await term.exit_code() == 0, term.output
    assert "Traceback" not in term.output
    assert "talk to Jobs in Saved Messages" in term.last_line()
    assert fake.signed_in
    assert saved(home) == {
        "TG_API_ID": str(API_ID),
        "TG_API_HASH": API_HASH,
        "TG_USER_ID": "1000",  # the account logged in to: the owner's own
    }
    assert mode(home / ".env") == 0o600 and mode(home) == 0o700
    assert "hunter2" not in term.output  # typed unseen


async def test_ctrl_d_at_a_question_keeps_the_answers_given(
    rig: Rig, env: dict[str, str], home: Path, terminals: list[Terminal]
) -> None:
    term = login(rig, env, terminals)
    await answer(term, "api_id (a number): ", str(API_ID))
    await term.expect("api_hash (32 characters): ")
    term.type(CTRL_D)
    assert await term.exit_code() == 130
    assert term.last_line() == (
        f"jobs: Setup stopped at a question (Ctrl-D). What you answered is saved in "
        f"{home / '.env'}; `jobs login` goes on."
    )
    assert "Traceback" not in term.output
    assert saved(home) == {"TG_API_ID": str(API_ID)}

    again = login(rig, env, terminals)  # goes on from there: api_id is not asked again
    await again.expect("api_hash (32 characters): ")
    assert "api_id" not in again.output.split("my.telegram.org")[-1]
    again.type(CTRL_C)
    assert await again.exit_code() == 130
    assert again.last_line().startswith("jobs: Setup stopped at a question (Ctrl-C).")


async def test_ctrl_c_while_logging_in(
    rig: Rig, env: dict[str, str], terminals: list[Terminal]
) -> None:
    FakeLogin(rig.tg).session_file(Path(env["DATA_DIR"]) / "telethon.session", rig.loopback)
    term = login(rig, env, terminals, TG_API_ID=str(API_ID), TG_API_HASH=API_HASH)
    await answer(term, "Phone number of the Telegram account", "+49 151 1234 5678")
    await term.expect("The login code Telegram just sent")
    term.type(CTRL_C)
    assert await term.exit_code() == 130
    assert "Traceback" not in term.output
    assert term.last_line().startswith("jobs: Setup stopped at a question (Ctrl-C).")


async def test_telegram_unreachable_during_login(
    rig: Rig, env: dict[str, str], terminals: list[Terminal]
) -> None:
    port = closed_port()
    FakeLogin.session_file(Path(env["DATA_DIR"]) / "telethon.session", rig.loopback, port=port)
    term = login(rig, env, terminals, TG_API_ID=str(API_ID), TG_API_HASH=API_HASH)
    assert await term.exit_code() == 69
    assert "Traceback" not in term.output
    assert term.last_line().startswith(f"jobs: Telegram at 127.0.0.1:{port} refused the connection")


async def test_login_without_a_terminal_says_it_needs_one(rig: Rig, env: dict[str, str]) -> None:
    child = await rig.spawn("login", env=env)
    assert await child.exit_code() == 1
    assert child.log().strip() == (
        "jobs: jobs login asks questions, so it needs a terminal (with Docker: "
        "docker compose run --rm jobs jobs login)."
    )
