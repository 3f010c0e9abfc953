"""Downloads of Telegram media: size caps checked before a byte moves, safe unique file names.

`TelegramMedia.fetch` is what the conversation layer's MediaFetcher asks for: the message is
fetched again by chat and id (the Telethon handler only described it), then downloaded.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

from telethon import TelegramClient, errors
from telethon.tl import types

from jobs.errors import DiskFull, TelegramError
from jobs.telegram.failures import describe_rpc_error

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^\w.\-]+")
_MAX_NAME = 100


def safe_file_name(name: str | None, /, *, fallback: str) -> str:
    """A file name that cannot leave its folder or hide: no separators, no leading dots."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE.sub("_", base).strip("._-")
    if not base:
        base = fallback
    stem, dot, ext = base.rpartition(".")
    if dot and len(base) > _MAX_NAME:
        base = stem[: _MAX_NAME - len(ext) - 1] + "." + ext[:16]
    return base[:_MAX_NAME]


def unique_path(folder: Path, name: str, /) -> Path:
    """`folder/name`, or `folder/stem-2.ext`, … when that is taken."""
    candidate = folder / name
    stem, suffix = candidate.stem, candidate.suffix
    number = 2
    while candidate.exists() or candidate.with_name(candidate.name + ".part").exists():
        candidate = folder / f"{stem}-{number}{suffix}"
        number += 1
    return candidate


def human_size(size: int, /) -> str:
    if size >= 2**20:
        return f"{size / 2**20:.1f} MB"
    if size >= 2**10:
        return f"{size / 2**10:.0f} KB"
    return f"{size} bytes"


def too_large(size: int, max_bytes: int) -> str:
    """Part of a raised TelegramError (errors stay English; the person is told by attachments)."""
    return (  # i18n: skip
        f"The file is {human_size(size)}; the limit is {human_size(max_bytes)}, "
        "so it was not downloaded."
    )


def _reserve(folder: Path, name: str) -> Path:
    """The `.part` path a download goes to (its final name is free when it starts)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = unique_path(folder, name)
    return target.with_name(target.name + ".part")


def _complete(part: Path, msg_id: int, max_bytes: int) -> Path:
    """Rename a finished download to its final name, checking what actually arrived."""
    if not part.is_file():
        raise TelegramError(f"Telegram sent nothing for message {msg_id}.")
    if (got := part.stat().st_size) > max_bytes:
        raise TelegramError(too_large(got, max_bytes))
    target = part.with_name(part.name.removesuffix(".part"))
    part.rename(target)
    return target


class TelegramMedia:
    """Downloads the media of messages this account can see."""

    def __init__(self, *, client: TelegramClient) -> None:
        self._client = client

    async def fetch(self, chat_id: int, msg_id: int, /, *, folder: Path, max_bytes: int) -> Path:
        """Download the file of message `msg_id` in `chat_id` into `folder` (MediaFetcher)."""
        try:
            message = await self._client.get_messages(chat_id, ids=msg_id)
        except errors.RPCError as exc:
            raise describe_rpc_error(exc, "fetching that message") from exc
        except ValueError as exc:  # the chat is not in the session's entity cache
            raise TelegramError(f"Telegram does not know chat {chat_id} here: {exc}") from exc
        if not isinstance(message, types.Message):
            raise TelegramError(f"Message {msg_id} in chat {chat_id} is gone (deleted?).")
        return await self.download(message, folder=folder, max_bytes=max_bytes)

    async def download(self, message: Any, /, *, folder: Path, max_bytes: int) -> Path:
        """Save the file of a Telethon message under `folder`; never more than `max_bytes`.

        Written to `<name>.part` first and renamed when complete, so a half download is
        never mistaken for a file (and removed when it fails). Raises TelegramError
        (RetryLater on a flood wait), DiskFull when the disk fills up.
        """
        file = message.file
        if message.media is None or file is None:
            raise TelegramError(f"Message {message.id} has no file to download.")
        size = file.size
        if size is not None and size > max_bytes:
            raise TelegramError(too_large(int(size), max_bytes))
        name = self._name(message)
        part: Path | None = None
        try:
            part = _reserve(folder, name)
            await self._client.download_media(message, file=str(part))
            target = _complete(part, message.id, max_bytes)
        except errors.RPCError as exc:
            raise describe_rpc_error(exc, "downloading that file") from exc
        except OSError as exc:
            if DiskFull.caused(exc):
                raise DiskFull(folder / name, f"the file {name}") from exc
            raise
        finally:
            if part is not None:
                part.unlink(missing_ok=True)
        logger.info("Saved the file of message %s as %s", message.id, target)
        return target

    @staticmethod
    def _name(message: Any) -> str:
        file = message.file
        ext = str(file.ext or "") if file is not None else ""
        kind = "photo" if message.photo else "voice" if message.voice else "file"
        fallback = f"{kind}-{message.id}{ext}"
        return safe_file_name(file.name if file is not None else None, fallback=fallback)
