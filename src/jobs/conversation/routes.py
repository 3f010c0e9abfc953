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
from jobs.sessions.roles import EXTERNAL, OWNER, RoleSpec


@dataclass(frozen=True, slots=True)
class Sender:
    """What routing needs to know about the writer (from PeopleRepo and the message)."""

    user_id: int
    access: str  # storage Access value: unknown, pending, allowed, blocked
    is_contact: bool
    task_id: int | None = None
    """The newest unfinished task that talks with this person, if any."""


@dataclass(frozen=True, slots=True)
class OwnerRoute:
    """The owner: their own session, never rate-limited."""

    @property
    def key(self) -> SessionKey:
        return OWNER_KEY

    @property
    def own_key(self) -> SessionKey:
        """The session the writer's commands (/stop, /clear) act on."""
        return OWNER_KEY

    @property
    def role(self) -> RoleSpec:
        return OWNER

    @property
    def is_owner(self) -> bool:
        return True

    @property
    def charge(self) -> Charge:
        """Who the turn's spend counts against (the budgets and /pause ask)."""
        return Charge.owner()


@dataclass(frozen=True, slots=True)
class PersonRoute:
    """Someone else allowed to talk: a session of their own with the three task tools."""

    person_id: int

    @property
    def key(self) -> SessionKey:
        return SessionKey.person(self.person_id)

    @property
    def own_key(self) -> SessionKey:
        return self.key

    @property
    def role(self) -> RoleSpec:
        return EXTERNAL

    @property
    def is_owner(self) -> bool:
        return False

    @property
    def charge(self) -> Charge:
        return Charge.person(self.person_id)


@dataclass(frozen=True, slots=True)
class TaskRoute:
    """The person a conversation task talks with: their words go to that task's session, and
    what it says goes to the owner. Their commands act on their own session, never the task's."""

    task_id: int
    person_id: int

    @property
    def key(self) -> SessionKey:
        return SessionKey.task(self.task_id)

    @property
    def own_key(self) -> SessionKey:
        return SessionKey.person(self.person_id)

    @property
    def is_owner(self) -> bool:
        return False

    @property
    def charge(self) -> Charge:
        """The task's: what its counterpart makes it do is the task's spend."""
        return Charge.task(self.task_id)


@dataclass(frozen=True, slots=True)
class AnnounceRoute:
    """A stranger under `approved`: the owner is told once, nothing is answered."""


@dataclass(frozen=True, slots=True)
class IgnoreRoute:
    reason: str


TurnRoute = OwnerRoute | PersonRoute | TaskRoute
"""A route that leads to a session turn."""
Route = TurnRoute | AnnounceRoute | IgnoreRoute


def default_policy(*, own_account: bool) -> ExternalUsers:
    """Inside the owner's own account, nobody's friends get surprised by a bot."""
    return ExternalUsers.APPROVED if own_account else ExternalUsers.ALL


def route(sender: Sender, *, owner_id: int, policy: ExternalUsers) -> Route:
    if sender.user_id == owner_id:
        return OwnerRoute()
    if sender.access == "blocked":
        return IgnoreRoute("blocked")
    if sender.task_id is not None:  # the owner asked Jobs to talk with them: whatever the policy
        return TaskRoute(sender.task_id, sender.user_id)
    person = PersonRoute(sender.user_id)
    if sender.access == "allowed" and policy is not ExternalUsers.NONE:
        return person
    if policy is ExternalUsers.ALL:
        return person
    if policy is ExternalUsers.CONTACTS:
        return person if sender.is_contact else IgnoreRoute("not a contact")
    if policy is ExternalUsers.APPROVED:
        if sender.access == "unknown":
            return AnnounceRoute()
        return IgnoreRoute("waiting for the owner's approval")
    return IgnoreRoute("external users are off")
