"""What the telegram tools need from the account: the TelegramAccount protocol and its values.

Declared here, by the consumer; jobs.telegram.api.TelegramApi implements it over Telethon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

ChatKind = Literal["user", "bot", "group", "channel", "saved"]


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A resolved chat or person."""

    id: int
    """Telegram's marked id (users positive, groups and channels negative)."""
    name: str
    kind: ChatKind
    username: str | None = None

    def label(self) -> str:
        handle = f"@{self.username}, " if self.username else ""
        return f"{self.name or '(no name)'} ({handle}{self.kind} {self.id})"


@dataclass(frozen=True, slots=True)
class DialogInfo:
    chat: ChatRef
    unread: int
    last_date: datetime | None
    last_text: str

    def line(self) -> str:
        when = self.last_date.strftime("%Y-%m-%d %H:%M") if self.last_date else "-"
        unread = f", {self.unread} unread" if self.unread else ""
        preview = self.last_text.replace("\n", " ")[:80]
        return f"- {self.chat.label()}{unread}; last {when}: {preview}"


@dataclass(frozen=True, slots=True)
class MessageInfo:
    chat: ChatRef
    msg_id: int
    date: datetime
    sender: str
    text: str
    outgoing: bool
    media: str | None = None
    """What is attached, e.g. "photo" or "document report.pdf, 1.2 MB"."""
    reply_to: int | None = None

    def line(self, *, with_chat: bool, max_chars: int) -> str:
        """One line per message: id, time, sender, [attachment], text cut at `max_chars`."""
        text = self.text if len(self.text) <= max_chars else self.text[:max_chars] + " […]"
        extras = [f"[{self.media}]"] if self.media else []
        if self.reply_to:
            extras.append(f"(reply to #{self.reply_to})")
        where = f" in {self.chat.label()}" if with_chat else ""
        who = "me" if self.outgoing else self.sender
        body = " ".join([*extras, text]).strip()
        return f"#{self.msg_id} {self.date.strftime('%Y-%m-%d %H:%M')} {who}{where}: {body}"


@dataclass(frozen=True, slots=True)
class PersonInfo:
    id: int
    name: str
    username: str | None
    phone: str | None
    bio: str
    is_contact: bool
    is_bot: bool
    last_seen: str
    """"online now", "recently", "2026-05-01 10:00 UTC", … as Telegram shows it."""

    def describe(self) -> str:
        lines = [f"{self.name} (id {self.id})"]
        lines += [f"username: @{self.username}"] if self.username else []
        lines += [f"phone: +{self.phone}"] if self.phone else []
        lines += [f"bio: {self.bio}"] if self.bio else []
        yes = {True: "yes", False: "no"}
        lines.append(f"contact: {yes[self.is_contact]}; bot: {yes[self.is_bot]}")
        lines.append(f"last seen: {self.last_seen}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class SentInfo:
    chat: ChatRef
    msg_id: int


class TelegramAccount(Protocol):
    """The logged-in Telegram account, as the owner's tools use it.

    `chat`/`who` arguments are what a person would say: "@username", a t.me link, a numeric
    id, "me" (Saved Messages), "owner", or a contact's or chat's name. Every method raises
    TelegramError with a message that says what went wrong (not found, private, ambiguous
    name, …), and RetryLater when Telegram asks to wait; none sleeps through a flood wait.
    """

    async def list_dialogs(self, *, limit: int) -> list[DialogInfo]: ...

    async def read_messages(
        self, chat: str, /, *, limit: int, since: datetime | None
    ) -> list[MessageInfo]:
        """The newest `limit` messages (only those after `since`), oldest first."""
        ...

    async def search_messages(
        self, query: str, /, *, chat: str | None, limit: int
    ) -> list[MessageInfo]:
        """Messages containing `query`, newest first; in every chat when `chat` is None."""
        ...

    async def send_message(self, chat: str, text: str, /, *, reply_to: int | None) -> SentInfo:
        """Send Markdown `text` (≤ 4096 characters once rendered)."""
        ...

    async def send_file(self, chat: str, path: Path, /, *, caption: str, photo: bool) -> SentInfo:
        """Send a local file as a document (or as a photo); caption ≤ 1024 characters."""
        ...

    async def forward_message(self, from_chat: str, msg_id: int, to_chat: str, /) -> SentInfo: ...

    async def mark_read(self, chat: str, /) -> ChatRef: ...

    async def get_user_info(self, who: str, /) -> PersonInfo: ...

    async def download_media(
        self, chat: str, msg_id: int, /, *, folder: Path, max_bytes: int
    ) -> Path:
        """Save the file of a message under `folder`; refused (not started) past `max_bytes`."""
        ...
