"""The owner's commands through the Telegram seam: /usage, /status, /tasks and /update (against
a local git repository), on a whole Jobs."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobs.updater import RESTART_EXIT_CODE
from tests.e2e.conftest import OWNER_ID, Jobs, MakeJobs

ALICE = 111
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


@dataclass
class Release:
    """A toy project: `origin` gets new commits, `checkout` is what /update pulls."""

    origin: Path
    checkout: Path

    def commit(self, repo: Path, version: str, note: str = "") -> str:
        (repo / "pyproject.toml").write_text(f'[project]\nname = "toy"\nversion = "{version}"\n')
        install = repo / "scripts" / "install"
        install.parent.mkdir(exist_ok=True)
        install.write_text("#!/bin/sh\necho ok\n")
        install.chmod(0o755)
        (repo / "NOTES").write_text(note or version)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", version)
        return git(repo, "rev-parse", "--short", "HEAD")

    def head(self) -> str:
        return git(self.checkout, "rev-parse", "--short", "HEAD")


@pytest.fixture
def release(tmp_path: Path) -> Release:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    made = Release(origin, tmp_path / "checkout")
    made.commit(origin, "0.1.0")
    git(tmp_path, "clone", "-q", str(origin), "checkout")
    return made


async def owner_says(jobs: Jobs, text: str) -> str:
    before = len(jobs.sent_texts(OWNER_ID))
    jobs.tg.outgoing(OWNER_ID, text)
    return (await jobs.replies_to(OWNER_ID, before + 1))[before]


async def test_usage_after_two_turns(jobs: Jobs) -> None:
    await jobs.start()
    await owner_says(jobs, "first question")
    await owner_says(jobs, "second question")
    usage = await owner_says(jobs, "/usage")
    await jobs.settled()

    today, month = usage.split("\n\n")[:2]
    assert today.startswith("Today (since 00:00 UTC): $") and "\n• you: $" in today
    assert ", 2 turns — opus" in today  # the model that ran
    # The second turn read from the cache what the first one wrote.
    read = re.search(r"Tokens: ([\d,]+) cache read, ([\d,]+) cache write", today)
    assert read is not None and read.group(1) != "0" and read.group(2) != "0", today
    assert month.startswith("This month: $") and month.endswith("/usage week, /usage month: more.")
    week = await owner_says(jobs, "/usage week")
    assert week.startswith("This week (since ") and "(you $" in week
    wrong = await owner_says(jobs, "/usage yesterday")
    assert wrong == "Usage: /usage, /usage week or /usage month."
    assert len(jobs.model.calls) == 2  # the commands themselves asked the model nothing


async def test_status_and_tasks(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    await owner_says(jobs, "hello")
    status = await owner_says(jobs, "/status")
    assert "Live sessions: 1 (owner)" in status
    assert "Queue: 0 messages waiting, 1 being answered" in status  # /status itself
    assert "This conversation has read only your own words." in status
    assert await owner_says(jobs, "/tasks") == "No open tasks."
    jobs.tg.incoming(ALICE, "/status")
    jobs.tg.incoming(ALICE, "/tasks")
    unknown, tasks = await jobs.replies_to(ALICE, 2)
    assert unknown.startswith("I don't know the command /status")
    assert tasks == "No open tasks."


async def test_update_pulls_the_new_commit_and_restarts(
    make_jobs: MakeJobs, release: Release
) -> None:
    jobs = make_jobs(update_repo_dir=release.checkout)
    first = release.head()
    await jobs.start()
    second = release.commit(release.origin, "0.2.0")
    reply = await owner_says(jobs, "/update")

    assert reply == (
        f"Updated Jobs: 0.1.0 ({first}) → 0.2.0 ({second}). Restarting now; "
        "I'll be back in a few seconds."
    )
    assert release.head() == second
    assert jobs.task is not None
    running: asyncio.Task[object] = jobs.task  # run_telegram returns its exit code
    assert await asyncio.wait_for(running, 20) == RESTART_EXIT_CODE
    assert [r["state"] for r in jobs.inbox()] == ["answered"]  # not run again after the restart


async def test_a_failed_update_keeps_the_running_version(
    make_jobs: MakeJobs, release: Release
) -> None:
    jobs = make_jobs(update_repo_dir=release.checkout)
    release.commit(release.origin, "0.2.0", note="theirs")
    local = release.commit(release.checkout, "0.1.1", note="mine")  # diverged
    await jobs.start()
    reply = await owner_says(jobs, "/update")

    assert reply.startswith("The update failed, so nothing changed.")
    assert "git pull --ff-only failed" in reply and f"still running 0.1.1 ({local})" in reply
    assert release.head() == local
    assert (await owner_says(jobs, "still there?")).endswith("still there?")
    assert jobs.task is not None and not jobs.task.done()
