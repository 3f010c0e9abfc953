"""jobs.home: where Jobs' files live (never the current folder), and their private modes."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.home import default_home, private_dir, private_file, tighten


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def checkout(folder: Path) -> Path:
    (folder / "src" / "jobs").mkdir(parents=True)
    (folder / "pyproject.toml").write_text("[project]\n")
    return folder


def test_jobs_home_wins(tmp_path: Path) -> None:
    env = {"JOBS_HOME": "~/assistant", "HOME": str(tmp_path)}
    assert (
        default_home(env, checkout=checkout(tmp_path / "repo"))
        == Path("~/assistant").expanduser().absolute()
    )


def test_a_checkout_is_its_own_home(tmp_path: Path) -> None:
    repo = checkout(tmp_path / "repo")
    assert default_home({"HOME": str(tmp_path)}, checkout=repo) == repo


def test_an_installed_package_lives_in_the_xdg_data_folder(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"  # no pyproject.toml beside it
    assert default_home({"HOME": str(tmp_path)}, checkout=site) == tmp_path / ".local/share/jobs"
    xdg = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert default_home(xdg, checkout=site) == tmp_path / "xdg" / "jobs"


def test_private_dir_and_file_are_the_owners_alone(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    assert private_dir(loose) == loose and mode(loose) == 0o700
    assert mode(private_dir(tmp_path / "a" / "b")) == 0o700
    file = tmp_path / "secret"
    file.write_text("x")
    file.chmod(0o644)
    private_file(file)
    assert mode(file) == 0o600 and file.read_text() == "x"
    assert mode(private_file(tmp_path / "new" / "db.sqlite")) == 0o600


def test_tighten_an_older_install(tmp_path: Path) -> None:
    data, workspace = tmp_path / "data", tmp_path / "workspace"
    (workspace / "uploads" / "2026").mkdir(parents=True)
    data.mkdir()
    for folder in (data, workspace):
        folder.chmod(0o755)
    files = [data / "db.sqlite", data / "db.sqlite-wal", data / "plugins.json"]
    files.append(workspace / "uploads" / "2026" / "scan.pdf")
    for path in files:
        path.write_text("")
        path.chmod(0o644)
    shared = tmp_path / "shared.txt"
    shared.write_text("")
    shared.chmod(0o644)
    (data / "link").symlink_to(shared)  # a link is not followed: its target is not Jobs'
    (workspace / "notes.md").write_text("")
    (workspace / "notes.md").chmod(0o664)  # the owner's own files in the workspace stay

    tighten(data, workspace)
    assert (mode(data), mode(workspace)) == (0o700, 0o700)
    assert [mode(p) for p in files] == [0o600] * 4
    assert mode(shared) == 0o644 and mode(workspace / "notes.md") == 0o664


def test_doctor_in_another_folder_makes_nothing_there(tmp_path: Path) -> None:
    cwd, home = tmp_path / "elsewhere", tmp_path / "home"
    cwd.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "jobs", "doctor"],
        cwd=cwd,
        env={"JOBS_HOME": str(home), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # nothing set up: "cannot run yet"
    assert f"home {home}: {home / 'data'}, {home / 'workspace'}" in done.stdout
    assert list(cwd.iterdir()) == [] and not home.exists()
    assert "Traceback" not in done.stderr


def test_cli_help_names_the_home(capsys: pytest.CaptureFixture[str]) -> None:
    from jobs.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    assert "JOBS_HOME/.env" in capsys.readouterr().out
