"""SessionSettings: the parts of Settings the sessions use, as one value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jobs.config import Settings
from jobs.sessions.agent import INTERRUPT_GRACE_SECONDS
from jobs.sessions.clipids import cli_pids_path
from jobs.sessions.options import cli_env, cli_settings, people_dir


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """The parts of Settings the sessions use; tests pass extra CLI env (the fake model's URL).

    `cli_pids`: the file each running CLI is recorded in, so the next start can end those a
    killed Jobs left behind (clipids.py); None records nothing."""

    workspace_dir: Path
    people_dir: Path
    scratch_dir: Path | None = None
    """Parent of the empty folders throwaway sessions (channel posts) run in (default:
    beside people_dir)."""
    env: Mapping[str, str] = field(default_factory=dict)
    max_live: int = 4
    turn_timeout: float = 300.0
    interrupt_grace: float = INTERRUPT_GRACE_SECONDS
    cli_pids: Path | None = None
    linger: float = 2.0
    """Seconds a process of a role that does not keep warm outlives its last turn."""
    cli_settings: str | None = None
    """The CLI's --settings JSON (options.cli_settings: how it reads the API key)."""

    @classmethod
    def from_settings(
        cls, settings: Settings, *, extra_env: Mapping[str, str] | None = None
    ) -> SessionSettings:
        return cls(
            workspace_dir=settings.workspace_dir,
            people_dir=people_dir(settings),
            scratch_dir=settings.data_dir / "scratch",
            env=cli_env(settings, extra=extra_env),
            max_live=settings.max_live_sessions,
            turn_timeout=settings.query_timeout_seconds,
            cli_pids=cli_pids_path(settings.data_dir),
            cli_settings=cli_settings(settings),
        )
