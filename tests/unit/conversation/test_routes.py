"""routes.route, pure: who a message is from decides where it goes — the owner's rules
(drafts, a handover) included."""

from __future__ import annotations

import pytest

from jobs.config import ExternalUsers
from jobs.conversation.routes import (
    AnnounceRoute,
    GroupChat,
    GroupRoute,
    IgnoreRoute,
    OwnerRoute,
    PersonRoute,
    Sender,
    TaskRoute,
    route,
)
from jobs.sessions.keys import SessionKey

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


def in_group(**group: bool) -> GroupChat:
    values = {"enabled": True, "addressed": True}
    values.update(group)
    return GroupChat(TEAM, **values)


TEAM = -1000000000060


def test_a_group_is_answered_only_when_enabled_addressed_and_in_an_account_of_jobs_own() -> None:
    assistant = {"policy": ExternalUsers.ALL, "own_account": False}
    sender = Sender(ALICE, "unknown", False, group=in_group())
    assert route(sender, owner_id=OWNER, **assistant) == GroupRoute(TEAM, ALICE)  # type: ignore[arg-type]
    owner = Sender(OWNER, "unknown", False, group=in_group())
    group_route = route(owner, owner_id=OWNER, **assistant)  # type: ignore[arg-type]
    assert group_route == GroupRoute(TEAM, OWNER)  # the owner's session never speaks in groups
    assert isinstance(group_route, GroupRoute)
    assert not group_route.is_owner
    cases = [
        (in_group(enabled=False), False, "the group is not enabled"),
        (in_group(addressed=False), False, "not addressed to Jobs"),
        (in_group(), True, "Jobs never speaks in groups in the owner's own account"),
    ]
    for group, own, why in cases:
        got = route(
            Sender(OWNER, "unknown", False, group=group),
            owner_id=OWNER,
            policy=ExternalUsers.ALL,
            own_account=own,
        )
        assert got == IgnoreRoute(why)
    blocked = Sender(ALICE, "blocked", False, group=in_group())
    assert route(blocked, owner_id=OWNER, **assistant) == IgnoreRoute("blocked")  # type: ignore[arg-type]
    off = route(sender, owner_id=OWNER, policy=ExternalUsers.NONE, own_account=False)
    assert off == IgnoreRoute("external users are off")
    assert GroupRoute(TEAM, ALICE).key == SessionKey.parse(f"group:{TEAM}:{ALICE}")


def test_group_session_keys() -> None:
    assert str(SessionKey.group(TEAM, ALICE)) == f"group:{TEAM}:{ALICE}"
    for bad in ("group:60:111", "group:-60", "group:-60:x", "group:"):
        with pytest.raises(ValueError, match="not a session key"):
            SessionKey.parse(bad)
