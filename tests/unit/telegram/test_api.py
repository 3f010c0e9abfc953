"""TelegramApi on the fake Telegram: naming chats, reading, searching, sending, files, errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telethon import TelegramClient
from telethon.tl import functions, types

from jobs.errors import RetryLater, TelegramError
from jobs.telegram.api import TelegramApi
from jobs.telegram.inbound import SentLog
from jobs.telegram.media import TelegramMedia
from tests.fakes.telegram import FakeTelegram, mk
from tests.fakes.tl import now

ME, ANN, ANNA, BOB, NEWS = 1000, 111, 112, 113, 700


@pytest.fixture
def sent_log() -> SentLog:
    return SentLog()


@pytest.fixture
def api(tg: FakeTelegram, tg_client: TelegramClient, sent_log: SentLog) -> TelegramApi:
    tg.add_user(ANN, "Ann", "Lee", username="ann", contact=True)
    tg.add_user(ANNA, "Anna", "Bell", phone="15551234567")
    tg.add_user(BOB, "Bob", "Stone", contact=True)  # a contact with no username, no chat yet
    tg.add_channel(NEWS, "Daily News", username="dailynews")
    tg.incoming(ANN, "hello from Ann")
    tg.incoming(ANNA, "hello from Anna")
    return TelegramApi(
        client=tg_client, sent_log=sent_log, owner_id=ME, media=TelegramMedia(client=tg_client)
    )


def files_in(folder: Path) -> list[Path]:
    return list(folder.iterdir())


def document(tg: FakeTelegram, data: bytes, name: str, *, size: int | None = None) -> Any:
    doc = tg._document(
        next(tg._id_seq), 77, "application/pdf", [types.DocumentAttributeFilename(name)]
    )
    doc.size = len(data) if size is None else size
    tg.files[doc.id] = data
    return types.MessageMediaDocument(document=doc)


# -- naming chats ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref", ["@ann", "ann", "https://t.me/ann", "t.me/ann", "111", "Ann Lee", "ann lee"]
)
async def test_a_person_is_found_by_handle_link_id_or_name(api: TelegramApi, ref: str) -> None:
    if ref == "ann":  # a bare word is a name: "ann" matches "Ann Lee" and "Anna Bell"
        with pytest.raises(TelegramError, match="Several chats match 'ann'"):
            await api.resolve(ref)
        return
    entity = await api.resolve(ref)
    assert entity.id == ANN


async def test_contacts_are_found_by_name_without_a_chat(api: TelegramApi) -> None:
    assert (await api.resolve("Bob Stone")).id == BOB
    assert (await api.resolve("bob")).id == BOB


async def test_me_and_owner(api: TelegramApi) -> None:
    assert (await api.resolve("me")).id == ME
    assert (await api.resolve("owner")).id == ME


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("@nobody_here", "Nobody on Telegram is called @nobody_here"),
        ("Zelda", "No contact or recent chat is called 'Zelda'"),
        ("https://t.me/+AbCdEf123", "private invite link"),
        ("987654", "never seen chat 987654"),
        ("  ", "Say which chat"),
    ],
)
async def test_unknown_chats_are_explained(api: TelegramApi, ref: str, says: str) -> None:
    with pytest.raises(TelegramError, match=says):
        await api.resolve(ref)


async def test_a_private_channel_says_so(api: TelegramApi, tg: FakeTelegram) -> None:
    tg.fail(functions.contacts.ResolveUsernameRequest, "CHANNEL_PRIVATE")
    with pytest.raises(TelegramError, match="private"):
        await api.resolve("@secretclub")


# -- reading -----------------------------------------------------------------------------


async def test_list_dialogs(api: TelegramApi) -> None:
    dialogs = await api.list_dialogs(limit=10)
    by_name = {d.chat.name: d for d in dialogs}
    assert by_name["Ann Lee"].chat.username == "ann"
    assert by_name["Ann Lee"].last_text == "hello from Ann"
    assert by_name["Anna Bell"].chat.kind == "user"


async def test_read_messages_oldest_first_with_limit_and_since(
    api: TelegramApi, tg: FakeTelegram
) -> None:
    first = tg.incoming(ANN, "one")
    first.date = now() - timedelta(hours=5)
    tg.incoming(ANN, "two", reply_to=first.id)
    tg.outgoing(ANN, "three")
    messages = await api.read_messages("@ann", limit=3, since=None)
    assert [m.text for m in messages] == ["one", "two", "three"]
    assert [m.sender for m in messages[:2]] == ["Ann Lee", "Ann Lee"]
    assert messages[2].outgoing and messages[1].reply_to == first.id
    recent = await api.read_messages("Ann Lee", limit=20, since=now() - timedelta(hours=1))
    assert [m.text for m in recent] == ["two", "three"]  # reading stops at "one"


async def test_search_in_one_chat(api: TelegramApi, tg: FakeTelegram) -> None:
    tg.incoming(ANN, "the invoice is attached")
    tg.incoming(ANNA, "another invoice")
    found = await api.search_messages("invoice", chat="@ann", limit=10)
    assert [(m.chat.name, m.text) for m in found] == [("Ann Lee", "the invoice is attached")]


async def test_search_everywhere(api: TelegramApi, tg: FakeTelegram) -> None:
    tg.incoming(ANN, "the invoice is attached")
    tg.incoming(ANNA, "another invoice")

    def search_global(req: Any) -> Any:
        hits = [
            m
            for box in tg.messages.values()
            for m in box.values()
            if req.q.lower() in (m.message or "").lower()
        ]
        hits.sort(key=lambda m: m.id, reverse=True)
        users, chats = tg._related(msgs=hits)
        return mk(types.messages.Messages, messages=hits, chats=chats, users=users)

    tg.handle(functions.messages.SearchGlobalRequest, search_global)
    found = await api.search_messages("invoice", chat=None, limit=10)
    assert [(m.chat.name, m.text) for m in found] == [
        ("Anna Bell", "another invoice"),
        ("Ann Lee", "the invoice is attached"),
    ]


async def test_user_info(api: TelegramApi) -> None:
    info = await api.get_user_info("@ann")
    assert (info.id, info.name, info.username, info.is_contact, info.is_bot) == (
        ANN,
        "Ann Lee",
        "ann",
        True,
        False,
    )
    with pytest.raises(TelegramError, match="is a channel, not a person"):
        await api.get_user_info("@dailynews")


# -- writing -----------------------------------------------------------------------------


async def test_send_message_renders_markdown_and_is_known_as_own(
    api: TelegramApi, tg: FakeTelegram, sent_log: SentLog
) -> None:
    sent = await api.send_message("@ann", "**Hi** Ann", reply_to=None)
    [request] = tg.of(functions.messages.SendMessageRequest)
    assert request.message == "Hi Ann"
    assert isinstance(request.entities[0], types.MessageEntityBold)
    assert (sent.chat.id, (ANN, sent.msg_id) in sent_log) == (ANN, True)
    note = await api.send_message("me", "a note to self", reply_to=None)
    assert (ME, note.msg_id) in sent_log  # inbound will not take it for the owner's note


async def test_too_long_text_is_refused_before_sending(api: TelegramApi, tg: FakeTelegram) -> None:
    with pytest.raises(TelegramError, match="at most 4096"):
        await api.send_message("@ann", "x" * 5000, reply_to=None)
    assert not tg.of(functions.messages.SendMessageRequest)


async def test_flood_wait_is_reported_with_its_wait(api: TelegramApi, tg: FakeTelegram) -> None:
    tg.fail(functions.messages.SendMessageRequest, "FLOOD_WAIT_42", code=420)
    with pytest.raises(RetryLater, match="wait 42 s") as caught:
        await api.send_message("@ann", "hi", reply_to=None)
    assert caught.value.seconds == 42


async def test_blocked_person_is_explained(api: TelegramApi, tg: FakeTelegram) -> None:
    tg.fail(functions.messages.SendMessageRequest, "USER_IS_BLOCKED")
    with pytest.raises(TelegramError, match="has blocked this account"):
        await api.send_message("@ann", "hi", reply_to=None)


async def test_send_file_as_document_and_as_photo(
    api: TelegramApi, tg: FakeTelegram, tmp_path: Path
) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4 fake")
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG fake")
    await api.send_file("@ann", report, caption="the **report**", photo=False)
    await api.send_file("@ann", chart, caption="", photo=True)
    doc, photo = tg.of(functions.messages.SendMediaRequest)
    assert isinstance(doc.media, types.InputMediaUploadedDocument)
    assert doc.message == "the report"
    assert isinstance(photo.media, types.InputMediaUploadedPhoto)
    assert tg.files[tg.outbox[0].media.document.id] == b"%PDF-1.4 fake"


async def test_forward_and_mark_read(api: TelegramApi, tg: FakeTelegram) -> None:
    original = tg.incoming(ANN, "forward me")
    sent = await api.forward_message("@ann", original.id, "Anna Bell")
    assert sent.chat.id == ANNA and tg.outbox[-1].message == "forward me"
    with pytest.raises(TelegramError, match="no message with that id"):
        await api.forward_message("@ann", 99999, "Anna Bell")
    chat = await api.mark_read("@ann")
    assert chat.name == "Ann Lee"
    assert tg.of(functions.messages.ReadHistoryRequest)


# -- files -------------------------------------------------------------------------------


async def test_download_media(api: TelegramApi, tg: FakeTelegram, tmp_path: Path) -> None:
    message = tg.incoming(ANN, "my CV", media=document(tg, b"%PDF cv", "../../cv.pdf"))
    path = await api.download_media("@ann", message.id, folder=tmp_path / "up", max_bytes=1000)
    assert path == tmp_path / "up" / "cv.pdf" and path.read_bytes() == b"%PDF cv"
    again = await api.download_media("@ann", message.id, folder=tmp_path / "up", max_bytes=1000)
    assert again.name == "cv-2.pdf"


async def test_download_over_the_cap_is_refused_before_any_byte(
    api: TelegramApi, tg: FakeTelegram, tmp_path: Path
) -> None:
    media = document(tg, b"", "film.mkv", size=60 * 2**20)
    message = tg.incoming(ANN, "", media=media)
    with pytest.raises(TelegramError, match=r"60\.0 MB; the limit is 50\.0 MB"):
        await api.download_media("@ann", message.id, folder=tmp_path, max_bytes=50 * 2**20)
    assert not tg.of(functions.upload.GetFileRequest)
    assert not files_in(tmp_path)


async def test_download_of_a_missing_message(
    api: TelegramApi, tg: FakeTelegram, tmp_path: Path
) -> None:
    # Telegram answers an unknown id with messageEmpty (the fake cannot build one unaided).
    tg.handle(
        functions.messages.GetMessagesRequest,
        lambda req: mk(
            types.messages.Messages,
            messages=[types.MessageEmpty(id=4242, peer_id=types.PeerUser(ANN))],
            chats=[],
            users=[],
        ),
    )
    with pytest.raises(TelegramError, match="no message 4242"):
        await api.download_media("@ann", 4242, folder=tmp_path, max_bytes=100)
