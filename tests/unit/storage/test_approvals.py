from __future__ import annotations

import re
from datetime import timedelta

import pytest

from jobs.storage import ApprovalRepo, ApprovalState, Database
from jobs.storage.approvals import CODE_ALPHABET
from tests.unit.storage.conftest import START, FakeClock

TTL = timedelta(minutes=10)


async def test_create_gives_short_unambiguous_unique_codes(db: Database) -> None:
    approvals = ApprovalRepo(db)
    created = [await approvals.create("owner", 7, "Bash", f"rm {n}", TTL) for n in range(50)]
    codes = [a.code for a in created]
    assert len(set(codes)) == 50
    assert all(re.fullmatch(f"[{CODE_ALPHABET}]{{4,6}}", code) for code in codes)
    assert not set("".join(codes)) & set("il0o1")
    first = created[0]
    assert (first.state, first.created_at, first.expires_at) == (
        ApprovalState.PENDING,
        START,
        START + TTL,
    )
    assert await approvals.get_by_code(f"  {first.code.upper()} ") == first
    assert await approvals.get(first.id) == first


async def test_decide_only_a_pending_unexpired_approval(db: Database, clock: FakeClock) -> None:
    approvals = ApprovalRepo(db)
    approval = await approvals.create("owner", None, "Write", "write /etc/x", TTL)
    clock.advance(minutes=1)
    decided = await approvals.decide(approval.code.upper(), ApprovalState.APPROVED)
    assert decided is not None
    assert (decided.state, decided.decided_at) == (ApprovalState.APPROVED, clock())
    assert await approvals.decide(approval.code, ApprovalState.DENIED) is None  # already decided
    assert await approvals.decide("zzzzz", ApprovalState.DENIED) is None
    with pytest.raises(ValueError, match="approved or denied"):
        await approvals.decide(approval.code, ApprovalState.EXPIRED)


async def test_expiry_with_injected_clock(db: Database, clock: FakeClock) -> None:
    approvals = ApprovalRepo(db)
    short = await approvals.create("owner", None, "Bash", "ls", timedelta(minutes=1))
    long = await approvals.create("owner", None, "Bash", "du", TTL)
    assert await approvals.expire_due() == []
    clock.advance(minutes=1)
    # Expired but not yet swept: a late "yes" must still be refused.
    assert await approvals.decide(short.code, ApprovalState.APPROVED) is None
    expired = await approvals.expire_due()
    assert [a.id for a in expired] == [short.id]
    assert expired[0].state is ApprovalState.EXPIRED
    assert await approvals.expire_due() == []
    assert [a.id for a in await approvals.pending()] == [long.id]
    decided = await approvals.decide(long.code, ApprovalState.DENIED)
    assert decided is not None and decided.state is ApprovalState.DENIED
