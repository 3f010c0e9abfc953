"""jobs service: the systemd unit it writes (user or system), what it prints, and removing it."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.cli import main
from jobs.service import Service, unit


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "systemd" / "user"


def test_a_user_unit(config: Path, jobs_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["service", "install"]) == 0
    path = config / "jobs.service"
    text = path.read_text()
    assert f"ExecStart={sys.executable} -m jobs run --wait-for-login\n" in text
    assert f"Environment=JOBS_HOME={jobs_home}\n" in text
    assert "Restart=on-failure\n" in text and "RestartPreventExitStatus=2\n" in text
    assert "User=" not in text and "WantedBy=default.target" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    said = capsys.readouterr().out
    assert said.startswith(f"Wrote {path}. Now run:\n")
    assert "systemctl --user daemon-reload && systemctl --user enable --now jobs" in said
    assert "loginctl enable-linger" in said

    (config / "default.target.wants").mkdir()
    (config / "default.target.wants" / "jobs.service").symlink_to(path)
    assert main(["service", "uninstall"]) == 0
    assert list(config.rglob("jobs.service")) == []
    assert "systemctl --user stop jobs" in capsys.readouterr().out


def test_a_system_unit_runs_as_the_user_named(jobs_home: Path) -> None:
    from jobs.config import load_settings

    service = Service.chosen(system=True, user="alice", environ={})
    text = unit(load_settings(None), service, python="/opt/jobs/bin/python")
    assert "User=alice\n" in text and "WantedBy=multi-user.target" in text
    assert "ExecStart=/opt/jobs/bin/python -m jobs run --wait-for-login" in text
    assert service.path == Path("/etc/systemd/system/jobs.service")


def test_print_writes_nothing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["service", "install", "--print"]) == 0
    assert capsys.readouterr().out.startswith("[Unit]\n")
    assert not config.exists()


def test_user_without_system_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["service", "install", "--user", "bob"]) == 1
    assert (
        capsys.readouterr().err
        == "jobs: --user NAME goes with --system (a user unit runs as you).\n"
    )


def test_systemd_accepts_the_unit(tmp_path: Path, jobs_home: Path) -> None:
    verify = shutil.which("systemd-analyze")
    if verify is None:
        pytest.skip("systemd-analyze is not installed")
    from jobs.config import load_settings

    service = Service.chosen(system=False, user=None, environ={"HOME": str(tmp_path)})
    path = tmp_path / "jobs.service"
    path.write_text(unit(load_settings(None), service))
    done = subprocess.run(
        [verify, "verify", str(path)], capture_output=True, text=True, check=False
    )
    assert "jobs.service" not in done.stderr, done.stderr
