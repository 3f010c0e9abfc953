"""The Telegram edge on the fake: real TelegramClient, real NewMessage handlers, real requests."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from telethon import TelegramClient
from telethon.tl import functions, types

from jobs.errors import RetryLater, TelegramError
from jobs.messages import REPLIED_CHARS, Channel, InboundMessage, OutboundMessage, Replied
from jobs.telegram.formatting import MESSAGE_LIMIT, render_markdown, split_message, utf16_len
from jobs.telegram.inbound import SentLog, TelegramInbound
from jobs.telegram.outbound import TelegramChannel, derive_random_id
from tests.fakes.telegram import FakeTelegram, mk, reply_to_msg_id
from tests.fakes.tl import now, updates

ME = 1000  # the fake account's own id
ANN = 111  # a stranger who writes to Jobs
SendMessage = functions.messages.SendMessageRequest


class Edge:
    """Inbound + channel wired on one client, as app.py does."""

    def __init__(self, client: TelegramClient, owner_id: int) -> None:
        self.got: list[InboundMessage] = []
        self.sent_log = SentLog()
        self.channel = TelegramChannel(client=client, sent_log=self.sent_log)
        self.inbound = TelegramInbound(
            client=client, owner_id=owner_id, on_message=self._collect, sent_log=self.sent_log
        )
        self.inbound.register()

    async def _collect(self, message: InboundMessage) -> None:
        self.got.append(message)


@pytest.fixture
def ann(tg: FakeTelegram) -> types.User:
    return tg.add_user(ANN, "Ann", "Lee", username="ann", contact=True)


@pytest.fixture
def edge(tg: FakeTelegram, tg_client: TelegramClient, ann: types.User) -> Edge:
    """A dedicated account (me=1000) whose owner is user 222; Ann is already known."""
    tg.seed(tg_client, ann)
    return Edge(tg_client, owner_id=222)


@pytest.fixture
def own(tg_client: TelegramClient, edge: Edge) -> Edge:
    """The owner's own account: owner_id == me.id."""
    edge.inbound.unregister()
    return Edge(tg_client, owner_id=ME)


# -- inbound ------------------------------------------------------------------------------


async def test_private_message_from_stranger_is_parsed(tg: FakeTelegram, edge: Edge) -> None:
    sent = tg.incoming(ANN, "hello Jobs", reply_to=7)
    await tg.idle()
    assert edge.got == [
        InboundMessage(
            chat_id=ANN,
            msg_id=sent.id,
            sender_id=ANN,
            text="hello Jobs",
            sender_name="Ann Lee",
            sender_username="ann",
            sender_is_contact=True,
            reply_to=7,
        )
    ]


async def test_a_reply_carries_the_earlier_message_and_who_wrote_it(
    tg: FakeTelegram, edge: Edge
) -> None:
    mine = tg.incoming(ANN, "my address is " + "x" * 2000)
    await tg.idle()
    ref = await edge.channel.send(OutboundMessage(chat_id=ANN, text="Noted, Ann."))
    quoted = mk(types.MessageReplyHeader, reply_to_msg_id=ref.msg_id, quote_text="Noted")
    tg.incoming(ANN, "about that", reply_to=mine.id)
    tg.incoming(ANN, "what did you note?", reply_to=quoted)
    await tg.idle()
    own, jobs = (m.replied for m in edge.got[1:])
    assert own is not None and own.by == "person" and own.outside
    assert len(own.text) == REPLIED_CHARS and own.text.startswith("my address is")
    # Jobs' own message, as the writer quoted part of it; outside unless known trusted.
    assert jobs == Replied(msg_id=ref.msg_id, text="Noted", by="jobs", outside=True)


async def test_the_owners_reply_to_a_trusted_answer_is_not_outside_text(
    tg: FakeTelegram, own: Edge
) -> None:
    async def trust(chat_id: int, msg_id: int) -> bool | None:
        return True if (chat_id, msg_id) == (ME, answer.msg_id) else None

    own.inbound.unregister()  # again, knowing which of Jobs' messages are trusted
    own.inbound = TelegramInbound(
        client=own.inbound._client,
        owner_id=ME,
        on_message=own._collect,
        sent_log=own.sent_log,
        sent_trust=trust,
    )
    own.inbound.register()
    note = tg.outgoing(ME, "dentist on Tuesday")
    await tg.idle()
    answer = await own.channel.send(OutboundMessage(chat_id=ME, text="Booked."))
    tg.outgoing(ME, "move it", reply_to=answer.msg_id)
    tg.outgoing(ME, "and this?", reply_to=note.id)
    await tg.idle()
    replied = [m.replied for m in own.got if m.replied is not None]
    assert replied == [
        Replied(msg_id=answer.msg_id, text="Booked.", by="jobs", outside=False),
        Replied(msg_id=note.id, text="dentist on Tuesday", by="owner", outside=False),
    ]


async def test_non_conversations_are_ignored(tg: FakeTelegram, edge: Edge) -> None:
    tg.add_chat(500, "Family")
    tg.add_channel(600, "Club", megagroup=True)
    tg.add_channel(700, "News")
    tg.add_user(333, "Helper", username="helper_bot", bot=True)
    tg.incoming(ANN, "in a group", chat=500)
    tg.incoming(ANN, "in a supergroup", chat=600)
    tg.channel_post(700, "a post")
    tg.incoming(333, "I am a bot")
    _service_message(tg, ANN)
    await tg.idle()
    assert edge.got == []


async def test_media_is_described_not_downloaded(tg: FakeTelegram, edge: Edge) -> None:
    doc = _document(tg, "application/pdf", 1234, types.DocumentAttributeFilename("cv.pdf"))
    voice = _document(tg, "audio/ogg", 99, types.DocumentAttributeAudio(duration=3, voice=True))
    size = mk(types.PhotoSize, type="x", w=10, h=10, size=500)
    photo = mk(types.Photo, id=9, access_hash=1, file_reference=b"r", date=now(), sizes=[size])
    tg.incoming(ANN, "my CV", media=types.MessageMediaDocument(document=doc))
    tg.incoming(ANN, "", media=types.MessageMediaDocument(document=voice))
    tg.incoming(ANN, "", media=types.MessageMediaPhoto(photo=photo))
    await tg.idle()
    assert [m.media for m in edge.got] == [
        {"kind": "document", "file_name": "cv.pdf", "size": 1234, "mime_type": "application/pdf"},
        {"kind": "voice", "size": 99, "mime_type": "audio/ogg", "duration": 3},
        {"kind": "photo", "size": 500, "mime_type": "image/jpeg"},
    ]
    assert edge.got[0].text == "my CV"
    assert not tg.of(functions.upload.GetFileRequest)


async def test_empty_text_without_media_is_ignored(tg: FakeTelegram, edge: Edge) -> None:
    tg.incoming(ANN, "")
    await tg.idle()
    assert edge.got == []


async def test_dedicated_account_owner_writes_like_anyone(tg: FakeTelegram, edge: Edge) -> None:
    tg.add_user(222, "Olga")
    tg.incoming(222, "status?")
    tg.outgoing(ME, "a note in this account's Saved Messages")
    tg.outgoing(ANN, "someone typing in this account by hand")
    await tg.idle()
    assert [(m.sender_id, m.chat_id, m.text) for m in edge.got] == [(222, 222, "status?")]


async def test_own_account_saved_messages_are_the_owner(tg: FakeTelegram, own: Edge) -> None:
    note = tg.outgoing(ME, "remind me to call Ann")
    await tg.idle()
    assert [(m.chat_id, m.msg_id, m.sender_id, m.text) for m in own.got] == [
        (ME, note.id, ME, "remind me to call Ann")
    ]


async def test_own_account_messages_to_others_are_ignored(tg: FakeTelegram, own: Edge) -> None:
    tg.outgoing(ANN, "see you at 8")
    await tg.idle()
    assert own.got == []


async def test_own_account_strangers_still_reach_jobs(tg: FakeTelegram, own: Edge) -> None:
    tg.incoming(ANN, "is Olga around?")
    await tg.idle()
    assert [(m.sender_id, m.text) for m in own.got] == [(ANN, "is Olga around?")]


async def test_own_account_ignores_jobs_replies_in_saved_messages(
    tg: FakeTelegram, own: Edge
) -> None:
    """Telegram may push the reply's update before the send returns its id: inbound waits."""
    original = tg._handlers[SendMessage]

    async def send_then_push_first(req: object) -> object:
        result = original(req)
        _, upd = tg.log[-1]
        tg.push(updates([upd], [tg.me], []))
        await asyncio.sleep(0.05)  # the pushed update is dispatched before the answer
        return result

    tg.handle(SendMessage, send_then_push_first)
    ref = await own.channel.send(
        OutboundMessage(chat_id=ME, text="Done: reminder set.", random_id=5)
    )
    await tg.idle()
    assert own.got == []
    assert (ME, ref.msg_id) in own.sent_log
    tg.outgoing(ME, "thanks")  # the owner's next note still counts
    await tg.idle()
    assert [m.text for m in own.got] == ["thanks"]


async def test_reply_round_trip_does_not_loop(tg: FakeTelegram, own: Edge) -> None:
    tg.outgoing(ME, "hi")
    await tg.idle()
    [msg] = own.got
    await own.channel.send(OutboundMessage(chat_id=msg.chat_id, text="hello", reply_to=msg.msg_id))
    await tg.idle()
    assert len(own.got) == 1
    assert [m.message for m in tg.outbox] == ["hello"]


# -- outbound -----------------------------------------------------------------------------


async def test_markdown_reply_goes_out_with_entities(tg: FakeTelegram, edge: Edge) -> None:
    channel: Channel = edge.channel
    ref = await channel.send(
        OutboundMessage(chat_id=ANN, text="**Done** with `make test`", reply_to=4, random_id=77)
    )
    [req] = tg.of(SendMessage)
    assert req.message == "Done with make test"
    assert [type(e) for e in req.entities] == [types.MessageEntityBold, types.MessageEntityCode]
    assert (req.random_id, reply_to_msg_id(req)) == (77, 4)
    [sent] = tg.outbox
    assert (ref.chat_id, ref.msg_id, ref.duplicate) == (ANN, sent.id, False)


async def test_long_reply_is_split_in_order(tg: FakeTelegram, edge: Edge) -> None:
    paragraph = "Line with **bold** and an emoji 🙂 " * 30
    text = "\n\n".join(f"{i}. {paragraph}" for i in range(100))  # ~100 kB
    assert len(text.encode()) > 100_000
    ref = await edge.channel.send(OutboundMessage(chat_id=ANN, text=text, reply_to=3, random_id=10))
    reqs = tg.of(SendMessage)
    expected = split_message(render_markdown(text), MESSAGE_LIMIT)
    assert len(reqs) == len(expected) > 20
    assert [r.message for r in reqs] == [c.text for c in expected]
    assert all(utf16_len(r.message) <= MESSAGE_LIMIT for r in reqs)
    assert [r.random_id for r in reqs] == [derive_random_id(10, i) for i in range(len(reqs))]
    assert [reply_to_msg_id(r) for r in reqs] == [3] + [None] * (len(reqs) - 1)
    assert [m.message for m in tg.outbox] == [c.text for c in expected]
    assert ref.msg_id == tg.outbox[0].id


async def test_resend_never_duplicates(tg: FakeTelegram, edge: Edge) -> None:
    text = "\n\n".join(["x" * 3000] * 4)  # four chunks
    message = OutboundMessage(chat_id=ANN, text=text, random_id=2**63 - 2)
    # Chunk 2 (random_id wraps round to 1) hits a flood wait: chunks 0 and 1 are out.
    tg.fail(SendMessage, "FLOOD_WAIT_7", code=420, when=lambda r: r.random_id == 1)
    with pytest.raises(RetryLater):
        await edge.channel.send(message)
    assert len(tg.outbox) == 2
    started = time.monotonic()
    ref = await edge.channel.send(message)
    assert time.monotonic() - started < 1.5  # a duplicate is not retried like a server error
    assert [m.message for m in tg.outbox] == ["x" * 3000] * 4
    assert ref.duplicate is False
    again = await edge.channel.send(message)
    assert (again.duplicate, again.msg_id, len(tg.outbox)) == (True, 0, 4)


async def test_entity_rejection_resends_plain_text(tg: FakeTelegram, edge: Edge) -> None:
    tg.fail(SendMessage, "ENTITY_BOUNDS_INVALID")
    ref = await edge.channel.send(OutboundMessage(chat_id=ANN, text="*hi* there", random_id=9))
    first, second = tg.of(SendMessage)
    assert first.entities and not second.entities
    assert second.message == "hi there" and second.random_id == first.random_id == 9
    [sent] = tg.outbox
    assert sent.id == ref.msg_id and not sent.entities


async def test_flood_wait_is_retry_later(tg: FakeTelegram, edge: Edge) -> None:
    tg.fail(SendMessage, "FLOOD_WAIT_30", code=420)
    with pytest.raises(RetryLater) as caught:
        await edge.channel.send(OutboundMessage(chat_id=ANN, text="hi", random_id=3))
    assert caught.value.seconds == 30
    assert tg.outbox == []


async def test_slow_mode_is_retry_later(tg: FakeTelegram, edge: Edge) -> None:
    tg.fail(SendMessage, "SLOWMODE_WAIT_5", code=420)
    with pytest.raises(RetryLater) as caught:
        await edge.channel.send(OutboundMessage(chat_id=ANN, text="hi", random_id=3))
    assert caught.value.seconds == 5


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ("USER_IS_BLOCKED", "blocked this account"),
        ("PEER_ID_INVALID", "does not know this chat"),
        ("INPUT_USER_DEACTIVATED", "deleted"),
        ("SOMETHING_NEW", "SOMETHING_NEW"),
    ],
)
async def test_refusals_are_telegram_errors(
    tg: FakeTelegram, edge: Edge, error: str, words: str
) -> None:
    tg.fail(SendMessage, error)
    with pytest.raises(TelegramError) as caught:
        await edge.channel.send(OutboundMessage(chat_id=ANN, text="hi", random_id=3))
    assert not isinstance(caught.value, RetryLater)
    assert words in str(caught.value) and str(ANN) in str(caught.value)


async def test_never_seen_chat_is_a_telegram_error(edge: Edge) -> None:
    with pytest.raises(TelegramError, match="never seen"):
        await edge.channel.send(OutboundMessage(chat_id=424242, text="hi", random_id=3))


async def test_empty_reply_is_a_telegram_error(edge: Edge) -> None:
    with pytest.raises(TelegramError, match="empty"):
        await edge.channel.send(OutboundMessage(chat_id=ANN, text=" \n ", random_id=3))


async def test_document_with_long_caption(tg: FakeTelegram, edge: Edge, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    report.write_text("numbers\n")
    caption = "**Summary** " + "word " * 600  # ~3 kB: 1024 on the file, the rest as text
    message = OutboundMessage(
        chat_id=ANN, text=caption, kind="document", file_path=str(report), reply_to=8, random_id=40
    )
    ref = await edge.channel.send(message)
    [media] = tg.of(functions.messages.SendMediaRequest)
    texts = tg.of(SendMessage)
    assert utf16_len(media.message) <= 1024 and media.message.startswith("Summary word")
    assert isinstance(media.entities[0], types.MessageEntityBold)
    assert (media.random_id, reply_to_msg_id(media)) == (40, 8)
    assert texts and all(reply_to_msg_id(r) is None for r in texts)
    assert [r.random_id for r in texts] == [derive_random_id(40, i + 1) for i in range(len(texts))]
    assert (
        " ".join([media.message] + [r.message for r in texts]).split()
        == caption.replace("**", "").split()
    )
    first = tg.outbox[0]
    assert first.id == ref.msg_id and tg.files[first.media.document.id] == b"numbers\n"
    again = await edge.channel.send(message)
    assert again.duplicate and len(tg.outbox) == 1 + len(texts)


async def test_photo_is_sent_as_photo(tg: FakeTelegram, edge: Edge, tmp_path: Path) -> None:
    image = tmp_path / "chart.png"
    image.write_bytes(b"\x89PNG fake")
    await edge.channel.send(
        OutboundMessage(chat_id=ANN, text="the chart", kind="photo", file_path=str(image))
    )
    [media] = tg.of(functions.messages.SendMediaRequest)
    assert isinstance(media.media, types.InputMediaUploadedPhoto)
    assert media.message == "the chart"


async def test_missing_file_is_named(edge: Edge, tmp_path: Path) -> None:
    gone = tmp_path / "gone.pdf"
    with pytest.raises(TelegramError, match=r"gone\.pdf"):
        await edge.channel.send(
            OutboundMessage(chat_id=ANN, text="", kind="document", file_path=str(gone))
        )


async def test_typing_and_acknowledge(tg: FakeTelegram, edge: Edge) -> None:
    msg = tg.incoming(ANN, "hi")
    await tg.idle()
    await edge.channel.typing(ANN)
    await edge.channel.acknowledge(ANN, msg.id)
    [typing] = tg.of(functions.messages.SetTypingRequest)
    assert isinstance(typing.action, types.SendMessageTypingAction)
    [reaction] = tg.reactions
    assert reaction.msg_id == msg.id
    assert reaction.reaction == [types.ReactionEmoji(emoticon="👀")]


async def test_no_typing_in_saved_messages(tg: FakeTelegram, edge: Edge) -> None:
    """Telegram shows nobody typing in Saved Messages: the request would be a round trip for
    nothing, at the start of every turn of the owner's there (the reply streams instead)."""
    await edge.channel.typing(ME)
    await edge.channel.typing(ANN)
    assert [r.peer.user_id for r in tg.of(functions.messages.SetTypingRequest)] == [ANN]


async def test_typing_and_acknowledge_never_raise(tg: FakeTelegram, edge: Edge) -> None:
    tg.fail(functions.messages.SetTypingRequest, "FLOOD_WAIT_100", code=420)
    await edge.channel.typing(ANN)
    await edge.channel.acknowledge(ANN, 999_999)  # MESSAGE_ID_INVALID
    await edge.channel.typing(424242)  # never seen
    await edge.channel.acknowledge(424242, 1)
    assert tg.reactions == []


async def test_sent_log_is_bounded_and_waits_only_so_long() -> None:
    log = SentLog(capacity=2)
    for msg_id in range(3):
        log.add(ME, msg_id)
    assert (ME, 0) not in log and (ME, 2) in log
    async with log.sending(ME):
        started = time.monotonic()
        assert await log.is_own(ME, 99, wait=0.05) is False
        assert time.monotonic() - started < 1
    assert await log.is_own(ME, 2) is True


# -- helpers ------------------------------------------------------------------------------


def _service_message(tg: FakeTelegram, user_id: int) -> None:
    """A 'took a screenshot' service message in a private chat."""
    msg = mk(
        types.MessageService,
        id=tg._new_id(types.PeerUser(user_id)),
        peer_id=types.PeerUser(user_id),
        date=now(),
        action=types.MessageActionScreenshotTaken(),
    )
    tg._emit_new(msg)


def _document(tg: FakeTelegram, mime: str, size: int, *attributes: object) -> types.Document:
    return mk(
        types.Document,
        id=tg._hash(size),
        access_hash=1,
        file_reference=b"r",
        date=now(),
        mime_type=mime,
        size=size,
        dc_id=2,
        attributes=list(attributes),
    )


async def test_link_preview_is_not_media_but_a_location_is(tg: FakeTelegram, edge: Edge) -> None:
    page = types.MessageMediaWebPage(webpage=types.WebPageEmpty(id=1))
    tg.incoming(ANN, "look https://example.com", media=page)
    tg.incoming(ANN, "", media=types.MessageMediaGeo(geo=types.GeoPoint(1.5, 2.5, 0)))
    await tg.idle()
    assert [m.media for m in edge.got] == [None, {"kind": "other", "type": "MessageMediaGeo"}]


async def test_short_update_from_unknown_user(tg: FakeTelegram, edge: Edge) -> None:
    tg.add_user(444, "Zed", username="zed")
    tg.incoming(444, "first contact", short=True)
    await tg.idle()
    assert [(m.sender_id, m.sender_name, m.text) for m in edge.got] == [
        (444, "Zed", "first contact")
    ]
