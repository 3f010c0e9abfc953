"""`jobs doctor`: each check's verdict and the exit code, on real folders and a real CDP stub."""

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jobs.cli import main
from jobs.config import Settings, load_settings
from jobs.doctor import Status, check_browser, check_telegram_session, render, run_checks

HASH = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for which every required check passes."""
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "telethon.session") as conn:
        conn.execute("CREATE TABLE sessions (dc_id INTEGER, auth_key BLOB)")
        conn.execute("INSERT INTO sessions VALUES (2, ?)", (b"\x01" * 256,))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for key, value in {
        "TG_API_ID": "1",
        "TG_API_HASH": HASH,
        "TG_USER_ID": "42",
        "DATA_DIR": str(data),
        "WORKSPACE_DIR": str(tmp_path / "ws"),
        "ANTHROPIC_API_KEY": "sk-ant-test-key-000000000000",
    }.items():
        monkeypatch.setenv(key, value)
    return load_settings(None)


@pytest.fixture
def cdp() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(
                {"Browser": "Chrome/156.0", "webSocketDebuggerUrl": "ws://x/y"}
            ).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_all_required_present(ready: Settings) -> None:
    checks = await run_checks(ready)
    assert not [c for c in checks if c.blocking], render(checks)
    assert "Jobs is ready to run." in render(checks)


async def test_missing_session_says_run_login(ready: Settings) -> None:
    (ready.data_dir / "telethon.session").unlink()
    check = await check_telegram_session(ready)
    assert check.status is Status.MISSING and "jobs login" in check.fix


async def test_corrupt_session_detected(ready: Settings) -> None:
    (ready.data_dir / "telethon.session").write_bytes(b"not a database at all" * 100)
    check = await check_telegram_session(ready)
    assert check.status is Status.MISSING and "damaged" in check.fix


async def test_browser_reachable_and_not(ready: Settings, cdp: str) -> None:
    ok = await check_browser(ready.model_copy(update={"browser_cdp_url": cdp}))
    assert ok.status is Status.OK and "Chrome/156.0" in ok.detail
    down = await check_browser(ready.model_copy(update={"browser_cdp_url": "http://127.0.0.1:9"}))
    assert down.status is Status.WARN and not down.blocking


def test_cli_exit_codes(
    ready: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["doctor"]) == 0
    assert "ready to run" in capsys.readouterr().out
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "missing  claude auth" in out and "Jobs cannot run yet" in out


def test_doctor_speaks_the_owners_language(
    ready: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")  # the terminal's language, without OWNER_LANGUAGE
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "нет  доступ к Claude" in out
    assert "Jobs пока не может работать: исправьте строки «нет» выше." in out
    monkeypatch.setenv("OWNER_LANGUAGE", "en")  # the setting outranks the terminal
    assert main(["doctor"]) == 1
    assert "missing  claude auth" in capsys.readouterr().out


def test_cli_bad_config_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TG_USER_ID", "me")
    assert main(["doctor"]) == 2
    assert "TG_USER_ID: Input should be a valid integer" in capsys.readouterr().err


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "doctor" in capsys.readouterr().out
