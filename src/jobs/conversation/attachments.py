"""What a message's attachment becomes for its turn: a saved file's path, a voice note's words,
or a polite refusal. Downloads happen here, when the message is taken for a turn.

Policy. The owner's photos and files are saved under WORKSPACE_DIR/uploads (at most 50 MB;
larger ones are refused before any download) and the session is told the path and caption.
Voice notes and audio are transcribed for everyone and answered as the text they say. Files
from other people are not downloaded: their sessions have no file tools, and nothing they
send should land in the owner's workspace; the session is told so it can say so.
When the disk is full, nothing partial is kept and the person is told so plainly. Notes
(`Intake.note`) are for the model, in English; replies are in the person's language.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from jobs.atomic import atomic_write
from jobs.errors import DiskFull, JobsError
from jobs.i18n.speakers import WordsFor, english_for
from jobs.i18n.translator import Translator
from jobs.storage.inbox import InboxItem
from jobs.voice import MAX_AUDIO_BYTES, Transcriber

logger = logging.getLogger(__name__)

MAX_FILE_BYTES: Final = 50 * 1024 * 1024
SAVED_KINDS: Final = frozenset({"photo", "document", "video"})
VOICE_KINDS: Final = frozenset({"voice", "audio"})


class MediaFetcher(Protocol):
    """Downloads the file of a message Jobs already stored (Telegram: telegram/media.py).

    Called once per message, when it is taken for a turn (never in the update handler).
    `fetch` writes the file into `folder` under a safe, unique name and returns its path;
    nothing partial is left behind. It raises a JobsError (TelegramError, RetryLater) with
    a message a person can read when the message or file is gone or exceeds `max_bytes`.
    """

    async def fetch(
        self, chat_id: int, msg_id: int, /, *, folder: Path, max_bytes: int
    ) -> Path: ...


@dataclass(frozen=True, slots=True)
class Intake:
    """What the turn does with a message's attachment."""

    note: str = ""
    """Told to the session before the message's text ("" = nothing to add)."""
    text: str | None = None
    """Replaces the message's text (a voice note's transcript)."""
    reply: str | None = None
    """Answer the person with this and run no turn."""


def size_text(size: int, /) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{max(1, size // 1024)} KB"


def describe(media: dict[str, str | int], /) -> str:
    """ "a photo", "a document (cv.pdf, 1.2 MB)", … for notes and replies."""
    kind = str(media.get("kind", "file"))
    details = [str(media["file_name"])] if media.get("file_name") else []
    if isinstance(size := media.get("size"), int):
        details.append(size_text(size))
    article = "an" if kind[:1] in "aeiou" else "a"
    return f"{article} {kind}" + (f" ({', '.join(details)})" if details else "")


class Attachments:
    """Turns an inbox row's attachment into an Intake (downloads and transcribes as needed)."""

    def __init__(
        self,
        *,
        fetcher: MediaFetcher,
        transcriber: Transcriber | None,
        uploads_dir: Path,
        max_bytes: int = MAX_FILE_BYTES,
        words_for: WordsFor | None = None,
    ) -> None:
        """`transcriber` None: voice is not set up (no OPENAI_API_KEY / OPENAI_BASE_URL);
        `words_for`: each person's language, for the replies."""
        self._words_for = words_for or english_for
        self._fetcher = fetcher
        self._transcriber = transcriber
        self._uploads = uploads_dir
        self._max_bytes = max_bytes

    async def take(self, item: InboxItem, /, *, owner: bool) -> Intake:
        media = item.media
        if not media:
            return Intake()
        kind = str(media.get("kind", ""))
        t = await self._words_for(item.sender_id)
        if kind in VOICE_KINDS:
            return await self._voice(item, media, t, owner=owner)
        what = describe(media)
        if not owner:
            return Intake(  # i18n: skip (a note for the model)
                note=f"[They sent {what}. Files from people other than the owner are not "
                "accepted: it was not opened or kept. If it matters, tell them so and ask "
                "them to put what it says in words.]"
            )
        if kind not in SAVED_KINDS:
            return Intake(
                note=f"[The message came with {what}, which cannot be opened here.]"
            )  # i18n: skip
        return await self._save(item, media, what, t)

    async def _save(
        self, item: InboxItem, media: dict[str, str | int], what: str, t: Translator
    ) -> Intake:
        size = media.get("size")
        if isinstance(size, int) and size > self._max_bytes:
            if not item.text.strip():
                return Intake(
                    reply=t.gettext(
                        "That file is {size}; I can take files up to {limit}, so I didn't "
                        "download it. Could you send a smaller one, or a link to it?",
                        size=size_text(size),
                        limit=size_text(self._max_bytes),
                    )
                )
            return Intake(  # i18n: skip (a note for the model)
                note=f"[They also sent {what}, over the limit, so it was not "
                "downloaded; tell them files must be at most "
                f"{size_text(self._max_bytes)}.]"
            )
        try:
            path = await self._fetcher.fetch(
                item.chat_id, item.msg_id, folder=self._uploads, max_bytes=self._max_bytes
            )
        except DiskFull as exc:
            logger.warning("Could not save the file of message %s: %s", item.msg_id, exc)
            return _disk_full(item, media, what, t)
        except JobsError as exc:
            logger.warning("Could not download message %s: %s", item.msg_id, exc)
            return Intake(
                note=f"[They sent {what}, but downloading it failed: {exc} Tell them.]"
            )  # i18n: skip
        caption = (
            "Its caption is the message below." if item.text.strip() else "No caption."
        )  # i18n: skip
        return Intake(note=f"[They sent {what}, saved at {path}. {caption}]")  # i18n: skip

    async def _voice(
        self, item: InboxItem, media: dict[str, str | int], t: Translator, *, owner: bool
    ) -> Intake:
        if self._transcriber is None:
            hint = (
                t.gettext(
                    " To turn them on, set OPENAI_API_KEY (or OPENAI_BASE_URL for a local "
                    "Whisper server) and restart Jobs."
                )
                if owner
                else ""
            )
            return Intake(
                reply=t.gettext(
                    "Voice messages aren't set up here, so I can't listen to this one. Please "
                    "type it instead."
                )
                + hint
            )
        size = media.get("size")
        if isinstance(size, int) and size > MAX_AUDIO_BYTES:
            return Intake(
                reply=t.gettext(
                    "That recording is too long for me to transcribe; please send a shorter "
                    "one, or type it."
                )
            )
        try:
            words = await self._transcribe(item)
        except DiskFull as exc:
            logger.warning("Could not keep voice message %s to transcribe: %s", item.msg_id, exc)
            return Intake(
                reply=t.gettext(
                    "The disk is full, so I couldn't save your voice message to listen to it. "
                    "Please type it, or free some space and send it again."
                )
            )
        except JobsError as exc:
            logger.warning("Could not transcribe message %s: %s", item.msg_id, exc)
            return Intake(
                reply=t.gettext(
                    "Sorry, I couldn't transcribe that voice message just now. Please try "
                    "again in a minute, or type it."
                )
            )
        if not words:
            return Intake(reply=t.gettext("I couldn't make out any words in that recording."))
        seconds = media.get("duration")
        length = f", {seconds} s" if isinstance(seconds, int) else ""
        # The note and the caption's frame are the model's: English.
        caption = (
            f"\n\n(Its caption: {item.text.strip()})" if item.text.strip() else ""
        )  # i18n: skip
        return Intake(
            note=f"[This was a voice message{length}; transcribed, it says:]",  # i18n: skip
            text=words + caption,
        )

    async def _transcribe(self, item: InboxItem) -> str:
        assert self._transcriber is not None
        # A scratch folder: the recording is not kept once its words are known.
        with _scratch_folder() as scratch:
            path = await self._fetcher.fetch(
                item.chat_id, item.msg_id, folder=Path(scratch), max_bytes=MAX_AUDIO_BYTES
            )
            return await self._transcriber.transcribe(path)


def _disk_full(item: InboxItem, media: dict[str, str | int], what: str, t: Translator) -> Intake:
    """No room for the file: said plainly; a caption is still answered, without the file."""
    if not item.text.strip():
        name = f" {media['file_name']}" if media.get("file_name") else ""
        return Intake(
            reply=t.gettext(
                "The disk is full, so I couldn't save your file{name}. Please free some space "
                "on the machine I run on, then send it again.",
                name=name,
            )
        )
    return Intake(  # i18n: skip (a note for the model)
        note=f"[They sent {what}, but it could not be saved: the disk is full. Tell them "
        "to free some space and send it again; answer the rest as well as you can.]"
    )


def _scratch_folder() -> tempfile.TemporaryDirectory[str]:
    try:
        return tempfile.TemporaryDirectory(prefix="jobs-voice-")
    except OSError as exc:
        if DiskFull.caused(exc):
            raise DiskFull(Path(tempfile.gettempdir()) / "jobs-voice", "the recording") from exc
        raise


def save_long_text(uploads: Path, item: InboxItem, /) -> str:
    """Save a message too long for the prompt in `uploads`; the note that says where (or why
    not). Written whole or not at all: a full disk leaves no truncated file behind."""
    path = uploads / f"message-{item.chat_id}-{item.msg_id}.txt"
    try:
        atomic_write(path, item.text)
    except DiskFull:
        logger.warning("Message %s: the full text was not saved: the disk is full", item.msg_id)
        return " The full text could not be saved: the disk is full."  # i18n: skip (the model's)
    except OSError:
        return ""
    return f" The full text is saved at {path}."  # i18n: skip (the model's)
