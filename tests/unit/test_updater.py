"""/update's Updater against real local git repositories, and the Restart request."""

from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobs.updater import RESTART_EXIT_CODE, Restart, UpdateFailed, Updater

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
}
INSTALL_OK = '#!/bin/sh\necho installed >> "$(dirname "$0")/../install.log"\n'
INSTALL_FAILS = "#!/bin/sh\necho 'ERROR: could not build wheel' >&2\nexit 1\n"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def commit(repo: Path, version: str, *, install: str = INSTALL_OK, note: str = "") -> str:
    (repo / "pyproject.toml").write_text(f'[project]\nname = "toy"\nversion = "{version}"\n')
    script = repo / "scripts" / "install"
    script.parent.mkdir(exist_ok=True)
    script.write_text(install)
    script.chmod(0o755)
    (repo / "NOTES").write_text(note or version)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"version {version}")
    return git(repo, "rev-parse", "--short", "HEAD")


@dataclass
class Repos:
    origin: Path
    checkout: Path
    first: str

    def head(self) -> str:
        return git(self.checkout, "rev-parse", "--short", "HEAD")


@pytest.fixture
def repos(tmp_path: Path) -> Repos:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    first = commit(origin, "0.1.0")
    git(tmp_path, "clone", "-q", str(origin), "checkout")
    return Repos(origin, tmp_path / "checkout", first)


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GIT_ENV.items():
        if name.startswith("GIT_"):
            monkeypatch.setenv(name, value)


async def test_already_up_to_date(repos: Repos) -> None:
    restart = Restart()
    outcome = await Updater(restart=restart, repo_dir=repos.checkout).update()
    assert (outcome.changed, outcome.old, outcome.new) == (
        False,
        f"0.1.0 ({repos.first})",
        f"0.1.0 ({repos.first})",
    )
    assert not restart.requested and restart.exit_code == 0


async def test_pull_install_then_restart(repos: Repos) -> None:
    second = commit(repos.origin, "0.2.0")
    restart = Restart()
    outcome = await Updater(restart=restart, repo_dir=repos.checkout).update()
    assert (outcome.old, outcome.new) == (f"0.1.0 ({repos.first})", f"0.2.0 ({second})")
    assert repos.head() == second
    assert (repos.checkout / "install.log").read_text() == "installed\n"
    assert restart.requested and restart.exit_code == RESTART_EXIT_CODE


async def test_a_refused_pull_changes_nothing(repos: Repos) -> None:
    commit(repos.origin, "0.2.0", note="theirs")
    local = commit(repos.checkout, "0.1.1", note="mine")  # diverged: no fast-forward
    restart = Restart()
    with pytest.raises(UpdateFailed, match=r"git pull --ff-only failed") as caught:
        await Updater(restart=restart, repo_dir=repos.checkout).update()
    assert f"Nothing was changed; still running 0.1.1 ({local})" in str(caught.value)
    assert repos.head() == local and not restart.requested


async def test_a_failed_install_puts_the_checkout_back(repos: Repos) -> None:
    commit(repos.origin, "0.2.0", install=INSTALL_FAILS)
    restart = Restart()
    with pytest.raises(UpdateFailed) as caught:
        await Updater(restart=restart, repo_dir=repos.checkout).update()
    message = str(caught.value)
    assert "the reinstall failed (exit 1): ERROR: could not build wheel" in message
    assert f"put back to {repos.first}" in message and "Still running 0.1.0" in message
    assert repos.head() == repos.first and not restart.requested
    assert 'version = "0.1.0"' in (repos.checkout / "pyproject.toml").read_text()


async def test_update_command(repos: Repos) -> None:
    restart = Restart()
    updater = Updater(restart=restart, repo_dir=repos.checkout, command="echo done > updated")
    outcome = await updater.update()
    assert outcome.changed and restart.requested
    assert (repos.checkout / "updated").read_text() == "done\n"
    failing = Updater(restart=Restart(), repo_dir=repos.checkout, command="echo nope >&2; exit 3")
    with pytest.raises(UpdateFailed, match=r"UPDATE_COMMAND failed \(exit 3\): nope"):
        await failing.update()


async def test_not_a_checkout(tmp_path: Path) -> None:
    with pytest.raises(UpdateFailed, match=r"not a git checkout.*UPDATE_COMMAND"):
        await Updater(restart=Restart(), repo_dir=tmp_path).update()


async def test_a_step_that_hangs_is_stopped(repos: Repos) -> None:
    updater = Updater(restart=Restart(), repo_dir=repos.checkout, command="sleep 30", timeout=0.2)
    with pytest.raises(UpdateFailed, match="took longer than 0 s"):
        await updater.update()


async def test_restart_waits_for_settling_but_not_forever() -> None:
    restart = Restart()
    settled: list[str] = []

    async def settle() -> None:
        settled.append("done")

    waiter = asyncio.create_task(restart.wait(settle=settle))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    restart.request()
    await asyncio.wait_for(waiter, 1)
    assert settled == ["done"]

    async def stuck() -> None:
        await asyncio.sleep(30)

    await asyncio.wait_for(restart.wait(settle=stuck, grace=0.05), 1)
