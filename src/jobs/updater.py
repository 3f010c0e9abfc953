"""/update: bring the Jobs checkout to its latest version (or run UPDATE_COMMAND), then restart.

Restarting is the runner's job: after a successful update `Restart` is requested, `jobs run`
stops as on SIGTERM once the work in flight has settled, and exits with RESTART_EXIT_CODE;
`scripts/run` (or Docker's restart policy) starts it again on the new code. A failed update
changes nothing that runs: a refused pull leaves the checkout as it was, and a failed
reinstall puts the checkout back to the old commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import tomllib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from jobs import __version__
from jobs.errors import JobsError
from jobs.i18n.translator import Translator, english

logger = logging.getLogger(__name__)

RESTART_EXIT_CODE: Final = 75
"""`jobs run` exits with this after /update (EX_TEMPFAIL: "try again"); scripts/run loops on it."""
STEP_TIMEOUT: Final = 900.0
_OUTPUT_TAIL: Final = 800


class UpdateFailed(JobsError):
    """An update step failed; the running version is untouched (the message says what happened)."""


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    old: str
    """The version that was running, e.g. "0.1.0 (1a2b3c4)"."""
    new: str
    changed: bool
    """False when there was nothing newer (no restart then)."""


class Restart:
    """A request to restart Jobs, made by /update and awaited by the app's serve loop."""

    def __init__(self) -> None:
        self._requested = asyncio.Event()

    def request(self) -> None:
        self._requested.set()

    @property
    def requested(self) -> bool:
        return self._requested.is_set()

    @property
    def exit_code(self) -> int:
        """What `jobs run` exits with: RESTART_EXIT_CODE once a restart was requested."""
        return RESTART_EXIT_CODE if self.requested else 0

    async def wait(
        self, *, settle: Callable[[], Awaitable[object]] | None = None, grace: float = 60.0
    ) -> None:
        """Until a restart is requested and `settle` (finish replies in flight) has returned,
        or `grace` seconds have passed: what is still unfinished then is resumed after start."""
        await self._requested.wait()
        if settle is None:
            return
        try:
            async with asyncio.timeout(grace):
                await settle()
        except TimeoutError:
            logger.warning("Restarting with work still in flight after %.0f s", grace)


def default_repo_dir() -> Path:
    """The checkout Jobs runs from (src/jobs/ → the repository root)."""
    return Path(__file__).resolve().parents[2]


def default_install(repo_dir: Path) -> tuple[str, ...]:
    """scripts/install when the checkout has it (it installs only what changed), else pip."""
    script = repo_dir / "scripts" / "install"
    if os.access(script, os.X_OK):
        return (str(script),)
    return (sys.executable, "-m", "pip", "install", "--quiet", "-e", str(repo_dir))


class Updater:
    """Runs /update against one installation."""

    def __init__(
        self,
        *,
        restart: Restart,
        repo_dir: Path,
        command: str | None = None,
        install: Sequence[str] | None = None,
        timeout: float = STEP_TIMEOUT,
    ) -> None:
        """`command`: UPDATE_COMMAND, run by the shell in `repo_dir` instead of git pull and
        `install` (the reinstall after a pull; default: `default_install`)."""
        self._restart = restart
        self._repo = repo_dir
        self._command = command
        self._install = tuple(install) if install is not None else default_install(repo_dir)
        self._timeout = timeout
        self._lock = asyncio.Lock()

    async def update(self, words: Translator | None = None) -> UpdateOutcome:
        """Update; on success a restart is requested. Raises UpdateFailed, said in `words`."""
        t = words or english()
        async with self._lock:
            if self._command:
                return await self._run_command(self._command, t)
            return await self._pull_and_install(t)

    async def current_version(self) -> str:
        """The checkout's version and commit, e.g. "0.1.0 (1a2b3c4)"."""
        version = _project_version(self._repo) or __version__
        try:
            commit = await self._git(english(), "rev-parse", "--short", "HEAD")
        except UpdateFailed:
            return version
        return f"{version} ({commit})"

    async def _pull_and_install(self, t: Translator) -> UpdateOutcome:
        try:
            old_rev = await self._git(t, "rev-parse", "HEAD")
        except UpdateFailed:
            raise UpdateFailed(
                t.gettext(
                    "{repo} is not a git checkout, so there is nothing to pull. Set "
                    "UPDATE_COMMAND to the command that updates this installation (with Docker, "
                    "pull the new image on the host instead).",
                    repo=self._repo,
                )
            ) from None
        old = await self.current_version()
        try:
            await self._step(t, ("git", "pull", "--ff-only"), "git pull --ff-only")  # i18n: skip
        except UpdateFailed as exc:
            raise UpdateFailed(
                t.gettext("{error}\nNothing was changed; still running {old}.", error=exc, old=old)
            ) from None
        if await self._git(t, "rev-parse", "HEAD") == old_rev:
            return UpdateOutcome(old=old, new=old, changed=False)
        try:
            await self._step(t, self._install, t.gettext("the reinstall"))
        except UpdateFailed as exc:
            back = await self._roll_back(t, old_rev)
            raise UpdateFailed(
                t.gettext("{error}\n{back} Still running {old}.", error=exc, back=back, old=old)
            ) from None
        new = await self.current_version()
        logger.info("Updated Jobs from %s to %s; restarting", old, new)
        self._restart.request()
        return UpdateOutcome(old=old, new=new, changed=True)

    async def _run_command(self, command: str, t: Translator) -> UpdateOutcome:
        old = await self.current_version()
        try:
            await self._step(t, ("/bin/sh", "-c", command), "UPDATE_COMMAND")
        except UpdateFailed as exc:
            raise UpdateFailed(
                t.gettext("{error}\nStill running {old}.", error=exc, old=old)
            ) from None
        new = await self.current_version()
        logger.info("UPDATE_COMMAND succeeded (%s → %s); restarting", old, new)
        self._restart.request()
        return UpdateOutcome(old=old, new=new, changed=True)

    async def _roll_back(self, t: Translator, old_rev: str) -> str:
        try:
            # --keep: back to the old commit without touching local edits to other files.
            await self._git(t, "reset", "--keep", old_rev)
        except UpdateFailed as exc:
            logger.error("Could not put the checkout back to %s: %s", old_rev, exc)
            return t.gettext(
                "The checkout could NOT be put back to {commit} ({error}); fix it by hand.",
                commit=old_rev[:7],
                error=exc,
            )
        return t.gettext("The checkout was put back to {commit}.", commit=old_rev[:7])

    async def _git(self, t: Translator, *args: str) -> str:
        return await self._step(t, ("git", *args), f"git {args[0]}")

    async def _step(self, t: Translator, argv: Sequence[str], what: str) -> str:
        """Run one command in the checkout; its stdout, or UpdateFailed with its output's end."""
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}  # never wait for a password
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=self._repo,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group: a timeout stops its children
            )
        except OSError as exc:
            raise UpdateFailed(
                t.gettext("{what} could not start: {error}", what=what, error=exc)
            ) from exc
        try:
            async with asyncio.timeout(self._timeout):
                out, err = await process.communicate()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.communicate()
            raise UpdateFailed(
                t.gettext(
                    "{what} took longer than {seconds} s.",
                    what=what,
                    seconds=round(self._timeout),
                )
            ) from None
        if process.returncode != 0:
            tail = (err or out).decode(errors="replace").strip()[-_OUTPUT_TAIL:]
            raise UpdateFailed(
                t.gettext(
                    "{what} failed (exit {code}): {output}",
                    what=what,
                    code=process.returncode,
                    output=tail,
                )
            )
        return out.decode(errors="replace").strip()


def _project_version(repo: Path) -> str | None:
    try:
        with (repo / "pyproject.toml").open("rb") as file:
            project = tomllib.load(file).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    version = project.get("version") if isinstance(project, dict) else None
    return str(version) if version else None
