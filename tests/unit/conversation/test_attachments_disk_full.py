"""Attachments when the disk is full: the person is told plainly, a caption is still answered."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from jobs.conversation.attachments import Attachments, save_long_text
from jobs.errors import DiskFull
from tests.unit.conversation.test_attachments import item

PDF: dict[str, str | int] = {"kind": "document", "file_name": "cv.pdf", "size": 3000}
PHOTO: dict[str, str | int] = {"kind": "photo", "size": 2048}
VOICE: dict[str, str | int] = {"kind": "voice", "size": 900, "duration": 4}


class FullDiskFetcher:
    """A MediaFetcher whose disk is full (what TelegramMedia raises then)."""

    def __init__(self) -> None:
        self.asked: list[Path] = []

    async def fetch(self, chat_id: int, msg_id: int, /, *, folder: Path, max_bytes: int) -> Path:
        self.asked.append(folder)
        raise DiskFull(folder / "cv.pdf", "the file cv.pdf")


class NeverTranscriber:
    async def transcribe(self, audio: Path, /) -> str:
        raise AssertionError("nothing was saved, so nothing can be transcribed")


def attachments(tmp_path: Path, fetcher: FullDiskFetcher) -> Attachments:
    return Attachments(fetcher=fetcher, transcriber=NeverTranscriber(), uploads_dir=tmp_path)


async def test_a_file_alone_is_answered_that_the_disk_is_full(tmp_path: Path) -> None:
    fetcher = FullDiskFetcher()
    intake = await attachments(tmp_path, fetcher).take(item(PDF), owner=True)
    assert fetcher.asked == [tmp_path]
    assert intake.reply == (
        "The disk is full, so I couldn't save your file cv.pdf. Please free some space on the "
        "machine I run on, then send it again."
    )
    unnamed = await attachments(tmp_path, fetcher).take(item(PHOTO), owner=True)
    assert unnamed.reply is not None
    assert unnamed.reply.startswith("The disk is full, so I couldn't save your file. Please")


async def test_a_caption_is_still_answered_and_the_session_told(tmp_path: Path) -> None:
    intake = await attachments(tmp_path, FullDiskFetcher()).take(
        item(PDF, "what does my cv say?"), owner=True
    )
    assert intake.reply is None
    assert intake.note.startswith("[They sent a document (cv.pdf, 2 KB), but it could not be")
    assert "the disk is full" in intake.note


async def test_a_voice_note_on_a_full_disk_asks_for_text(tmp_path: Path) -> None:
    intake = await attachments(tmp_path, FullDiskFetcher()).take(item(VOICE), owner=True)
    assert intake.reply is not None
    assert intake.reply.startswith("The disk is full, so I couldn't save your voice message")


def test_a_long_text_on_a_full_disk_is_not_kept_half_and_the_prompt_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    note = save_long_text(tmp_path, item({}, text="x" * 50_000))
    assert note == " The full text could not be saved: the disk is full."
    assert list(tmp_path.iterdir()) == []
