"""Senders: who wrote an inbox row, with what routing needs to know of them — their access, a
task talking with them, the owner's rules (drafts, a handover), or the group they wrote in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from jobs.conversation.routes import GroupChat, Sender
from jobs.storage.inbox import InboxItem
from jobs.storage.people import Access, PeopleRepo, Person
from jobs.storage.reply_modes import ReplyModeRepo
from jobs.storage.tasks import TaskRepo


class HandoverCheck(Protocol):
    """Whether the owner is talking with a person themselves (conversation.handover)."""

    async def in_force(self, person_id: int, /) -> bool: ...


class GroupCheck(Protocol):
    """Whether the owner enabled a group (conversation.groups.EnabledGroups)."""

    async def enabled(self, chat_id: int, /) -> bool: ...


@dataclass(frozen=True, slots=True)
class Senders:
    """Looks the writer up (and records the sighting); absent collaborators mean no rules."""

    people: PeopleRepo
    owner_id: int
    tasks: TaskRepo | None = None
    reply_modes: ReplyModeRepo | None = None
    handovers: HandoverCheck | None = None
    groups: GroupCheck | None = None
    _owner_seen: set[int] = field(default_factory=set, repr=False, compare=False)
    """Holds the owner's id once their sighting is recorded in this run."""

    async def of(self, item: InboxItem, /) -> Sender:
        if item.sender_id == self.owner_id and item.group is None and self._owner_seen:
            # Routing needs nothing stored about the owner: their turn starts without a write.
            return Sender(self.owner_id, str(Access.ALLOWED), is_contact=False)
        person = await self.people.upsert_seen(
            item.sender_id,
            username=item.sender_username,
            display_name=item.sender_name,
            is_contact=item.sender_is_contact,
        )
        if item.sender_id == self.owner_id:
            self._owner_seen.add(self.owner_id)
        return await (self._in_group(item, person) if item.group else self._private(person))

    async def handed_over(self, person_id: int, /) -> bool:
        return self.handovers is not None and await self.handovers.in_force(person_id)

    async def _private(self, person: Person) -> Sender:
        """Someone writing privately, with the owner's rules about them."""
        others = person.user_id != self.owner_id
        task = None
        if self.tasks is not None and others:
            task = await self.tasks.conversation_with(person.user_id)
        drafts = False
        if others and self.reply_modes is not None:
            drafts = await self.reply_modes.drafts_for(person.user_id, is_contact=person.is_contact)
        return Sender(
            person.user_id,
            str(person.access),
            person.is_contact,
            task_id=None if task is None else task.id,
            drafts=drafts,
            handed_over=others and await self.handed_over(person.user_id),
        )

    async def _in_group(self, item: InboxItem, person: Person) -> Sender:
        """Someone writing in a group: whether the owner enabled it, whether Jobs is asked."""
        enabled = self.groups is not None and await self.groups.enabled(item.chat_id)
        addressed = item.group is not None and item.group.addressed
        where = GroupChat(item.chat_id, enabled=enabled, addressed=addressed)
        return Sender(person.user_id, str(person.access), person.is_contact, group=where)
