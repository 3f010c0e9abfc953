"""Attachments: what a photo, a document, a voice note or a too-large file becomes for a turn."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.conversation.attachments import Attachments, describe
from jobs.errors import TelegramError
from jobs.storage.inbox import InboxItem, InboxState
from jobs.voice import TranscriptionFailed

MB = 2**20


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def read(path: Path) -> bytes:
    return path.read_bytes()


class FolderFetcher:
    """A MediaFetcher that "downloads" fixed bytes (or fails), recording each call."""

    def __init__(self, data: bytes = b"bytes", *, fail: str | None = None) -> None:
        self.data = data
        self.fail = fail
        self.calls: list[tuple[int, int, Path, int]] = []

    async def fetch(self, chat_id: int, msg_id: int, /, *, folder: Path, max_bytes: int) -> Path:
        self.calls.append((chat_id, msg_id, folder, max_bytes))
        if self.fail:
            raise TelegramError(self.fail)
        return write(folder / f"file-{msg_id}", self.data)


class ScriptedTranscriber:
    def __init__(self, text: str = "buy milk", *, fail: bool = False) -> None:
        self.text = text
        self.fail = fail
        self.heard: list[bytes] = []

    async def transcribe(self, audio: Path, /) -> str:
        self.heard.append(read(audio))
        if self.fail:
            raise TranscriptionFailed("the service is down")
        return self.text


def item(media: dict[str, str | int] | None, text: str = "", msg_id: int = 5) -> InboxItem:
    return InboxItem(
        id=1,
        chat_id=42,
        msg_id=msg_id,
        sender_id=42,
        text=text,
        sender_name="Ann",
        sender_username=None,
        sender_is_contact=False,
        reply_to=None,
        media=media,
        state=InboxState.PROCESSING,
        attempts=1,
        error=None,
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
        finished_at=None,
    )


PHOTO: dict[str, str | int] = {"kind": "photo", "size": 2048, "mime_type": "image/jpeg"}
PDF: dict[str, str | int] = {"kind": "document", "file_name": "cv.pdf", "size": 3 * MB}
VOICE: dict[str, str | int] = {"kind": "voice", "size": 900, "duration": 4}


def attachments(
    tmp_path: Path, fetcher: FolderFetcher, transcriber: ScriptedTranscriber | None = None
) -> Attachments:
    return Attachments(fetcher=fetcher, transcriber=transcriber, uploads_dir=tmp_path / "up")


def test_describe() -> None:
    assert describe(PHOTO) == "a photo (2 KB)"
    assert describe(PDF) == "a document (cv.pdf, 3.0 MB)"
    assert describe({"kind": "audio"}) == "an audio"


async def test_owner_photo_is_saved_and_the_path_told(tmp_path: Path) -> None:
    fetcher = FolderFetcher()
    intake = await attachments(tmp_path, fetcher).take(item(PHOTO, "what is this?"), owner=True)
    saved = tmp_path / "up" / "file-5"
    assert fetcher.calls == [(42, 5, tmp_path / "up", 50 * MB)]
    assert (
        intake.note
        == f"[They sent a photo (2 KB), saved at {saved}. Its caption is the message below.]"
    )
    assert (intake.text, intake.reply) == (None, None)


async def test_too_large_is_refused_without_download(tmp_path: Path) -> None:
    fetcher = FolderFetcher()
    big = {**PDF, "size": 60 * MB}
    box = attachments(tmp_path, fetcher)
    alone = await box.take(item(big), owner=True)
    assert alone.reply is not None and "60.0 MB" in alone.reply and "50.0 MB" in alone.reply
    with_text = await box.take(item(big, "see the attached film"), owner=True)
    assert with_text.reply is None and "over the limit" in with_text.note
    assert fetcher.calls == []


async def test_a_failed_download_is_told(tmp_path: Path) -> None:
    intake = await attachments(tmp_path, FolderFetcher(fail="the file is gone")).take(
        item(PDF), owner=True
    )
    assert "downloading it failed: the file is gone" in intake.note


async def test_files_from_others_are_not_downloaded(tmp_path: Path) -> None:
    fetcher = FolderFetcher()
    intake = await attachments(tmp_path, fetcher).take(item(PDF, "my CV"), owner=False)
    assert "not accepted" in intake.note and intake.reply is None
    assert fetcher.calls == []


async def test_stickers_are_described_only(tmp_path: Path) -> None:
    fetcher = FolderFetcher()
    intake = await attachments(tmp_path, fetcher).take(item({"kind": "sticker"}), owner=True)
    assert "cannot be opened" in intake.note and fetcher.calls == []


@pytest.mark.parametrize("owner", [True, False])
async def test_voice_becomes_the_text_it_says(tmp_path: Path, owner: bool) -> None:
    fetcher, whisper = FolderFetcher(b"OggS"), ScriptedTranscriber("buy milk")
    intake = await attachments(tmp_path, fetcher, whisper).take(item(VOICE), owner=owner)
    assert intake.text == "buy milk" and "voice message, 4 s" in intake.note
    assert whisper.heard == [b"OggS"]
    [(_, _, folder, _)] = fetcher.calls
    assert not folder.exists()  # the recording is not kept
    assert not (tmp_path / "up").exists()


@pytest.mark.parametrize(("owner", "hint"), [(True, True), (False, False)])
async def test_voice_without_a_key(tmp_path: Path, owner: bool, hint: bool) -> None:
    fetcher = FolderFetcher()
    intake = await attachments(tmp_path, fetcher, None).take(item(VOICE), owner=owner)
    assert intake.reply is not None and "Voice messages aren't set up" in intake.reply
    assert ("OPENAI_API_KEY" in intake.reply) is hint
    assert fetcher.calls == []


async def test_voice_that_cannot_be_transcribed(tmp_path: Path) -> None:
    box = attachments(tmp_path, FolderFetcher(), ScriptedTranscriber(fail=True))
    failed = await box.take(item(VOICE), owner=True)
    assert failed.reply is not None and "couldn't transcribe" in failed.reply
    silent = await attachments(tmp_path, FolderFetcher(), ScriptedTranscriber("")).take(
        item(VOICE), owner=True
    )
    assert silent.reply == "I couldn't make out any words in that recording."
