"""A message in, a reply out: the whole of Jobs on the fake Telegram and the scripted model."""

from __future__ import annotations

from tests.e2e.conftest import OWNER_ID, Jobs
from tests.fakes.anthropic import text


async def test_owner_note_in_saved_messages_is_answered(jobs: Jobs) -> None:
    jobs.model.push(text("Hello, **owner**!"))
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "hi Jobs")
    [reply] = await jobs.replies_to(OWNER_ID)
    assert reply == "Hello, owner!"
    assert "hi Jobs" in jobs.model.calls[0].last_user_text
