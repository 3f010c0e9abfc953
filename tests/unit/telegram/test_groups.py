"""Groups on the fake Telegram: finding the group the owner names (and why not), what counts
as addressing Jobs, and a group's recent messages."""

from __future__ import annotations

import pytest
from telethon import TelegramClient
from telethon.tl import types

from jobs.errors import TelegramError
from jobs.telegram.api import TelegramApi
from jobs.telegram.groups import GroupFinder, TelegramGroupContext, mentions
from jobs.telegram.inbound import SentLog
from jobs.telegram.media import TelegramMedia
from tests.fakes.telegram import FakeTelegram

ME, ALICE = 1000, 111
TEAM, TEAM2, NEWS, OLD = 60, 61, 70, 80


@pytest.fixture
def finder(tg: FakeTelegram, tg_client: TelegramClient) -> GroupFinder:
    tg.add_user(ALICE, "Alice", username="alice", contact=True)
    tg.add_channel(TEAM, "Team Berlin", megagroup=True)
    tg.add_channel(TEAM2, "Team Paris", megagroup=True)
    tg.add_channel(NEWS, "Daily News", username="dailynews")
    tg.add_chat(OLD, "Old friends", left=True)
    for chat in (TEAM, TEAM2, NEWS, OLD):
        tg.incoming(ALICE, "hi", chat=chat, deliver=False)
    tg.incoming(ALICE, "hi", deliver=False)
    api = TelegramApi(
        client=tg_client, sent_log=SentLog(), owner_id=ME, media=TelegramMedia(client=tg_client)
    )
    return GroupFinder(api=api)


async def test_a_group_is_found_by_its_title_or_id(finder: GroupFinder) -> None:
    assert await finder.find_group("Team Berlin") == (-(10**12 + TEAM), "Team Berlin")
    assert await finder.find_group(str(-(10**12 + TEAM2))) == (-(10**12 + TEAM2), "Team Paris")


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("Team", "Several chats match 'Team'"),
        ("Chess club", "No contact or recent chat is called 'Chess club'"),
        ("@alice", "is a person, not a group"),
        ("@dailynews", "is a channel: nobody writes to Jobs there"),
        ("Old friends", "This account is not in Old friends"),
    ],
)
async def test_what_is_not_one_group_is_said(finder: GroupFinder, ref: str, why: str) -> None:
    with pytest.raises(TelegramError, match=why):
        await finder.find_group(ref)


async def test_what_addresses_jobs(tg: FakeTelegram, tg_client: TelegramClient) -> None:
    tg.add_channel(TEAM, "Team", megagroup=True)
    me = await tg_client.get_me()

    def message(text: str, *entities: object, mentioned: bool = False) -> object:
        got = tg.incoming(ALICE, text, chat=TEAM, deliver=False, entities=list(entities) or None)
        got.mentioned = mentioned or None
        got._client = tg_client  # get_entities_text needs nothing more
        return got

    at_me = types.MessageEntityMention(offset=4, length=3)
    assert mentions(message("hey @me", at_me), me)
    assert mentions(message("hey @ME", at_me), me)  # usernames ignore case
    assert mentions(message("hey you", types.MessageEntityMentionName(4, 3, ME)), me)
    assert mentions(message("a reply", mentioned=True), me)  # Telegram's own flag
    assert not mentions(message("hey @mo", at_me), me)
    assert not mentions(message("hey @me"), me)  # typed, but Telegram made no mention of it
    assert not mentions(message("hey you", types.MessageEntityMentionName(4, 3, ALICE)), me)


async def test_a_groups_recent_messages(tg: FakeTelegram, tg_client: TelegramClient) -> None:
    tg.add_user(ALICE, "Alice")
    tg.add_channel(TEAM, "Team", megagroup=True)
    tg.seed(tg_client, tg.chats[TEAM])
    for n in range(30):
        tg.incoming(ALICE, f"message {n}", chat=TEAM, deliver=False)
    asked = tg.incoming(ALICE, "the question", chat=TEAM, deliver=False)
    lines = await TelegramGroupContext(client=tg_client, limit=5).recent(-(10**12 + TEAM), asked.id)
    assert [(line.sender, line.text) for line in lines] == [
        ("Alice", f"message {n}") for n in range(25, 30)
    ]
    assert await TelegramGroupContext(client=tg_client).recent(-(10**12 + 99), 5) == []
