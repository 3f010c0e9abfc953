"""The Telethon client factory: StringSession import, a private session file, login checks."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession
from telethon.tl import functions

from jobs.config import Settings, load_settings
from jobs.errors import ConfigError, NotLoggedIn
from jobs.telegram.client import (
    connect_authorised,
    export_string_session,
    import_string_session,
    make_client,
    session_file,
)
from jobs.telegram.sessionfile import SessionState, inspect_session
from tests.fakes.telegram import API_HASH, API_ID, FakeTelegram

KEY = b"\x07" * 256


@pytest.fixture(autouse=True)
def _no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TG_API_ID", "TG_API_HASH", "TG_USER_ID", "TG_SESSION", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "tg_api_id": API_ID,
        "tg_api_hash": API_HASH,
        "tg_user_id": 1000,
        "data_dir": tmp_path / "data",
    }
    return load_settings(None, **(values | overrides))


def string_session(dc_id: int = 4, key: bytes = KEY) -> str:
    s = StringSession()
    s.set_dc(dc_id, "149.154.167.91", 443)
    s.auth_key = AuthKey(key)
    return str(s.save())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_string_session_is_imported_once(tmp_path: Path) -> None:
    s = settings(tmp_path, tg_session=string_session())
    assert s.tg_session_is_string
    path = session_file(s)
    assert path == tmp_path / "data" / "telethon.session"

    assert import_string_session(s) is True
    assert inspect_session(path) is SessionState.AUTHORISED_KEY
    assert mode(path) == 0o600
    stored = SQLiteSession(str(path))
    try:
        assert (stored.dc_id, stored.server_address, stored.port) == (4, "149.154.167.91", 443)
        assert stored.auth_key is not None and stored.auth_key.key == KEY
    finally:
        stored.close()
    # A second start keeps the file (and the update state Telethon saved in it).
    other = settings(tmp_path, tg_session=string_session(dc_id=2, key=b"\x09" * 256))
    assert import_string_session(other) is False


def test_a_session_path_is_not_imported(tmp_path: Path) -> None:
    s = settings(tmp_path, tg_session=str(tmp_path / "my.session"))
    assert import_string_session(s) is False
    assert session_file(s) == tmp_path / "my.session"
    assert not session_file(s).exists()


@pytest.mark.parametrize("bad", ["1" + "A" * 101, "1" + "A" * 104])
def test_a_broken_string_session_names_the_variable(tmp_path: Path, bad: str) -> None:
    s = settings(tmp_path, tg_session=bad)
    assert s.tg_session_is_string
    with pytest.raises(ConfigError) as caught:
        import_string_session(s)
    assert caught.value.variable == "TG_SESSION"
    assert bad not in str(caught.value)


def test_make_client_keeps_the_session_file_private(tmp_path: Path) -> None:
    s = settings(tmp_path, tg_session=str(tmp_path / "jobs"))
    path = tmp_path / "jobs.session"
    path.touch(mode=0o644)
    path.chmod(0o644)
    client = make_client(s)
    try:
        assert session_file(s) == path
        assert mode(path) == 0o600
        assert client.flood_sleep_threshold == 0
        assert isinstance(client.session, SQLiteSession)
    finally:
        client.session.close()


def test_make_client_needs_the_telegram_settings(tmp_path: Path) -> None:
    s = load_settings(None, data_dir=tmp_path)
    with pytest.raises(ConfigError, match="TG_API_ID"):
        make_client(s)


async def test_connect_authorised_reports_the_account(tmp_path: Path) -> None:
    s = settings(tmp_path, tg_session=string_session())
    tg = FakeTelegram(me_id=1000, first_name="Olga", username="olga")
    client = tg.attach(make_client(s))
    try:
        account = await connect_authorised(client, s)
        assert (account.user_id, account.name, account.username) == (1000, "Olga", "olga")
        assert account.is_owner_account
        assert mode(session_file(s)) == 0o600
        assert StringSession(export_string_session(client)).auth_key is not None
    finally:
        await client.disconnect()
        tg.close()


async def test_dedicated_account_is_not_the_owners(tmp_path: Path) -> None:
    s = settings(tmp_path, tg_session=string_session(), tg_user_id=222)
    tg = FakeTelegram(me_id=1000)
    client = tg.attach(make_client(s))
    try:
        assert (await connect_authorised(client, s)).is_owner_account is False
    finally:
        await client.disconnect()
        tg.close()


async def test_an_unauthorised_session_is_not_logged_in(tmp_path: Path) -> None:
    s = settings(tmp_path)
    tg = FakeTelegram(me_id=1000)
    for request in (functions.users.GetUsersRequest, functions.updates.GetStateRequest):
        tg.fail(request, "AUTH_KEY_UNREGISTERED", code=401, times=10)
    client = tg.attach(make_client(s))
    try:
        with pytest.raises(NotLoggedIn, match="jobs login"):
            await connect_authorised(client, s)
        assert not client.is_connected()
    finally:
        await client.disconnect()
        tg.close()
