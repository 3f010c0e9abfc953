"""Senders: who wrote, as routing needs it; the owner's turn starts without a write."""

from __future__ import annotations

import pytest

from jobs.config import ExternalUsers
from jobs.conversation.routes import OwnerRoute, PersonRoute, route
from jobs.conversation.senders import Senders
from jobs.messages import InboundMessage
from jobs.storage import Database, InboxRepo
from jobs.storage.inbox import InboxItem
from jobs.storage.people import PeopleRepo

OWNER = 1000
ANNA = 7


async def written(db: Database, sender: int, msg_id: int, name: str = "") -> InboxItem:
    inbox = InboxRepo(db)
    message = InboundMessage(
        chat_id=sender, msg_id=msg_id, sender_id=sender, text="hi", sender_name=name
    )
    item = await inbox.add(message)
    assert item is not None
    return item


async def test_the_owner_is_recorded_once_a_run_and_others_every_time(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = PeopleRepo(db)
    senders = Senders(people=people, owner_id=OWNER)
    sightings: list[int] = []
    upsert = people.upsert_seen

    async def counted(user_id: int, /, **kw: object) -> object:
        sightings.append(user_id)
        return await upsert(user_id, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(people, "upsert_seen", counted)
    for n in range(3):
        owner = await senders.of(await written(db, OWNER, 10 + n))
        anna = await senders.of(await written(db, ANNA, 20 + n, "Anna"))
        policy = ExternalUsers.ALL
        assert route(owner, owner_id=OWNER, policy=policy) == OwnerRoute()
        assert route(anna, owner_id=OWNER, policy=policy) == PersonRoute(ANNA)
    assert sightings == [OWNER, ANNA, ANNA, ANNA]
    assert (await people.get(OWNER)) is not None  # the owner is known from the first message
