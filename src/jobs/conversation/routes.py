"""Who a message is from, and so where it goes: the owner, a person in a session of their own,
the task that talks with them, an announcement to the owner, or nowhere.

Routes are values: code that must differ asks the route (its session key, its role, whether
its writer is rate-limited), never `if kind is …`. Pure: no IO, no await; the chat worker looks
the person up and calls `route`.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.config import ExternalUsers
from jobs.sessions.charges import Charge
from jobs.sessions.keys import OWNER_KEY, SessionKey
from jobs.sessions.roles import EXTERNAL, OWNER, TASK, RoleSpec


@dataclass(frozen=True, slots=True)
class GroupChat:
    """Where a group message was written, as routing needs it."""

    chat_id: int
    enabled: bool
    """The owner enabled this group (they can take that back at any time)."""
    addressed: bool
    """The message mentions Jobs or replies to it."""


@dataclass(frozen=True, slots=True)
class Sender:
    """What routing needs to know about the writer (from PeopleRepo and the message)."""

    user_id: int
    access: str  # storage Access value: unknown, pending, allowed, blocked
    is_contact: bool
    task_id: int | None = None
    """The newest unfinished task that talks with this person, if any."""
    drafts: bool = False
    """The owner's rule: answers to this person are drafts in their chat, never sent."""
    handed_over: bool = False
    """The owner is talking with this person themselves (a handover in force)."""
    group: GroupChat | None = None
    """Set for a message written in a group."""


class _SessionRoute:
    """What every route to a session turn answers. The defaults are a person's in a session of
    their own; each route overrides only what differs for it."""

    __slots__ = ()

    @property
    def key(self) -> SessionKey:
        """The session the turn runs in."""
        raise NotImplementedError

    @property
    def own_key(self) -> SessionKey:
        """The session the writer's commands (/stop, /clear) act on."""
        return self.key

    @property
    def role(self) -> RoleSpec:
        return EXTERNAL

    @property
    def is_owner(self) -> bool:
        return self.key.is_owner

    @property
    def speaks(self) -> bool:
        """Jobs speaks to the writer: "typing…", 👀, a live draft, answers and notices. False:
        the answer is a draft in their chat for the owner, and they see nothing of Jobs."""
        return True

    @property
    def charge(self) -> Charge:
        """Who the turn's spend counts against (the budgets and /pause ask): the session's."""
        return Charge.of_key(self.key)


@dataclass(frozen=True, slots=True)
class OwnerRoute(_SessionRoute):
    """The owner: their own session, never rate-limited."""

    @property
    def key(self) -> SessionKey:
        return OWNER_KEY

    @property
    def role(self) -> RoleSpec:
        return OWNER


@dataclass(frozen=True, slots=True)
class PersonRoute(_SessionRoute):
    """Someone else allowed to talk: a session of their own with the three task tools. With
    `drafts`, the answer is kept as a draft in their chat for the owner, never sent (and
    they see no sign of Jobs at work)."""

    person_id: int
    drafts: bool = False

    @property
    def key(self) -> SessionKey:
        return SessionKey.person(self.person_id)

    @property
    def speaks(self) -> bool:
        return not self.drafts


@dataclass(frozen=True, slots=True)
class TaskRoute(_SessionRoute):
    """The person a conversation task talks with: their words go to that task's session (its
    spend is the task's), and what it says goes to the owner. Their commands act on their own
    session, never the task's."""

    task_id: int
    person_id: int

    @property
    def key(self) -> SessionKey:
        return SessionKey.task(self.task_id)

    @property
    def own_key(self) -> SessionKey:
        return SessionKey.person(self.person_id)

    @property
    def role(self) -> RoleSpec:
        return TASK


@dataclass(frozen=True, slots=True)
class GroupRoute(_SessionRoute):
    """Someone who addressed Jobs in a group the owner enabled (an account of Jobs' own): a
    session of their own for that group with the three task tools — the owner's too, since
    the answer goes to everyone in the group — answered in the group, as a reply. What they
    make it spend is their own, as any other person's."""

    chat_id: int
    person_id: int

    @property
    def key(self) -> SessionKey:
        return SessionKey.group(self.chat_id, self.person_id)

    @property
    def charge(self) -> Charge:
        return Charge.person(self.person_id)


@dataclass(frozen=True, slots=True)
class AnnounceRoute:
    """A stranger under `approved`: the owner is told once, nothing is answered."""


@dataclass(frozen=True, slots=True)
class IgnoreRoute:
    reason: str


TurnRoute = OwnerRoute | PersonRoute | TaskRoute | GroupRoute
"""A route that leads to a session turn."""
Route = TurnRoute | AnnounceRoute | IgnoreRoute


def default_policy(*, own_account: bool) -> ExternalUsers:
    """Inside the owner's own account, nobody's friends get surprised by a bot."""
    return ExternalUsers.APPROVED if own_account else ExternalUsers.ALL


def route(
    sender: Sender, *, owner_id: int, policy: ExternalUsers, own_account: bool = True
) -> Route:
    """`own_account`: Jobs runs in the owner's own account (or that is not known yet)."""
    if sender.group is not None:
        return _in_group(sender, sender.group, owner_id, policy, own_account=own_account)
    if sender.user_id == owner_id:
        return OwnerRoute()
    if sender.access == "blocked":
        return IgnoreRoute("blocked")
    if sender.handed_over:  # the owner talks with them: their task waits too
        return IgnoreRoute("the owner is talking with them")
    if sender.task_id is not None:  # the owner asked Jobs to talk with them: whatever the policy
        return TaskRoute(sender.task_id, sender.user_id)
    person = PersonRoute(sender.user_id, drafts=sender.drafts)
    if policy is ExternalUsers.NONE:
        return IgnoreRoute("external users are off")
    # Allowed, or answered as drafts (nothing is sent: the owner reads the answer first).
    if sender.access == "allowed" or sender.drafts:
        return person
    return _by_policy(sender, person, policy)


def _by_policy(sender: Sender, person: PersonRoute, policy: ExternalUsers) -> Route:
    """Someone the owner has not decided about, under `policy` (not NONE)."""
    if policy is ExternalUsers.ALL:
        return person
    if policy is ExternalUsers.CONTACTS:
        return person if sender.is_contact else IgnoreRoute("not a contact")
    if sender.access == "unknown":
        return AnnounceRoute()
    return IgnoreRoute("waiting for the owner's approval")


def _in_group(
    sender: Sender, group: GroupChat, owner_id: int, policy: ExternalUsers, *, own_account: bool
) -> Route:
    """Only in an account of Jobs' own, only in a group the owner enabled, only when Jobs is
    addressed: nobody can make it speak in a group otherwise."""
    if own_account:
        return IgnoreRoute("Jobs never speaks in groups in the owner's own account")
    if not group.enabled:
        return IgnoreRoute("the group is not enabled")
    if not group.addressed:
        return IgnoreRoute("not addressed to Jobs")
    if sender.user_id != owner_id:
        if sender.access == "blocked":
            return IgnoreRoute("blocked")
        if policy is ExternalUsers.NONE:
            return IgnoreRoute("external users are off")
    return GroupRoute(group.chat_id, sender.user_id)
