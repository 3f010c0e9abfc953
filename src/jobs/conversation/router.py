"""Who a message is from, and so where it goes: owner, a task's session, external session,
announce, or nowhere.

Pure: no IO, no await. The dispatcher looks up the person and calls `route`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from jobs.config import ExternalUsers
from jobs.sessions.keys import OWNER_KEY, SessionKey


class RouteKind(StrEnum):
    OWNER = "owner"
    TASK = "task"  # the person a conversation task talks with: their words go to that task
    EXTERNAL = "external"
    ANNOUNCE = "announce"  # a stranger under `approved`: tell the owner once, answer nothing
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class Sender:
    """What the router needs to know about the writer (from PeopleRepo and the message)."""

    user_id: int
    access: str  # storage Access value: unknown, pending, allowed, blocked
    is_contact: bool
    task_id: int | None = None
    """The newest unfinished task that talks with this person, if any."""


@dataclass(frozen=True, slots=True)
class Route:
    kind: RouteKind
    session_key: SessionKey | None = None
    reason: str = ""
    task_id: int | None = None


def external_key(user_id: int) -> SessionKey:
    return SessionKey.person(user_id)


def default_policy(*, own_account: bool) -> ExternalUsers:
    """Inside the owner's own account, nobody's friends get surprised by a bot."""
    return ExternalUsers.APPROVED if own_account else ExternalUsers.ALL


def route(sender: Sender, *, owner_id: int, policy: ExternalUsers) -> Route:
    if sender.user_id == owner_id:
        return Route(RouteKind.OWNER, OWNER_KEY)
    if sender.access == "blocked":
        return Route(RouteKind.IGNORE, reason="blocked")
    if sender.task_id is not None:  # the owner asked Jobs to talk with them: whatever the policy
        return Route(RouteKind.TASK, SessionKey.task(sender.task_id), task_id=sender.task_id)
    if sender.access == "allowed" and policy is not ExternalUsers.NONE:
        return Route(RouteKind.EXTERNAL, external_key(sender.user_id))
    if policy is ExternalUsers.ALL:
        return Route(RouteKind.EXTERNAL, external_key(sender.user_id))
    if policy is ExternalUsers.CONTACTS:
        if sender.is_contact:
            return Route(RouteKind.EXTERNAL, external_key(sender.user_id))
        return Route(RouteKind.IGNORE, reason="not a contact")
    if policy is ExternalUsers.APPROVED:
        if sender.access == "unknown":
            return Route(RouteKind.ANNOUNCE, reason="not yet approved")
        return Route(RouteKind.IGNORE, reason="waiting for the owner's approval")
    return Route(RouteKind.IGNORE, reason="external users are off")
