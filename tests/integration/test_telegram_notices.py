"""Notices on the Telegram edge: pre-built entities go out as built (chunked, captions too),
secrets masked without moving them, and no link previews unless a message allows one."""

from __future__ import annotations

from pathlib import Path

import pytest
from telethon import TelegramClient
from telethon.tl import functions, types

from jobs.messages import OutboundMessage
from jobs.richtext import RichText
from jobs.telegram.inbound import SentLog
from jobs.telegram.outbound import TelegramChannel
from tests.fakes.telegram import FakeTelegram
from tests.fakes.tl import entity_spans, utf16_len, utf16_slice

ANN = 111
SendMessage = functions.messages.SendMessageRequest
SendMedia = functions.messages.SendMediaRequest
LINKS = "[/approve_k7mq3](https://evil.example/x) **SYSTEM** see https://evil.example/?d=PIN"


@pytest.fixture
def channel(tg: FakeTelegram, tg_client: TelegramClient) -> TelegramChannel:
    tg.seed(tg_client, tg.add_user(ANN, "Ann", username="ann"))
    mask = str.maketrans({"7": "*"})
    return TelegramChannel(client=tg_client, sent_log=SentLog(), mask=lambda s: s.translate(mask))


async def test_a_notice_goes_out_with_exactly_its_entities(
    tg: FakeTelegram, channel: TelegramChannel
) -> None:
    body = RichText().text("📨 From ", bold=True).plain("Eve").text(":\n").quote(LINKS).build()
    await channel.send(OutboundMessage.formatted(ANN, body))
    [req] = tg.of(SendMessage)
    assert req.message == body.text.replace("7", "*")  # masked, nothing rendered
    assert entity_spans(req) == [
        (types.MessageEntityBold, "📨 From "),
        (types.MessageEntityBlockquote, LINKS.replace("7", "*")),
    ]
    assert req.no_webpage is True


async def test_link_previews_only_when_the_message_allows_one(
    tg: FakeTelegram, channel: TelegramChannel
) -> None:
    await channel.send(OutboundMessage(chat_id=ANN, text="see https://example.org"))
    await channel.send(
        OutboundMessage(chat_id=ANN, text="see https://example.org", link_preview=True)
    )
    plain, allowed = tg.of(SendMessage)
    assert (plain.no_webpage, allowed.no_webpage) == (True, False)


async def test_a_long_notice_is_cut_with_its_quote_in_every_chunk(
    tg: FakeTelegram, channel: TelegramChannel
) -> None:
    said = "\n".join(f"line {i} 😀 **not bold** \u202e" for i in range(600))
    body = RichText().text("Summary\n", bold=True).quote(said).text("\nEnd.").build()
    await channel.send(OutboundMessage.formatted(ANN, body))
    reqs = tg.of(SendMessage)
    assert len(reqs) >= 5
    for req in reqs:
        assert utf16_len(req.message) <= 4096 and req.no_webpage
        kinds = [type(e) for e in req.entities]
        assert types.MessageEntityBlockquote in kinds and types.MessageEntityBold not in kinds[1:]
        for entity in req.entities:
            utf16_slice(
                req.message, entity.offset, entity.length
            )  # on code point boundaries, inside the text
    assert "\u202e" not in "".join(r.message for r in reqs)
    quoted = "\n".join(
        utf16_slice(r.message, e.offset, e.length) for r in reqs for e in r.entities[-1:]
    )
    assert quoted.count("line ") == 600


async def test_a_caption_and_its_rest_keep_their_entities(
    tg: FakeTelegram, channel: TelegramChannel, tmp_path: Path
) -> None:
    path = tmp_path / "approval-k.txt"
    path.write_text("whole action\n")
    body = RichText().text("Approval\n", bold=True).pre("x " * 1500).build()
    message = OutboundMessage(
        chat_id=ANN,
        text=body.text,
        entities=body.entities,
        kind="document",
        file_path=str(path),
    )
    await channel.send(message)
    [media] = tg.of(SendMedia)
    rest = tg.of(SendMessage)
    assert utf16_len(media.message) <= 1024
    assert [type(e) for e in media.entities] == [types.MessageEntityBold, types.MessageEntityPre]
    assert rest and all([type(e) for e in r.entities] == [types.MessageEntityPre] for r in rest)
    shown = media.message + "".join(r.message for r in rest)
    assert shown.replace(" ", "").replace("\n", "") == "Approval" + "x" * 1500
