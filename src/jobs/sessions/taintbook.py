"""TaintBook: each session's sticky taint — read from SessionRepo when its session starts,
marked when outside text comes in (a turn that brings it, or a call that reads it), cleared
only by /clear — and the TaintRule its PreToolUse guard enforces."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from jobs.clock import Clock
from jobs.sessions.keys import SessionKey
from jobs.sessions.keystate import KeyStates
from jobs.sessions.taint import Approver, OutsideReads, Taint, TaintRule, TaintSource
from jobs.storage import SessionRecord, SessionRepo

logger = logging.getLogger(__name__)

Confinement = Callable[[SessionKey], TaintSource]
"""What a tainted session of a key may do alone, by its role (SessionBuilder.confinement)."""


class TaintBook:
    """Sticky taint per session key (kept in KeyStates while the key is in use)."""

    def __init__(
        self,
        *,
        repo: SessionRepo,
        keys: KeyStates,
        confinement: Confinement,
        read_only: frozenset[str],
        approver: Approver | None,
        outside: OutsideReads | None,
        clock: Clock,
    ) -> None:
        self._repo = repo
        self._keys = keys
        self._confinement = confinement
        self._read_only = read_only
        self._approver = approver
        self._outside = outside
        self._clock = clock

    def of(self, key: SessionKey, /) -> Taint | None:
        """Why `key`'s session is tainted, if it is and its state is in memory."""
        state = self._keys.get(key)
        return None if state is None else state.taint

    async def known(self, key: SessionKey, /) -> Taint | None:
        """Why `key`'s session is tainted, from memory or SessionRepo."""
        if (taint := self.of(key)) is not None:
            return taint
        record = await self._repo.get(str(key))
        return (
            None if record is None or not record.tainted_by else Taint.from_json(record.tainted_by)
        )

    def load(self, key: SessionKey, record: SessionRecord, /) -> None:
        """The stored taint of a session being started."""
        state = self._keys.of(key)
        if record.tainted_by and state.taint is None:
            state.taint = Taint.from_json(record.tainted_by)

    async def mark(self, key: SessionKey, taint: Taint | TaintSource, /) -> None:
        """`key`'s session takes in outside text: tainted from now on (kept in SessionRepo)."""
        state = self._keys.of(key)
        if state.taint is not None:
            return
        state.taint = Taint(
            caused_by=taint.caused_by, person_id=taint.person_id, since=self._clock()
        )
        if not await self._repo.set_tainted(str(key), state.taint.to_json()):
            logger.warning("%s: its taint could not be stored (no session row yet)", key)

    def clear(self, key: SessionKey, /) -> None:
        """/clear: the session starts afresh, having read nothing (SessionRepo cleared too)."""
        state = self._keys.get(key)
        if state is not None:
            state.taint = None

    def rule(self, key: SessionKey, /) -> TaintRule:
        """What the hooks of `key`'s session let it do once it is tainted."""

        async def mark(taint: Taint) -> None:
            await self.mark(key, taint)

        return TaintRule(
            is_tainted=lambda: self.of(key) is not None,
            read_only=self._read_only,
            source=lambda: self._source_of(key),
            approver=self._approver,
            mark=mark,
            outside=self._outside,
            taint=lambda: self.of(key),
        )

    def _source_of(self, key: SessionKey) -> TaintSource:
        """The running turn's own rules, else the role's; the cause is the session's own."""
        state = self._keys.get(key)
        own = None if state is None else state.source
        if own is not None:
            return own
        source = self._confinement(key)
        taint = self.of(key)
        if taint is None:
            return source
        return dataclasses.replace(source, caused_by=taint.caused_by, person_id=taint.person_id)
