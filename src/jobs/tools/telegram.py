"""The owner's Telegram tools (server "telegram"): dialogs, reading, search, sending, files.

Every tool goes through a TelegramAccount (jobs.telegram.api.TelegramApi in production);
failures come back as error results that say what to do, and output is capped.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from claude_agent_sdk import SdkMcpTool, tool

from jobs.clock import Clock, utc_now
from jobs.errors import JobsError
from jobs.tools.registry import ToolServer, qualified_name
from jobs.tools.results import ToolResult, error_result, text_result
from jobs.tools.telegram_account import DialogInfo, MessageInfo, SentInfo, TelegramAccount

SERVER_NAME: Final = "telegram"
TOOL_NAMES: Final = (
    "list_dialogs",
    "read_messages",
    "search_messages",
    "send_message",
    "send_file",
    "forward_message",
    "mark_read",
    "get_user_info",
    "download_media",
)
READ_ONLY_TOOLS: Final = frozenset(
    qualified_name(SERVER_NAME, name)
    for name in ("list_dialogs", "read_messages", "search_messages", "get_user_info")
)
"""What a tainted turn may still use (SessionManager's read_only_tools)."""
MAX_FILE_BYTES: Final = 50 * 1024 * 1024
MAX_OUTPUT_CHARS: Final = 12_000
MAX_MESSAGE_CHARS: Final = 1_500
MAX_LIMIT: Final = 100
PHOTO_SUFFIXES: Final = frozenset({".jpg", ".jpeg", ".png", ".webp"})
_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

_CHAT = (
    "who or where: @username, a t.me link, a numeric id, 'me' (Saved Messages), 'owner', "
    "or a contact's or chat's name as shown in Telegram"
)
_LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20}


def _schema(required: Sequence[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


_CHAT_PROP = {"type": "string", "description": _CHAT}
_MSG_ID = {"type": "integer", "description": "the message id, as listed by read_messages"}
_TOOLS: Final[dict[str, tuple[str, dict[str, Any]]]] = {
    "list_dialogs": (
        "List this Telegram account's chats, most recent first: name, kind, id, unread count, "
        "the last message's date and start.",
        _schema((), limit=_LIMIT),
    ),
    "read_messages": (
        "Read a chat's latest messages (oldest first, each with its id, time and sender). "
        "`since`: only newer ones — ISO 8601 ('2026-05-01', '2026-05-01T09:00+02:00') or "
        "relative ('30m', '12h', '3d', '1w'). Long messages are shortened.",
        _schema(("chat",), chat=_CHAT_PROP, limit=_LIMIT, since={"type": "string"}),
    ),
    "search_messages": (
        "Search messages containing `query` in one chat, or in all chats when `chat` is left "
        "out. Newest first.",
        _schema(("query",), query={"type": "string"}, chat=_CHAT_PROP, limit=_LIMIT),
    ),
    "send_message": (
        "Send a text message (Markdown, at most 4096 characters) from the owner's account to "
        "any chat, optionally as a reply to one of its messages. It is sent at once, as the "
        "owner: only send what the owner asked for.",
        _schema(("chat", "text"), chat=_CHAT_PROP, text={"type": "string"}, reply_to=_MSG_ID),
    ),
    "send_file": (
        "Send a file from the workspace or the browser's downloads folder (a PDF, image, "
        "screenshot, …; at most 50 MB) to a chat, as a document, or as a photo with "
        "as_photo=true (jpg, png or webp). `path` is relative to the workspace, or absolute; "
        "caption at most 1024 characters.",
        _schema(
            ("chat", "path"),
            chat=_CHAT_PROP,
            path={"type": "string"},
            caption={"type": "string"},
            as_photo={"type": "boolean", "default": False},
        ),
    ),
    "forward_message": (
        "Forward one message from a chat to another chat.",
        _schema(
            ("from_chat", "message_id", "to_chat"),
            from_chat=_CHAT_PROP,
            message_id=_MSG_ID,
            to_chat=_CHAT_PROP,
        ),
    ),
    "mark_read": ("Mark every message of a chat as read.", _schema(("chat",), chat=_CHAT_PROP)),
    "get_user_info": (
        "Who a person is: name, @username, id, phone (if visible), bio, contact or not, "
        "bot or not, last seen.",
        _schema(("user",), user=_CHAT_PROP),
    ),
    "download_media": (
        "Download the photo or file of a message into the workspace's uploads/ folder (at "
        "most 50 MB) and return its path, to open with your file tools.",
        _schema(("chat", "message_id"), chat=_CHAT_PROP, message_id=_MSG_ID),
    ),
}


class TelegramTools:
    """Builds the "telegram" server over one TelegramAccount (owner and task sessions)."""

    def __init__(
        self,
        *,
        account: TelegramAccount,
        roots: Sequence[Path],
        uploads_dir: Path,
        clock: Clock = utc_now,
    ) -> None:
        """`roots`: folders send_file may read from (the workspace first: relative paths)."""
        self._account = account
        self._roots = tuple(roots)
        self._uploads = uploads_dir
        self._clock = clock

    def server(self) -> ToolServer:
        return ToolServer.in_process(SERVER_NAME, self.tools())

    def tools(self) -> list[SdkMcpTool[Any]]:
        return [
            tool(name, doc, schema)(getattr(self, name)) for name, (doc, schema) in _TOOLS.items()
        ]

    # -- the tools' bodies (public so tests can call them without a model) ------------------

    async def list_dialogs(self, args: dict[str, Any]) -> ToolResult:
        return await _run(_dialogs(self._account.list_dialogs(limit=_limit(args))))

    async def read_messages(self, args: dict[str, Any]) -> ToolResult:
        since = parse_since(args.get("since"), self._clock())
        if isinstance(since, str):
            return error_result(since)
        chat = _text(args.get("chat"))
        found = self._account.read_messages(chat, limit=_limit(args), since=since)
        return await _run(
            _messages(found, empty="No messages there" + (" since then." if since else "."))
        )

    async def search_messages(self, args: dict[str, Any]) -> ToolResult:
        query = _text(args.get("query"))
        if not query:
            return error_result("query must be the words to look for.")
        chat = _text(args.get("chat")) or None
        found = self._account.search_messages(query, chat=chat, limit=_limit(args))
        return await _run(_messages(found, empty=f"No messages contain {query!r}."))

    async def send_message(self, args: dict[str, Any]) -> ToolResult:
        text = args.get("text")
        if not isinstance(text, str) or not text.strip():
            return error_result("text must be the message to send, not empty.")
        reply_to = args.get("reply_to")
        if reply_to is not None and not isinstance(reply_to, int):
            return error_result("reply_to must be a message id (a number).")
        sent = self._account.send_message(_text(args.get("chat")), text, reply_to=reply_to)
        return await _run(_sent(sent, "Sent"))

    async def send_file(self, args: dict[str, Any]) -> ToolResult:
        photo = bool(args.get("as_photo", False))
        path = self.local_file(_text(args.get("path")), photo=photo)
        if isinstance(path, str):
            return error_result(path)
        caption = args.get("caption") or ""
        if not isinstance(caption, str):
            return error_result("caption must be text.")
        sent = self._account.send_file(_text(args.get("chat")), path, caption=caption, photo=photo)
        return await _run(_sent(sent, f"Sent {path.name}"))

    async def forward_message(self, args: dict[str, Any]) -> ToolResult:
        msg_id = args.get("message_id")
        if not isinstance(msg_id, int):
            return error_result("message_id must be the message's id (a number).")
        from_chat, to_chat = _text(args.get("from_chat")), _text(args.get("to_chat"))
        sent = self._account.forward_message(from_chat, msg_id, to_chat)
        return await _run(_sent(sent, "Forwarded"))

    async def mark_read(self, args: dict[str, Any]) -> ToolResult:
        async def work() -> ToolResult:
            chat = await self._account.mark_read(_text(args.get("chat")))
            return text_result(f"Marked {chat.label()} as read.")

        return await _run(work())

    async def get_user_info(self, args: dict[str, Any]) -> ToolResult:
        async def work() -> ToolResult:
            person = await self._account.get_user_info(_text(args.get("user")))
            return text_result(person.describe())

        return await _run(work())

    async def download_media(self, args: dict[str, Any]) -> ToolResult:
        msg_id = args.get("message_id")
        if not isinstance(msg_id, int):
            return error_result("message_id must be the message's id (a number).")

        async def work() -> ToolResult:
            path = await self._account.download_media(
                _text(args.get("chat")), msg_id, folder=self._uploads, max_bytes=MAX_FILE_BYTES
            )
            return text_result(f"Saved as {path} ({path.stat().st_size} bytes).")

        return await _run(work())

    def local_file(self, raw: str, *, photo: bool) -> Path | str:
        """The file send_file may send, or what is wrong with `raw`."""
        if not raw:
            return "path must name a file in the workspace."
        given = Path(raw).expanduser()
        path = (given if given.is_absolute() else self._roots[0] / given).resolve()
        if not any(path.is_relative_to(root.resolve()) for root in self._roots):
            others = "".join(f" and {root}" for root in self._roots[1:])
            return f"{raw} is outside the workspace{others}; only files there can be sent."
        if not path.is_file():
            return f"There is no file {raw} in the workspace."
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return f"{path.name} is {size / 2**20:.0f} MB; at most 50 MB can be sent."
        if photo and path.suffix.lower() not in PHOTO_SUFFIXES:
            return f"{path.name} is not a jpg, png or webp image: send it as a document."
        return path


def parse_since(value: object, now: datetime) -> datetime | str | None:
    """`since` as a moment, None when absent, or an error message."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        return "since must be text such as '12h' or '2026-05-01T09:00'."
    if match := _RELATIVE.match(value):
        return now - timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return f"since={value!r} is neither ISO 8601 ('2026-05-01T09:00') nor like '12h' or '3d'."
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _run(work: Awaitable[ToolResult]) -> ToolResult:
    try:
        return await work
    except (JobsError, OSError) as exc:  # OSError: a local file could not be read or written
        return error_result(str(exc))


def _limit(args: dict[str, Any]) -> int:
    value = args.get("limit")
    return max(1, min(MAX_LIMIT, value)) if isinstance(value, int) else 20


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def capped(lines: Sequence[str], *, what: str = "items") -> str:
    """Lines joined until MAX_OUTPUT_CHARS; then how many were left out."""
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        if used + len(line) > MAX_OUTPUT_CHARS:
            out.append(f"… {len(lines) - index} more {what} not shown: narrow the request.")
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


async def _dialogs(found: Awaitable[list[DialogInfo]]) -> ToolResult:
    dialogs = await found
    if not dialogs:
        return text_result("No chats.")
    return text_result(capped([d.line() for d in dialogs], what="chats"))


async def _messages(found: Awaitable[list[MessageInfo]], *, empty: str) -> ToolResult:
    messages = await found
    if not messages:
        return text_result(empty)
    chats = {m.chat.id: m.chat for m in messages}
    head = f"In {next(iter(chats.values())).label()}:" if len(chats) == 1 else ""
    lines = [m.line(with_chat=len(chats) > 1, max_chars=MAX_MESSAGE_CHARS) for m in messages]
    return text_result(capped([head, *lines] if head else lines, what="messages"))


async def _sent(sent_info: Awaitable[SentInfo], verb: str) -> ToolResult:
    sent = await sent_info
    return text_result(f"{verb} to {sent.chat.label()}, message id {sent.msg_id}.")
