"""Fixtures for every test: no network, a clean environment, the fake model and fake Telegram."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from telethon import TelegramClient

from tests.fakes.anthropic import FakeAnthropic, inherited_claude_vars
from tests.fakes.network import block_network
from tests.fakes.telegram import ClientFactory, FakeTelegram


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection or name lookup for a non-loopback host raises NetworkBlockedError;
    127.0.0.1, ::1, localhost and AF_UNIX are allowed (see tests/fakes/network.py)."""
    block_network(monkeypatch)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove inherited ANTHROPIC_* / CLAUDE* variables (restored after the test): the SDK
    merges options.env over os.environ and cannot unset them."""
    for name in inherited_claude_vars():
        monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def jobs_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """JOBS_HOME in the test's own folder (inherited by `jobs` children): no test reads or
    writes the checkout's .env, data/ or workspace/."""
    home = tmp_path / "jobs-home"
    monkeypatch.setenv("JOBS_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def english_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The terminal's language is English (inherited by `jobs` children): what tests expect of
    doctor, login and chat does not depend on the developer's locale. A test that wants
    another language sets LANG or OWNER_LANGUAGE itself."""
    for name in ("LC_ALL", "LC_MESSAGES", "OWNER_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(autouse=True)
def keep_umask() -> Iterator[None]:
    """`jobs.cli.main` makes the process umask private (as `jobs` should); a test that calls
    it in-process must not change the mode of files the tests after it create."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


@pytest.fixture
def fake_model() -> Iterator[FakeAnthropic]:
    """A started fake Anthropic API on 127.0.0.1 (echo replies unless turns are pushed)."""
    fake = FakeAnthropic().start()
    yield fake
    fake.stop()


@pytest.fixture
def claude_env(tmp_path: Path, fake_model: FakeAnthropic) -> dict[str, str]:
    """ClaudeAgentOptions.env for the real CLI against `fake_model`: isolated HOME, sandbox flag
    (bypassPermissions as root), every tool offered up front, 2 retries, 5 s request timeout."""
    return fake_model.env(
        home=tmp_path / "claude-home",
        IS_SANDBOX="1",
        ENABLE_TOOL_SEARCH="false",
        CLAUDE_CODE_MAX_RETRIES="2",
        API_TIMEOUT_MS="5000",
    )


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    """A fake Telegram for account 1000 ("Me"). Fails the test at teardown if an event handler
    raised and no fake.idle() re-raised it."""
    fake = FakeTelegram(me_id=1000)
    yield fake
    fake.close()
    if fake.handler_errors:
        pytest.fail(f"event handler errors nobody awaited: {fake.handler_errors!r}")


@pytest.fixture
async def tg_connect(tg: FakeTelegram) -> AsyncIterator[ClientFactory]:
    """`await tg_connect(**client_kwargs)` -> a real TelegramClient on `tg`, connected in the
    test's loop; every client made is disconnected after the test."""
    clients: list[TelegramClient] = []

    async def connect(**kw: Any) -> TelegramClient:
        client = tg.client(**kw)
        clients.append(client)
        await client.connect()
        return client

    yield connect
    for client in clients:
        await client.disconnect()


@pytest.fixture
async def tg_client(tg_connect: ClientFactory) -> TelegramClient:
    """A connected real TelegramClient on `tg` (flood_sleep_threshold=0: every FloodWait raises)."""
    return await tg_connect(flood_sleep_threshold=0)
