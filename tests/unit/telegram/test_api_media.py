"""telegram/media.py: safe names, unique paths, and fetching an incoming file by chat and id."""

from __future__ import annotations

from pathlib import Path

import pytest
from telethon import TelegramClient
from telethon.tl import functions, types

from jobs.errors import TelegramError
from jobs.telegram.media import TelegramMedia, safe_file_name, unique_path
from tests.fakes.telegram import FakeTelegram, mk
from tests.fakes.tl import now

ANN = 111


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\evil.exe", "evil.exe"),
        (".bashrc", "bashrc"),
        ("my file (final).docx", "my_file_final_.docx"),
        ("Отчёт 2026.pdf", "Отчёт_2026.pdf"),
        ("", "photo-1.jpg"),
        (None, "photo-1.jpg"),
        ("...", "photo-1.jpg"),
    ],
)
def test_safe_file_name(name: str | None, expected: str) -> None:
    assert safe_file_name(name, fallback="photo-1.jpg") == expected


def test_long_names_keep_their_extension() -> None:
    name = safe_file_name("a" * 300 + ".pdf", fallback="x")
    assert len(name) <= 100 and name.endswith(".pdf")


def test_unique_path(tmp_path: Path) -> None:
    (tmp_path / "cv.pdf").write_text("1")
    (tmp_path / "cv-2.pdf.part").write_text("in progress")
    assert unique_path(tmp_path, "cv.pdf") == tmp_path / "cv-3.pdf"
    assert unique_path(tmp_path, "new.txt") == tmp_path / "new.txt"


def files_in(folder: Path) -> list[Path]:
    return list(folder.iterdir())


@pytest.fixture
def media(tg: FakeTelegram, tg_client: TelegramClient) -> TelegramMedia:
    tg.seed(tg_client, tg.add_user(ANN, "Ann", username="ann"))
    return TelegramMedia(client=tg_client)


async def test_fetch_a_photo_by_chat_and_id(
    media: TelegramMedia, tg: FakeTelegram, tmp_path: Path
) -> None:
    size = mk(types.PhotoSize, type="x", w=10, h=10, size=9)
    photo = mk(
        types.Photo, id=9, access_hash=1, file_reference=b"r", date=now(), sizes=[size], dc_id=2
    )
    tg.files[9] = b"JPEGbytes"
    sent = tg.incoming(ANN, "look", media=types.MessageMediaPhoto(photo=photo))
    path = await media.fetch(ANN, sent.id, folder=tmp_path / "uploads", max_bytes=100)
    assert path.parent == tmp_path / "uploads" and path.name == f"photo-{sent.id}.jpg"
    assert path.read_bytes() == b"JPEGbytes"
    assert [p.name for p in files_in(path.parent)] == [path.name]  # no .part left behind


async def test_a_file_bigger_than_announced_is_not_kept(
    media: TelegramMedia, tg: FakeTelegram, tmp_path: Path
) -> None:
    doc = tg._document(5, 1, "text/plain", [types.DocumentAttributeFilename("a.txt")])
    doc.size = 0  # Telegram said nothing useful about the size
    tg.files[5] = b"x" * 500
    sent = tg.incoming(ANN, "", media=types.MessageMediaDocument(document=doc))
    with pytest.raises(TelegramError, match="500 bytes; the limit is 100 bytes"):
        await media.fetch(ANN, sent.id, folder=tmp_path, max_bytes=100)
    assert not files_in(tmp_path)


async def test_a_message_without_a_file(
    media: TelegramMedia, tg: FakeTelegram, tmp_path: Path
) -> None:
    sent = tg.incoming(ANN, "just text")
    with pytest.raises(TelegramError, match="has no file"):
        await media.fetch(ANN, sent.id, folder=tmp_path, max_bytes=100)
    assert not tg.of(functions.upload.GetFileRequest)
