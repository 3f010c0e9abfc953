"""The one error hierarchy of Jobs; every message says what a person can do about it.

JobsError
├── ConfigError            a setting is missing or malformed (names the variable)
├── StorageError           the database cannot be opened, migrated or written
│   ├── SchemaTooNew       the database was written by a newer Jobs
│   └── StorageBusy        another program holds the database's write lock past the timeout
├── DiskFull               a file could not be written: its disk (or quota) is full
├── TelegramError          Telegram refused or failed a request
│   ├── NotLoggedIn        no authorised Telegram session: run `jobs login`
│   ├── TelegramUnreachable  Telegram (or TG_PROXY) could not be reached at start
│   └── RetryLater         a flood wait: try again after `seconds`
├── SessionError           a Claude session could not run a turn
│   ├── ResumeFailed       a stored session could not be resumed
│   ├── CliCrashed         Claude Code stopped in the middle of a turn
│   ├── RoleViolation      a session was offered tools its role does not allow
│   ├── TurnTimeout        a turn ran past QUERY_TIMEOUT_SECONDS
│   └── TurnRefused        /pause holds the turn, or a budget is spent
├── AlreadyRunning         another `jobs run` holds the data directory
├── ExtensionError         a skill, plugin or MCP server could not be managed
├── BrowserDown            the browser service does not answer (or its MCP server failed)
├── Cancelled              the person left a question (Ctrl-C, Ctrl-D)
└── BackupError            an archive could not be written, read or restored

Each class has the `jobs` command's exit code for it (`exit_code`).
"""

from __future__ import annotations

import errno
from pathlib import Path


class JobsError(Exception):
    """Base of every error Jobs raises on purpose."""

    exit_code = 1


class ConfigError(JobsError):
    """A setting is missing or malformed."""

    exit_code = 2

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


class StorageError(JobsError):
    """The database cannot be opened, migrated or written."""


class SchemaTooNew(StorageError):
    """The database schema is newer than this version of Jobs knows."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"The database schema is version {found}, but this Jobs only knows up to "
            f"version {known}. Upgrade Jobs (or point DATA_DIR at another directory)."
        )
        self.found = found
        self.known = known


class StorageBusy(StorageError):
    """Another connection (a backup, a `sqlite3` shell, a second tool) held the database's
    write lock for longer than the busy timeout. Nothing was written: the same operation may
    simply be tried again."""

    def __init__(self, path: Path, waited: float) -> None:
        super().__init__(
            f"The database {path} is locked by another program (a backup, a sqlite3 shell or "
            f"another tool writing to it); Jobs waited {waited:g} s. Let that program finish, "
            "or end its transaction, and Jobs carries on."
        )
        self.path = path
        self.waited = waited


class DiskFull(JobsError):
    """A file could not be written because its disk or quota is full; the old file (if any)
    is unchanged and no partial file is left behind."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(
            f"The disk is full, so {what} could not be saved in {path.parent}; nothing there "
            "was changed. Free some space on that disk and try again."
        )
        self.path = path

    @staticmethod
    def caused(exc: BaseException, /) -> bool:
        """True for an OSError that means "no space left" (ENOSPC) or "quota exceeded"."""
        return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class TelegramError(JobsError):
    """Telegram refused or failed a request."""


class NotLoggedIn(TelegramError):
    """There is no authorised Telegram session."""


class TelegramUnreachable(TelegramError):
    """Telegram, or the proxy in TG_PROXY, could not be reached (refused, no route, or no
    answer in time); the message says which and what to try."""

    exit_code = 69  # EX_UNAVAILABLE: a supervisor may try again later


class RetryLater(TelegramError):
    """Telegram asked us to wait (a flood wait) before the same request."""

    def __init__(self, seconds: float, message: str | None = None) -> None:
        super().__init__(message or f"Telegram asked to wait {seconds:.0f} s before retrying.")
        self.seconds = seconds


class SessionError(JobsError):
    """A Claude session could not run a turn."""


class ResumeFailed(SessionError):
    """A stored Claude session could not be resumed."""


class CliCrashed(SessionError):
    """Claude Code stopped in the middle of a turn (not one Jobs stopped)."""


class RoleViolation(SessionError):
    """A session was offered tools its role does not allow."""

    def __init__(self, role: str, extra: frozenset[str]) -> None:
        names = ", ".join(sorted(extra))
        super().__init__(f"The {role} session was offered tools it must not have: {names}")
        self.role = role
        self.extra = extra


class TurnTimeout(SessionError):
    """A turn ran past its time limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"The turn took longer than {seconds:.0f} s and was stopped.")
        self.seconds = seconds


class TurnRefused(SessionError):
    """A turn did not run, or was stopped, because /pause holds it or a budget is spent.
    `paused`: it waits for /resume (its messages are kept); else a budget refused it, for
    `period` (a day, or the month when `monthly`). `note`: what the owner is told when it
    was their own message (their own cap)."""

    def __init__(
        self,
        reason: str,
        /,
        *,
        paused: bool,
        period: str = "",
        monthly: bool = False,
        note: str = "",
    ) -> None:
        super().__init__(reason)
        self.paused = paused
        self.period = period
        self.monthly = monthly
        self.note = note


class AlreadyRunning(JobsError):
    """Another Jobs process holds the data directory."""


class ExtensionError(JobsError):
    """A skill, plugin or MCP server could not be managed."""


class BrowserDown(JobsError):
    """The browser service does not answer as Chromium, or Jobs' Playwright MCP server
    could not be started or stopped answering; the message says which and what to do."""


class Cancelled(JobsError):
    """The person stopped at a question (Ctrl-C or Ctrl-D); what was answered is kept."""

    exit_code = 130


class BackupError(JobsError):
    """A backup archive could not be written, verified or restored; nothing was half-done."""
