"""Settings: environment and .env parsing, derived paths, one clear error per bad variable."""

from pathlib import Path

import pytest

from jobs.config import ExternalUsers, load_settings
from jobs.errors import ConfigError

HASH = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "TG_API_ID",
        "TG_API_HASH",
        "TG_USER_ID",
        "TG_SESSION",
        "TIMEZONE",
        "DATA_DIR",
        "WORKSPACE_DIR",
        "EXTERNAL_USERS",
        "HEARTBEAT_INTERVAL_MINUTES",
        "BROWSER_CDP_URL",
        "MAX_LIVE_SESSIONS",
        "QUERY_TIMEOUT_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_need_nothing(jobs_home: Path) -> None:
    s = load_settings(None)
    assert s.data_dir == jobs_home / "data" and s.workspace_dir == jobs_home / "workspace"
    assert s.query_timeout_seconds == 300 and s.heartbeat_interval_minutes == 30
    assert s.db_path == jobs_home / "data/db.sqlite"
    assert s.telethon_session_path == jobs_home / "data/telethon.session"
    assert s.external_users is None and s.timezone == "UTC"


def test_reads_env_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        f"TG_API_ID=123\nTG_API_HASH={HASH}\nTG_USER_ID=42\n"
        "EXTERNAL_USERS=contacts\nTIMEZONE=Europe/Berlin\n"
    )
    s = load_settings(env)
    assert (s.tg_api_id, s.tg_user_id) == (123, 42)
    assert s.tg_api_hash is not None and s.tg_api_hash.get_secret_value() == HASH
    assert s.external_users is ExternalUsers.CONTACTS
    assert s.zone.key == "Europe/Berlin"
    assert s.missing_telegram() == []


def test_environment_beats_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("MAX_LIVE_SESSIONS=3\n")
    monkeypatch.setenv("MAX_LIVE_SESSIONS", "7")
    assert load_settings(env).max_live_sessions == 7


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TG_API_ID", "abc", "TG_API_ID: Input should be a valid integer"),
        ("TG_API_HASH", "short", "TG_API_HASH: expected the 32 hexadecimal characters"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE: expected an IANA time zone"),
        ("EXTERNAL_USERS", "everyone", "EXTERNAL_USERS: Input should be 'all', 'contacts'"),
        ("HEARTBEAT_INTERVAL_MINUTES", "-5", "HEARTBEAT_INTERVAL_MINUTES: Input should be greater"),
        ("BROWSER_CDP_URL", "browser:9223", "BROWSER_CDP_URL: expected a URL"),
        ("MAX_LIVE_SESSIONS", "0", "MAX_LIVE_SESSIONS: Input should be greater"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT: expected text or json"),
        ("HEALTH_PORT", "70000", "HEALTH_PORT: Input should be less"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    assert expected in str(info.value)
    assert info.value.variable == name


def test_every_bad_variable_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_API_ID", "x")
    monkeypatch.setenv("TIMEZONE", "Nowhere/Land")
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    assert "TG_API_ID" in str(info.value) and "TIMEZONE" in str(info.value)


def test_secret_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_API_HASH", "secret-but-wrong-shape")
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    assert "secret-but-wrong-shape" not in str(info.value)


def test_session_path_or_string(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, jobs_home: Path
) -> None:
    monkeypatch.setenv("TG_SESSION", str(tmp_path / "me.session"))
    s = load_settings(None)
    assert not s.tg_session_is_string
    assert s.telethon_session_path == tmp_path / "me.session"
    monkeypatch.setenv("TG_SESSION", str(tmp_path / "jobs"))
    assert load_settings(None).telethon_session_path == tmp_path / "jobs.session"
    monkeypatch.setenv("TG_SESSION", "1" + "A" * 350)
    s = load_settings(None)
    assert s.tg_session_is_string
    assert s.telethon_session_path == jobs_home / "data/telethon.session"


def test_relative_paths_are_inside_the_home_not_the_current_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, jobs_home: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", "state")
    monkeypatch.setenv("WORKSPACE_DIR", "~/ws")
    monkeypatch.setenv("TG_SESSION", "logins/me")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    s = load_settings(None)
    assert s.data_dir == jobs_home / "state"
    assert s.workspace_dir == tmp_path / "user" / "ws"
    assert s.telethon_session_path == jobs_home / "logins" / "me.session"
    assert not (tmp_path / "state").exists() and not jobs_home.exists()  # reading makes nothing


def test_require_telegram_points_to_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"TG_API_ID, TG_API_HASH, TG_USER_ID not set.*\.env"):
        load_settings(None).require_telegram()


def test_health_and_log_format(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings(None)
    assert (defaults.health_port, defaults.health_host, defaults.log_format) == (
        0,
        "127.0.0.1",
        "text",
    )
    monkeypatch.setenv("HEALTH_PORT", "8080")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    changed = load_settings(None)
    assert (changed.health_port, changed.log_format) == (8080, "json")
