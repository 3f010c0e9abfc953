"""Jobs in an account of its own whose owner has never written to it: what is meant for the
owner waits in the outbox (not failed) and reaches them once they have written once."""

from __future__ import annotations

from tests.e2e.conftest import DEDICATED_OWNER_ID, MakeJobs

ALICE = 111


async def test_a_stranger_announced_before_the_owner_ever_wrote_reaches_them_later(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(tg_user_id=DEDICATED_OWNER_ID, external_users="approved")
    jobs.tg.add_user(ALICE, "Alice")
    await jobs.start()
    jobs.tg.incoming(ALICE, "hello, assistant")

    def waiting() -> bool:
        rows = jobs.query(
            "SELECT state, error FROM outbox WHERE chat_id = ?", (DEDICATED_OWNER_ID,)
        )
        return bool(rows) and rows[0]["state"] == "pending" and rows[0]["error"] is not None

    await jobs.wait_for(waiting, what="the announcement waiting for the owner")
    [row] = jobs.query("SELECT error FROM outbox")
    assert "From your own account, write any message to this account once." in row["error"]
    assert jobs.sent_texts(DEDICATED_OWNER_ID) == []

    await jobs.due_now(DEDICATED_OWNER_ID)
    jobs.tg.incoming(DEDICATED_OWNER_ID, "hi, it's your owner")  # now the account has met them
    announcement, reply = await jobs.replies_to(DEDICATED_OWNER_ID, 2)
    await jobs.settled()

    assert f"/allow_{ALICE}" in announcement and "hello, assistant" in announcement
    assert reply == "echo: hi, it's your owner"
    assert [r["state"] for r in jobs.query("SELECT state FROM outbox ORDER BY id")] == [
        "sent",
        "sent",
    ]
