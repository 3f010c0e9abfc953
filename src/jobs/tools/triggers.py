"""The owner's channel tools: subscribe_trigger, unsubscribe_trigger, list_triggers.

A watched Telegram channel or group is a row in trigger_subscriptions; the ChannelWatch (in
jobs.triggers) picks changes up through `on_change`. The chat the owner names is looked up by
a ChatResolver (jobs.telegram), so this module never imports Telethon.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from claude_agent_sdk import SdkMcpTool, tool

from jobs.errors import JobsError
from jobs.storage import Subscription, TriggerRepo
from jobs.tools.registry import ToolServer, qualified_name
from jobs.tools.results import ToolResult, error_result, text_result
from jobs.tools.schedules import ID_ONLY, parse_id, text_arg

SERVER_NAME: Final = "triggers"
SOURCE: Final = "tg_channel"
READ_ONLY_TOOLS: Final = frozenset({qualified_name(SERVER_NAME, "list_triggers")})
"""The tools here that change nothing: a tainted turn may still use them."""
MAX_KEYWORDS: Final = 20
MAX_INSTRUCTIONS: Final = 1000

SUBSCRIBE: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "chat": {"type": "string", "description": "@username, t.me link, or numeric id"},
        "keywords": {"type": "array", "items": {"type": "string"}},
        "instructions": {"type": "string"},
    },
    "required": ["chat"],
}


class ChatResolver(Protocol):
    """Finds the chat the owner named (jobs.telegram.channel_posts.ChannelPosts).

    `ref` is what the owner wrote: @username, a t.me link, or a numeric id. Returns the
    chat's marked id and title; raises a JobsError whose message says what is wrong (not
    found, a person rather than a channel or group, a private invite link).
    """

    async def resolve_chat(self, ref: str, /) -> tuple[int, str]: ...


OnSubscriptionsChanged = Callable[[], Awaitable[object]]
"""Reloads the watched chats (ChannelWatch.restore)."""


@dataclass(frozen=True, slots=True)
class SubscriptionDraft:
    chat: str
    keywords: tuple[str, ...]
    instructions: str


class TriggerTools:
    """The "triggers" server: Telegram channels and groups whose posts reach the owner."""

    def __init__(
        self,
        *,
        triggers: TriggerRepo,
        resolver: ChatResolver | None,
        on_change: OnSubscriptionsChanged,
        heartbeat_note: str = "",
    ) -> None:
        self._triggers = triggers
        self._resolver = resolver
        self._on_change = on_change
        self._heartbeat_note = heartbeat_note

    def server(self) -> ToolServer:
        return ToolServer.in_process(SERVER_NAME, self.tools())

    def tools(self) -> list[SdkMcpTool[Any]]:
        @tool(
            "subscribe_trigger",
            "Watch a Telegram channel or group: its new posts reach you (as untrusted data) "
            "and you tell the owner what matters. `chat`: @username, a t.me link or a numeric "
            "id. Optional `keywords` (only posts containing one of them count) and "
            "`instructions` (what to do with posts, e.g. 'summarise', 'tell me if X').",
            SUBSCRIBE,
        )
        async def subscribe_trigger(args: dict[str, Any]) -> ToolResult:
            return await self.subscribe(args)

        @tool(
            "unsubscribe_trigger", "Stop watching a chat (by the id list_triggers shows).", ID_ONLY
        )
        async def unsubscribe_trigger(args: dict[str, Any]) -> ToolResult:
            return await self.unsubscribe(args)

        @tool("list_triggers", "List the watched channels and groups, and the heartbeat.", {})
        async def list_triggers(_args: dict[str, Any]) -> ToolResult:
            return await self.list_all()

        return [subscribe_trigger, unsubscribe_trigger, list_triggers]

    async def subscribe(self, args: dict[str, Any], /) -> ToolResult:
        parsed = parse_subscription(args)
        if isinstance(parsed, str):
            return error_result(parsed)
        if self._resolver is None:
            return error_result("Watching chats needs Jobs running on Telegram (`jobs run`).")
        try:
            chat_id, title = await self._resolver.resolve_chat(parsed.chat)
        except JobsError as exc:
            return error_result(str(exc))
        sub = await self._triggers.add_subscription(
            SOURCE,
            str(chat_id),
            title=title,
            keywords=parsed.keywords,
            instructions=parsed.instructions,
        )
        await self._on_change()
        return text_result(f"Watching now. {_describe_sub(sub)}")

    async def unsubscribe(self, args: dict[str, Any], /) -> ToolResult:
        sub_id = parse_id(args)
        sub = None if sub_id is None else await self._triggers.get_subscription(sub_id)
        if sub is None:
            return error_result("No such subscription: give the id shown by list_triggers.")
        await self._triggers.remove_subscription(sub.id)
        await self._on_change()
        return text_result(f"Stopped watching «{sub.title or sub.target}».")

    async def list_all(self) -> ToolResult:
        subs = await self._triggers.list_subscriptions(source=SOURCE)
        lines = [_describe_sub(sub) for sub in subs] or ["No channels or groups are watched."]
        if self._heartbeat_note:
            lines.append(self._heartbeat_note)
        lines.append("Schedules: see schedule_list.")
        return text_result("\n".join(lines))


def _describe_sub(sub: Subscription) -> str:
    line = f"#{sub.id} «{sub.title or sub.target}» (chat {sub.target})"
    if sub.keywords:
        line += f", keywords: {', '.join(sub.keywords)}"
    if sub.instructions:
        line += f", instructions: {sub.instructions}"
    return line + ("" if sub.enabled else " — paused")


def parse_subscription(args: dict[str, Any], /) -> SubscriptionDraft | str:
    chat = text_arg(args, "chat", 300)
    if chat is None:
        return "Give the chat: @username, a t.me link or its numeric id."
    keywords = args.get("keywords") or []
    if isinstance(keywords, str):
        keywords = [keywords]
    if not isinstance(keywords, list) or len(keywords) > MAX_KEYWORDS:
        return f"keywords must be a list of at most {MAX_KEYWORDS} words."
    words = tuple(str(word).strip() for word in keywords if str(word).strip())
    instructions = args.get("instructions") or ""
    if not isinstance(instructions, str) or len(instructions) > MAX_INSTRUCTIONS:
        return f"instructions must be text of at most {MAX_INSTRUCTIONS} characters."
    return SubscriptionDraft(chat, words, instructions.strip())
