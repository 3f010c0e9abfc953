"""routes.route, pure: who a message is from decides where it goes — the owner's rules
(drafts, a handover) included."""

from __future__ import annotations

import pytest

from jobs.config import ExternalUsers
from jobs.conversation.routes import (
    AnnounceRoute,
    IgnoreRoute,
    OwnerRoute,
    PersonRoute,
    Sender,
    TaskRoute,
    route,
)

OWNER, ALICE = 1000, 111


def routed(policy: ExternalUsers = ExternalUsers.APPROVED, **sender: object) -> object:
    values: dict[str, object] = {"user_id": ALICE, "access": "unknown", "is_contact": False}
    values.update(sender)
    return route(Sender(**values), owner_id=OWNER, policy=policy)  # type: ignore[arg-type]


def test_a_stranger_under_approved_is_announced_unless_answers_to_them_are_drafts() -> None:
    assert routed() == AnnounceRoute()
    drafted = routed(drafts=True)
    assert drafted == PersonRoute(ALICE, drafts=True)
    assert isinstance(drafted, PersonRoute)
    assert not drafted.speaks


@pytest.mark.parametrize("policy", list(ExternalUsers))
def test_drafts_answer_anyone_but_where_external_users_are_off(policy: ExternalUsers) -> None:
    expected = IgnoreRoute("external users are off") if policy is ExternalUsers.NONE else None
    got = routed(policy, drafts=True)
    assert got == (expected or PersonRoute(ALICE, drafts=True))


def test_a_handover_silences_the_person_and_their_task() -> None:
    why = IgnoreRoute("the owner is talking with them")
    assert routed(ExternalUsers.ALL, access="allowed", handed_over=True) == why
    assert routed(ExternalUsers.ALL, task_id=3, handed_over=True) == why
    assert routed(ExternalUsers.ALL, task_id=3) == TaskRoute(3, ALICE)


def test_the_owner_and_the_blocked_come_first() -> None:
    assert routed(user_id=OWNER, handed_over=True, drafts=True) == OwnerRoute()
    assert routed(access="blocked", drafts=True) == IgnoreRoute("blocked")


def test_only_draft_routes_keep_quiet() -> None:
    assert OwnerRoute().speaks and TaskRoute(1, ALICE).speaks and PersonRoute(ALICE).speaks
