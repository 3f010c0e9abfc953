"""Files and voice through the Telegram seam: a whole Jobs on the fake Telegram, the scripted
model and the fake transcription server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from telethon.tl import functions, types

from tests.e2e.conftest import OWNER_ID, MakeJobs
from tests.fakes.anthropic import text, tool_use
from tests.fakes.telegram import FakeTelegram, mk
from tests.fakes.tl import now
from tests.fakes.transcription import FakeTranscription

ALICE = 111
MB = 2**20
GetFile = functions.upload.GetFileRequest


@pytest.fixture
def whisper() -> Iterator[FakeTranscription]:
    fake = FakeTranscription().start()
    yield fake
    fake.stop()


def document(tg: FakeTelegram, name: str, data: bytes, *, size: int | None = None) -> Any:
    doc = tg._document(
        next(tg._id_seq), 7, "application/pdf", [types.DocumentAttributeFilename(name)]
    )
    doc.size = len(data) if size is None else size
    tg.files[doc.id] = data
    return types.MessageMediaDocument(document=doc)


def photo(tg: FakeTelegram, data: bytes) -> Any:
    size = mk(types.PhotoSize, type="x", w=640, h=480, size=len(data))
    pic = mk(
        types.Photo,
        id=next(tg._id_seq),
        access_hash=3,
        file_reference=b"ref",
        date=now(),
        sizes=[size],
        dc_id=tg.dc_id,
    )
    tg.files[pic.id] = data
    return types.MessageMediaPhoto(photo=pic)


def voice_note(tg: FakeTelegram, data: bytes, seconds: int = 3) -> Any:
    doc = tg._document(
        next(tg._id_seq), 9, "audio/ogg", [types.DocumentAttributeAudio(seconds, voice=True)]
    )
    doc.size = len(data)
    tg.files[doc.id] = data
    return types.MessageMediaDocument(document=doc)


async def test_a_60_mb_document_is_refused_without_download(make_jobs: MakeJobs) -> None:
    jobs = make_jobs()
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "", media=document(jobs.tg, "film.mkv", b"", size=60 * MB))
    [reply] = await jobs.replies_to(OWNER_ID)
    await jobs.settled()

    assert "60.0 MB" in reply and "up to 50.0 MB" in reply
    assert not jobs.tg.of(GetFile)
    assert jobs.model.calls == []
    assert not (jobs.settings.workspace_dir / "uploads").exists()
    assert [r["state"] for r in jobs.inbox()] == ["answered"]


async def test_a_photo_reaches_the_session_as_a_path(make_jobs: MakeJobs) -> None:
    jobs = make_jobs()
    await jobs.start()
    sent = jobs.tg.outgoing(OWNER_ID, "what is on this receipt?", media=photo(jobs.tg, b"JPEG!"))
    [reply] = await jobs.replies_to(OWNER_ID)
    await jobs.settled()

    saved = (jobs.settings.workspace_dir / "uploads" / f"photo-{sent.id}.jpg").resolve()
    assert saved.read_bytes() == b"JPEG!"
    [call] = jobs.model.calls
    assert f"saved at {saved}" in call.last_user_text
    assert "what is on this receipt?" in call.last_user_text
    assert str(saved) in reply  # the echo model repeats what it was told


async def test_the_session_sends_a_file_back_as_a_photo(make_jobs: MakeJobs) -> None:
    jobs = make_jobs()
    chart = jobs.settings.workspace_dir / "out" / "chart.png"
    chart.parent.mkdir(parents=True)
    chart.write_bytes(b"\x89PNG chart")
    jobs.model.push(
        tool_use(
            "mcp__telegram__send_file",
            {"chat": "me", "path": "out/chart.png", "caption": "the chart", "as_photo": True},
        ),
        text("Sent the chart."),
    )
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "send me the chart")
    await jobs.wait_for(lambda: "Sent the chart." in jobs.sent_texts(OWNER_ID), what="reply")
    await jobs.settled()

    [media] = jobs.tg.of(functions.messages.SendMediaRequest)
    assert isinstance(media.media, types.InputMediaUploadedPhoto)
    assert media.message == "the chart"
    assert len(jobs.inbox()) == 1  # the photo in Saved Messages was not taken for the owner's


async def test_a_voice_note_is_transcribed(make_jobs: MakeJobs, whisper: FakeTranscription) -> None:
    jobs = make_jobs(
        openai_api_key="test-key", openai_base_url=whisper.url, whisper_model="whisper-test"
    )
    whisper.say(b"OggS note", "remind me to call mum at six")
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "", media=voice_note(jobs.tg, b"OggS note"))
    [reply] = await jobs.replies_to(OWNER_ID)
    await jobs.settled()

    [request] = whisper.requests
    assert (request.model, request.audio) == ("whisper-test", b"OggS note")
    [call] = jobs.model.calls
    assert "voice message, 3 s; transcribed" in call.last_user_text
    assert "remind me to call mum at six" in reply
    assert not (jobs.settings.workspace_dir / "uploads").exists()  # recordings are not kept


async def test_voice_without_a_key_is_not_set_up(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    jobs.tg.incoming(ALICE, "", media=voice_note(jobs.tg, b"OggS"))
    [reply] = await jobs.replies_to(ALICE)
    await jobs.settled()

    assert reply.startswith("Voice messages aren't set up here")
    assert "OPENAI_API_KEY" not in reply  # that hint is for the owner
    assert jobs.model.calls == [] and not jobs.tg.of(GetFile)


async def test_files_from_other_people_are_not_downloaded(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    jobs.tg.incoming(ALICE, "my CV", media=document(jobs.tg, "cv.pdf", b"%PDF"))
    await jobs.replies_to(ALICE)
    await jobs.settled()

    assert not jobs.tg.of(GetFile)
    [call] = jobs.model.calls
    assert "not accepted" in call.last_user_text and "my CV" in call.last_user_text
