"""`jobs doctor` on the owner's chat: read from the session file a `jobs run` left (real
Telethon on the fake Telegram writes it), never by connecting."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.config import Settings, load_settings
from jobs.doctor import Status, check_owner_chat, render, run_checks
from jobs.telegram.client import connect_authorised, make_client
from tests.fakes.telegram import API_HASH, API_ID, FakeTelegram

ME, OWNER = 1000, 2000


@pytest.fixture(autouse=True)
def _no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TG_API_ID", "TG_API_HASH", "TG_USER_ID", "TG_SESSION", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def settings(tmp_path: Path, owner: int) -> Settings:
    return load_settings(
        None, tg_api_id=API_ID, tg_api_hash=API_HASH, tg_user_id=owner, data_dir=tmp_path / "data"
    )


async def run_once(tg: FakeTelegram, s: Settings, *, owner_writes: bool = False) -> None:
    """`jobs run` connecting and stopping again (Telethon saves whom it met)."""
    client = tg.attach(make_client(s))
    try:
        await connect_authorised(client, s)
        if owner_writes:
            tg.incoming(OWNER, "hi, it's me")
            await tg.idle()
    finally:
        await client.disconnect()


async def test_before_any_run_there_is_nothing_to_say(tmp_path: Path) -> None:
    check = await check_owner_chat(settings(tmp_path, OWNER))
    assert check.status is Status.OK and "first connects" in check.detail


async def test_an_owner_never_met_is_a_warning_with_what_to_do(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    s = settings(tmp_path, OWNER)
    await run_once(tg, s)
    check = await check_owner_chat(s)
    assert check.status is Status.WARN and not check.blocking
    assert f"this account ({ME}) has never met you (TG_USER_ID={OWNER})" in check.detail
    assert check.fix.startswith("From your own account, write any message to this account once")
    assert "warn  owner chat" in render(await run_checks(s, (check_owner_chat,)))


async def test_once_the_owner_wrote_or_in_their_own_account_all_is_well(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    s = settings(tmp_path, OWNER)
    await run_once(tg, s, owner_writes=True)
    met = await check_owner_chat(s)
    assert met.status is Status.OK and f"can write to you ({OWNER})" in met.detail
    own = await check_owner_chat(settings(tmp_path, ME))
    assert own.status is Status.OK and "your own account" in own.detail
