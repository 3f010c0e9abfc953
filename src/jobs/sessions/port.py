"""Sessions: the port the conversation and the triggers run turns through. SessionManager is
the implementation (real Claude Code CLIs); tests/fakes/sessions.py scripts one, so ordering,
follow-ups, /stop and outages are tested in milliseconds."""

from __future__ import annotations

from typing import Protocol

from jobs.sessions.charges import Charge
from jobs.sessions.keys import SessionKey
from jobs.sessions.replies import Reply
from jobs.sessions.roles import RoleSpec
from jobs.sessions.stream import ReplyStream
from jobs.sessions.taint import Taint, TaintSource


class Sessions(Protocol):
    """Runs turns of sessions, one at a time per key.

    `run_turn` returns the Reply of `prompt` and of every follow-up injected while it ran;
    it raises SessionError when the session cannot take the turn (the caller decides whether
    that is an outage). `follow_up` returns False when no turn of `key` is running that would
    take it (the caller then makes it a turn of its own). `interrupt` stops the running turn
    (its run_turn returns a Reply marked interrupted); False when none runs. `flush` writes
    the records a `record_later` turn held back. `stream` is told the reply as it is written.
    `charge`: who the turn's spend counts against (default: the session's own); a turn the
    gate refuses (budgets, /pause) raises TurnRefused, before it runs or when /pause stops it.
    """

    async def run_turn(  # noqa: PLR0913 - one keyword per aspect of a turn, named at calls
        self,
        key: SessionKey,
        role: RoleSpec,
        prompt: str,
        *,
        person_id: int | None = None,
        taint: Taint | TaintSource | None = None,
        follow_ups: bool = True,
        record_later: bool = False,
        stream: ReplyStream | None = None,
        charge: Charge | None = None,
    ) -> Reply: ...

    def running(self, key: SessionKey, /) -> bool: ...

    async def follow_up(
        self, key: SessionKey, text: str, /, *, taint: Taint | None = None
    ) -> bool: ...

    async def interrupt(self, key: SessionKey, /) -> bool: ...

    async def reset(self, key: SessionKey, /) -> None:
        """/clear: the next turn starts afresh (no history, no summary, no taint)."""

    async def discard(self, key: SessionKey, /) -> None:
        """Forget a throwaway session after its one turn (process, row, folder, transcript)."""

    async def flush(self, key: SessionKey | None = None, /) -> None:
        """Write the records held back (`record_later`); with `key`, once its last turn's
        usage is known (a plain answer is given back before the CLI reports it)."""
