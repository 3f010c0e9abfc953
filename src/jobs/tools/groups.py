"""The owner's group tools (server "groups"): enable a group chat for Jobs, one by one, disable
it, list them.

In an account of Jobs' own, Jobs answers in an enabled group when someone mentions it or
replies to it, as a reply to that message, in a session of that person's own with the three
task tools (the owner's too: everyone in the group reads the answer). In the owner's own
account Jobs never speaks in groups: enabling one watches it like a channel instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from claude_agent_sdk import SdkMcpTool, tool

from jobs.errors import JobsError
from jobs.storage import Group, TriggerRepo
from jobs.tools.registry import ToolServer, qualified_name
from jobs.tools.results import ToolResult, error_result, text_result

SERVER_NAME: Final = "groups"
READ_ONLY_TOOLS: Final = frozenset({qualified_name(SERVER_NAME, "list_groups")})
WATCH_SOURCE: Final = "tg_channel"
_CHAT = {
    "type": "object",
    "properties": {
        "chat": {
            "type": "string",
            "description": "the group: its title as shown in Telegram, @username, t.me link or id",
        }
    },
    "required": ["chat"],
}


class GroupFinder(Protocol):
    """Finds the group the owner names (jobs.telegram.groups.GroupFinder): its marked id and
    title; a JobsError says why not (not found, several match, a person or a channel, this
    account not in it)."""

    async def find_group(self, ref: str, /) -> tuple[int, str]: ...


class GroupSwitch(Protocol):
    """The enabled groups (jobs.conversation.groups.EnabledGroups)."""

    async def enable(self, chat_id: int, title: str, /) -> bool: ...

    async def disable(self, chat_id: int, /) -> bool: ...

    async def all(self) -> list[Group]: ...


@dataclass(frozen=True, slots=True)
class Watching:
    """Watching chats like channels (the owner's own account): their subscriptions."""

    triggers: TriggerRepo
    on_change: Callable[[], Awaitable[object]]


class GroupTools:
    """Builds the "groups" server."""

    def __init__(
        self,
        *,
        groups: GroupSwitch,
        finder: GroupFinder | None,
        own_account: Callable[[], bool],
        watching: Watching,
    ) -> None:
        self._groups = groups
        self._finder = finder
        self._own_account = own_account
        self._watching = watching

    def server(self) -> ToolServer:
        return ToolServer.in_process(SERVER_NAME, self.tools())

    def tools(self) -> list[SdkMcpTool[Any]]:
        @tool(
            "enable_group",
            "Let Jobs answer in a Telegram group this account is in, when someone there "
            "mentions it or replies to it (as a reply to that message; everyone in the group "
            "reads it). Group members get what any other person gets: their tasks, nothing of "
            "the owner's. In the owner's own account Jobs never speaks in groups: the group is "
            "watched like a channel instead.",
            _CHAT,
        )
        async def enable_group(args: dict[str, Any]) -> ToolResult:
            return await self.enable(args)

        @tool("disable_group", "Stop answering in a group.", _CHAT)
        async def disable_group(args: dict[str, Any]) -> ToolResult:
            return await self.disable(args)

        @tool("list_groups", "The groups Jobs answers in when addressed.", {})
        async def list_groups(_args: dict[str, Any]) -> ToolResult:
            return await self.list_all()

        return [enable_group, disable_group, list_groups]

    async def enable(self, args: dict[str, Any], /) -> ToolResult:
        found = await self._find(args)
        if isinstance(found, str):
            return error_result(found)
        chat_id, title = found
        if self._own_account():
            return await self._watch(chat_id, title)
        if not await self._groups.enable(chat_id, title):
            return text_result(f"«{title}» (chat {chat_id}) was enabled already.")
        return text_result(
            f"Enabled «{title}» (chat {chat_id}): Jobs answers there when someone mentions it "
            "or replies to one of its messages."
        )

    async def disable(self, args: dict[str, Any], /) -> ToolResult:
        chat = _text(args.get("chat"))
        enabled = await self._groups.all()
        match = [g for g in enabled if chat in (str(g.chat_id), g.title)] or [
            g for g in enabled if chat.casefold() in g.title.casefold()
        ]
        if not chat or not match:
            names = ", ".join(f"«{g.title}» ({g.chat_id})" for g in enabled) or "none"
            return error_result(f"No enabled group is called {chat!r}. Enabled: {names}.")
        if len(match) > 1:
            names = ", ".join(f"«{g.title}» ({g.chat_id})" for g in match)
            return error_result(f"Several enabled groups match {chat!r}: {names}. Use the id.")
        [group] = match
        await self._groups.disable(group.chat_id)
        return text_result(f"Jobs no longer answers in «{group.title}».")

    async def list_all(self) -> ToolResult:
        groups = await self._groups.all()
        if not groups:
            return text_result("Jobs answers in no group.")
        lines = [f"- «{g.title}» (chat {g.chat_id}), since {g.enabled_at:%Y-%m-%d}" for g in groups]
        if self._own_account():
            lines.append("(This is the owner's own account: Jobs does not speak in them here.)")
        return text_result("\n".join(lines))

    async def _find(self, args: dict[str, Any]) -> tuple[int, str] | str:
        chat = _text(args.get("chat"))
        if not chat:
            return "Say which group: its title, @username, t.me link or id."
        if self._finder is None:
            return "Groups need Jobs running on Telegram (`jobs run`)."
        try:
            return await self._finder.find_group(chat)
        except JobsError as exc:
            return str(exc)

    async def _watch(self, chat_id: int, title: str) -> ToolResult:
        triggers = self._watching.triggers
        for sub in await triggers.list_subscriptions(source=WATCH_SOURCE):
            if sub.target == str(chat_id):
                return text_result(
                    f"This is the owner's own account, where Jobs never speaks in groups; "
                    f"«{title}» is watched already (#{sub.id})."
                )
        sub = await triggers.add_subscription(WATCH_SOURCE, str(chat_id), title=title)
        await self._watching.on_change()
        return text_result(
            f"This is the owner's own account, where Jobs never speaks in groups. It watches "
            f"«{title}» instead, like a channel (#{sub.id}): what is new there reaches you as "
            f"outside text to tell the owner about; unsubscribe_trigger {sub.id} stops it."
        )


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""
