"""TurnRecords: each CLI turn's usage row and each session's rolling summary, written at once or
held back (a turn run with record_later) until flush(), so a reply never waits for them.

A CLI turn's cost: Claude Code's `total_cost_usd` counts the whole session, across resumes
(measured, CLI 2.1.330), so a turn costs the difference to the total seen before it, which is
kept with the session's row. A total lower than that one belongs to a session started afresh.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from claude_agent_sdk import ResultMessage

from jobs.errors import StorageError
from jobs.sessions import summary
from jobs.sessions.agent import AgentSession
from jobs.sessions.charges import Charge
from jobs.sessions.keys import SessionKey
from jobs.sessions.replies import Reply, Usage
from jobs.storage import SessionRepo, UsageRepo

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _UsageRow:
    """One CLI turn's usage, as UsageRepo.record takes it."""

    key: SessionKey
    role: str
    person_id: int | None
    model: str | None
    usage: Usage
    charge: Charge
    total: float
    """The session's total cost after this turn (kept with its row)."""


class TurnRecords:
    """Usage rows and summaries; the summaries are also kept here (a fresh start reads them)."""

    def __init__(self, *, sessions: SessionRepo, usage: UsageRepo) -> None:
        self._repo = sessions
        self._usage = usage
        self._summaries: dict[SessionKey, str] = {}
        self._later: set[SessionKey] = set()  # keys whose running turn holds its records back
        self._held_usage: list[_UsageRow] = []
        self._held_summaries: set[SessionKey] = set()  # keys whose summary is newer than its row
        self._flushing = asyncio.Lock()  # so held records are written in the order they came
        self._charges: dict[SessionKey, Charge] = {}  # key → its running turn's charge
        self._totals: dict[SessionKey, float] = {}  # key → its session's cost so far

    def begin(self, key: SessionKey, charge: Charge, /, *, later: bool) -> None:
        """`key`'s turn starts: its usage counts against `charge`; `later`: its records are
        held back (until `release` and `flush`)."""
        self._charges[key] = charge
        if later:
            self._later.add(key)

    def release(self, key: SessionKey, /) -> None:
        """`key`'s turn ended: its next records are written at once again (a stray result
        counts against the session's own charge)."""
        self._later.discard(key)
        self._charges.pop(key, None)

    def load(self, key: SessionKey, text: str, /, *, cost_total: float = 0.0) -> None:
        """The summary and cost so far stored for `key` (read when its session starts)."""
        self._summaries[key] = text
        self._totals[key] = cost_total

    def summary_of(self, key: SessionKey, /) -> str:
        return self._summaries.get(key, "")

    def forget(self, key: SessionKey, /) -> None:
        """`key` starts afresh (/clear), or its process closed: the summary kept here goes
        (SessionRepo has it), unless one is still to be written (flush keeps it)."""
        if key not in self._held_summaries:
            self._summaries.pop(key, None)
            self._totals.pop(key, None)

    def cleared(self, key: SessionKey, /) -> None:
        """`key` starts afresh (/clear, a throwaway session's end): its cost starts at 0."""
        self._totals.pop(key, None)

    async def result(
        self, session: AgentSession, result: ResultMessage, /, *, model: str | None
    ) -> float:
        """Record a CLI turn's usage; returns what it cost."""
        key = session.key
        total = float(result.total_cost_usd or 0.0)
        before = self._totals.get(key, 0.0)
        cost = total - before if total >= before else total
        self._totals[key] = total
        if model is None:  # no answer came (an error): the model it was asked for
            model = session.role.model or next(iter(result.model_usage or {}), None)
        charge = self._charges.get(key) or Charge.of_key(key)
        usage = Usage.of(result, cost_usd=cost)
        row = _UsageRow(key, session.role.name, session.person_id, model, usage, charge, total)
        if key in self._later:
            self._held_usage.append(row)
        else:
            await self._record_usage(row)
        return cost

    async def remember(self, key: SessionKey, prompt: str, reply: Reply, /) -> None:
        """Roll `key`'s summary on with this exchange (a fresh start is primed with it)."""
        if reply.is_error or not reply.text:
            return
        rolled = summary.roll(self._summaries.get(key, ""), prompt, reply.text)
        self._summaries[key] = rolled
        if key in self._later:
            self._held_summaries.add(key)
        else:
            await self._repo.set_summary(str(key), rolled)

    async def flush(self) -> None:
        """Write the usage rows and summaries held back.
        A failure is logged (they are bookkeeping: the reply is already on its way)."""
        async with self._flushing:
            rows, self._held_usage = self._held_usage, []
            keys, self._held_summaries = self._held_summaries, set()
            try:
                for row in rows:
                    await self._record_usage(row)
                for key in keys:  # the newest summary: a later turn may have rolled it on
                    if key in self._summaries:
                        await self._repo.set_summary(str(key), self._summaries[key])
            except StorageError:
                logger.exception("could not write %d usage rows and summaries", len(rows))

    async def _record_usage(self, row: _UsageRow) -> None:
        usage = row.usage
        await self._usage.record(
            str(row.key),
            row.role,
            row.person_id,
            row.model,
            payer=row.charge.payer,
            payer_label=row.charge.label,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            cost_usd=usage.cost_usd,
            duration_ms=usage.duration_ms,
        )
        await self._repo.set_cost_total(str(row.key), row.total)
