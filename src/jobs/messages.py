"""The values that cross layers (inbound, outbound, channel posts) and the Channel protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

from jobs.richtext import Entity, FormattedText

OutboundKind = Literal["text", "photo", "document"]
Body = str | FormattedText
"""What a message says: Markdown (a str: a model's reply, a command's answer) or a notice
built with jobs.richtext, sent exactly as built."""
MESSAGE_LIMIT: Final = 4096
"""UTF-16 units in one Telegram message's text (a channel cuts a longer text into several)."""
CAPTION_LIMIT: Final = 1024
"""UTF-16 units in one media caption (what is longer follows as text messages)."""


REPLIED_CHARS: Final = 1000
"""How much of a replied-to message a session is shown (its start, enough to know which)."""


@dataclass(frozen=True, slots=True)
class Replied:
    """The earlier message a message replies to, as its writer saw it."""

    msg_id: int
    text: str
    """Its text (or the part the writer quoted), at most REPLIED_CHARS."""
    by: Literal["owner", "jobs", "person"]
    """Who wrote it: the owner, Jobs, or the person in the chat (someone else, forwarded)."""
    outside: bool
    """Someone else's words: the person's, a forward's, or a message of Jobs' that carried
    outside text. Shown to the owner's session, it taints it like any outside text."""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A private message someone sent to Jobs, as parsed at the edge (Telegram or terminal)."""

    chat_id: int
    msg_id: int
    sender_id: int
    text: str
    sender_name: str = ""
    sender_username: str | None = None
    sender_is_contact: bool = False
    reply_to: int | None = None
    media: dict[str, str | int] | None = None
    """Describes an attachment (kind, file name, size, local path once downloaded)."""
    forwarded_from: str | None = None
    """Set when the message forwards someone else's ("Bob (@bob, id 42)", "the channel
    «News»"): their words, never the sender's request, whoever forwarded them."""
    replied: Replied | None = None
    """The message `reply_to` names, when it could be read."""


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message to send: a text chunk (≤ 4096) or a file with a caption (≤ 1024)."""

    chat_id: int
    text: str
    kind: OutboundKind = "text"
    file_path: str | None = None
    reply_to: int | None = None
    random_id: int = 0
    """Telegram drops a second send with the same random id: this makes resends safe."""
    entities: tuple[Entity, ...] | None = None
    """None: `text` is Markdown (a model's reply to its writer), rendered when sent. A tuple
    (even empty): `text` is final and these are its only entities (a notice built with
    jobs.richtext.RichText), never parsed, so nobody else's markup becomes formatting."""
    link_preview: bool = False
    """Let Telegram preview the first link. Its servers fetch that URL unasked (a URL can carry
    data out without a click), so only a reply to the owner's own untainted turn may."""
    trusted: bool = False
    """The owner's untainted session's own words: when the owner replies to this message
    later, its text reaches a session without tainting it. Everything else Jobs sends (a
    stranger's words quoted, a reply written after reading outside text) is not."""
    edit_of: int | None = None
    """A message of Jobs' own that the reply was streamed into (where no draft shows): the
    first chunk replaces its text instead of being sent anew. Never one Jobs did not send."""

    @classmethod
    def formatted(
        cls,
        chat_id: int,
        body: Body,
        /,
        *,
        reply_to: int | None = None,
        link_preview: bool = False,
        random_id: int = 0,
        trusted: bool = False,
        edit_of: int | None = None,
    ) -> OutboundMessage:
        """A text message saying `body`: a notice with exactly its entities, or (a str)
        Markdown rendered when sent (see `entities`). `random_id`: the draft it replaces."""
        text, entities = (body, None) if isinstance(body, str) else (body.text, body.entities)
        return cls(
            chat_id,
            text,
            reply_to=reply_to,
            entities=entities,
            link_preview=link_preview,
            random_id=random_id,
            trusted=trusted,
            edit_of=edit_of,
        )


@dataclass(frozen=True, slots=True)
class SentRef:
    """What the channel reports after a send."""

    chat_id: int
    msg_id: int
    duplicate: bool = False
    """True when the channel had already sent this message (same random id) before."""
    msg_ids: tuple[int, ...] = ()
    """Every message id the send created (a long text goes out in several chunks)."""


@dataclass(frozen=True, slots=True)
class ChannelPost:
    """A post in a watched channel or group: untrusted data for the trigger system."""

    chat_id: int
    msg_id: int
    text: str
    chat_title: str = ""
    grouped_id: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


class Channel(Protocol):
    """Where replies go: Telegram in production, the terminal in `jobs chat`, a fake in tests.

    The delivery loop calls `send` once per outbox row and `typing` while a turn runs.
    `send` either delivers the message and returns its SentRef, raises `RetryLater` (a
    flood wait: the same row is tried again later with the same random id), or raises
    another `JobsError` when the message can never be delivered (the row is marked failed).
    """

    async def send(self, message: OutboundMessage, /) -> SentRef: ...

    async def typing(self, chat_id: int, /) -> None:
        """Show "typing…" in the chat for a few seconds (best effort, never raises)."""
        ...

    async def acknowledge(self, chat_id: int, msg_id: int, /) -> None:
        """Mark a message as seen (a reaction), best effort, never raises."""
        ...

    async def draft(self, chat_id: int, random_id: int, text: str, /) -> bool:
        """Show `text` as the reply being written (Telegram's live draft of the message whose
        random id is `random_id`; the sent message replaces it). Best effort, never raises:
        False when the chat or account cannot show drafts (then `preview`, else "typing…")."""
        ...

    async def preview(self, chat_id: int, text: str, /, *, msg_id: int | None = None) -> int | None:
        """Show `text` as the reply being written in a message of its own, where drafts do
        not show: send it (`msg_id` None) or edit message `msg_id`, which Jobs sent. Plain
        text, no link preview. The message's id, or None when that failed (never raises)."""
        ...
