"""The owner's conversation rules (server "conversations"): answers kept as drafts instead of
sent, and conversations the owner takes over (Jobs keeps out of them).

Both need the owner's own account: a draft is saved in the chat of the account Jobs runs in,
which the owner sees on their devices only when it is theirs; a handover is about the owner
writing to people from that account.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from claude_agent_sdk import SdkMcpTool, tool

from jobs.clock import Clock
from jobs.storage import STRANGERS, Handover, PeopleRepo, Person, ReplyModeRepo
from jobs.tools.messaging import PersonLookup, person_label
from jobs.tools.registry import ToolServer, qualified_name
from jobs.tools.results import ToolResult, error_result, text_result

SERVER_NAME: Final = "conversations"
READ_ONLY_TOOLS: Final = frozenset({qualified_name(SERVER_NAME, "list_conversation_rules")})
MAX_HOURS: Final = 24 * 30
_WHO = {
    "type": "string",
    "description": "the person: @username, phone number, user id or contact name",
}
_MODES: Final = ("draft", "send", "default")
OWN_ACCOUNT_ONLY: Final = (
    "Jobs runs in an account of its own, not in the owner's: {what} only work in the "
    "owner's own account."
)


class HandoverControl(Protocol):
    """The handovers (jobs.conversation.handover.Handovers)."""

    async def hold(self, person_id: int, /, *, until: datetime | None) -> Handover:
        """Keep out of the conversation with `person_id` until `until` (None: until ended)."""

    async def end(self, person_id: int, /) -> bool:
        """Answer them again; False when Jobs was not keeping out."""

    async def in_force_now(self) -> list[Handover]: ...

    def describe_until(self, handover: Handover, /) -> str:
        """ "until 15:30", "until you say so"."""


class ConversationTools:
    """Builds the "conversations" server."""

    def __init__(
        self,
        *,
        modes: ReplyModeRepo,
        handovers: HandoverControl,
        lookup: PersonLookup,
        people: PeopleRepo,
        own_account: Callable[[], bool],
        clock: Clock,
    ) -> None:
        self._modes = modes
        self._handovers = handovers
        self._lookup = lookup
        self._people = people
        self._own_account = own_account
        self._clock = clock

    def server(self) -> ToolServer:
        return ToolServer.in_process(SERVER_NAME, self.tools())

    def tools(self) -> list[SdkMcpTool[Any]]:
        @tool(
            "set_reply_mode",
            "Choose how Jobs answers a person in the owner's account: 'draft' keeps each answer "
            "as a Telegram draft in their chat (the owner sends, edits or discards it; nothing "
            "is sent), 'send' answers as usual, 'default' drops the person's own rule. `who` "
            "is a person, or 'strangers' for everyone not in the owner's contacts (with "
            "'draft', strangers are answered as drafts instead of being announced).",
            {
                "type": "object",
                "properties": {"who": _WHO, "mode": {"type": "string", "enum": list(_MODES)}},
                "required": ["who", "mode"],
            },
        )
        async def set_reply_mode(args: dict[str, Any]) -> ToolResult:
            return await self.set_reply_mode(args)

        @tool(
            "hand_over",
            "Keep out of the conversation with a person (the owner talks with them): Jobs "
            "answers them no more and a task talking with them waits. `hours` (a number), or "
            "leave it out to keep out until the owner says so. Jobs does this by itself for "
            "a while whenever the owner writes to someone.",
            {
                "type": "object",
                "properties": {"who": _WHO, "hours": {"type": "number", "minimum": 0.1}},
                "required": ["who"],
            },
        )
        async def hand_over(args: dict[str, Any]) -> ToolResult:
            return await self.hand_over(args)

        @tool(
            "take_back",
            "End a handover: Jobs answers the person again, and their task goes on.",
            {"type": "object", "properties": {"who": _WHO}, "required": ["who"]},
        )
        async def take_back(args: dict[str, Any]) -> ToolResult:
            return await self.take_back(args)

        @tool(
            "list_conversation_rules",
            "Who gets drafts instead of answers, and which conversations Jobs keeps out of.",
            {},
        )
        async def list_conversation_rules(_args: dict[str, Any]) -> ToolResult:
            return await self.list_rules()

        return [set_reply_mode, hand_over, take_back, list_conversation_rules]

    # -- the tools' bodies ------------------------------------------------------------------

    async def set_reply_mode(self, args: dict[str, Any], /) -> ToolResult:
        mode = args.get("mode")
        if mode not in _MODES:
            return error_result("mode must be 'draft', 'send' or 'default'.")
        if not self._own_account():
            return error_result(OWN_ACCOUNT_ONLY.format(what="drafts"))
        who = _text(args.get("who"))
        if who.casefold() in ("strangers", "stranger", "everyone else"):
            return text_result(await self._strangers(str(mode)))
        person = await self._lookup.find(who)
        if isinstance(person, str):
            return error_result(person)
        label = person_label(person)
        if mode == "default":
            if not await self._modes.clear(person.user_id):
                return text_result(f"{label} had no rule of their own; nothing changed.")
            return text_result(f"{label} follows the strangers' rule again (if not a contact).")
        drafts = mode == "draft"
        changed = await self._modes.set(person.user_id, drafts=drafts)
        done = "already" if not changed else "from now on"
        what = "kept as drafts in their chat for the owner" if drafts else "sent as usual"
        return text_result(f"Answers to {label} are {done} {what}.")

    async def hand_over(self, args: dict[str, Any], /) -> ToolResult:
        if not self._own_account():
            return error_result(OWN_ACCOUNT_ONLY.format(what="handovers"))
        hours = args.get("hours")
        if hours is not None and (
            not isinstance(hours, int | float) or isinstance(hours, bool) or hours <= 0
        ):
            return error_result("hours must be a positive number, or left out.")
        if hours is not None and hours > MAX_HOURS:
            return error_result(f"At most {MAX_HOURS} hours; leave hours out for 'until I say so'.")
        person = await self._lookup.find(_text(args.get("who")))
        if isinstance(person, str):
            return error_result(person)
        until = None if hours is None else self._clock() + timedelta(hours=float(hours))
        handover = await self._handovers.hold(person.user_id, until=until)
        when = self._handovers.describe_until(handover)
        return text_result(
            f"Keeping out of the conversation with {person_label(person)} {when}: they get no "
            f"answer from Jobs and a task talking with them waits. /handback_{person.user_id} "
            "(or take_back) ends it."
        )

    async def take_back(self, args: dict[str, Any], /) -> ToolResult:
        person = await self._lookup.find(_text(args.get("who")))
        if isinstance(person, str):
            return error_result(person)
        if not await self._handovers.end(person.user_id):
            label = person_label(person)
            return error_result(f"Jobs was not keeping out of the conversation with {label}.")
        return text_result(f"Jobs answers {person_label(person)} again.")

    async def list_rules(self) -> ToolResult:
        lines: list[str] = []
        for rule in await self._modes.all():
            what = "drafts" if rule.drafts else "sent as usual"
            if rule.person_id == STRANGERS:
                lines.append(f"- strangers (not in the contacts): {what}")
            else:
                lines.append(f"- {await self._label(rule.person_id)}: {what}")
        if not lines:
            lines.append("Everyone's answers are sent as usual (no draft rules).")
        held = await self._handovers.in_force_now()
        lines += [
            f"- keeping out of {await self._label(h.person_id)} {self._handovers.describe_until(h)}"
            for h in held
        ]
        if not held:
            lines.append("Jobs keeps out of no conversation right now.")
        return text_result("\n".join(lines))

    async def _strangers(self, mode: str) -> str:
        if mode == "default" or mode == "send":
            changed = await self._modes.clear(STRANGERS)
            return (
                "Strangers' answers are sent as usual again."
                if changed
                else "Strangers' answers were already sent as usual."
            )
        if not await self._modes.set(STRANGERS, drafts=True):
            return "Strangers' answers are already kept as drafts."
        return (
            "From now on, answers to people not in the owner's contacts are kept as drafts in "
            "their chats (nothing is sent to them); people with a rule of their own keep it."
        )

    async def _label(self, person_id: int) -> str:
        person: Person | None = await self._people.get(person_id)
        return person_label(person) if person else f"id {person_id}"


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""
