"""The "groups" tools: enabling one group at a time, every bad input answered; in the owner's
own account a group is watched instead."""

from __future__ import annotations

import pytest

from jobs.conversation.groups import EnabledGroups
from jobs.errors import TelegramError
from jobs.storage import Database, GroupRepo, TriggerRepo
from jobs.tools.groups import GroupTools, Watching
from jobs.tools.results import ToolResult

TEAM, TEAM2 = -1000000000060, -1000000000061


def said(result: ToolResult) -> str:
    return str(result["content"][0]["text"])


class Finder:
    async def find_group(self, ref: str, /) -> tuple[int, str]:
        known = {"Team Berlin": (TEAM, "Team Berlin"), "Team Paris": (TEAM2, "Team Paris")}
        if ref not in known:
            raise TelegramError(f"No contact or recent chat is called {ref!r}.")
        return known[ref]


@pytest.fixture
async def enabled(db: Database) -> EnabledGroups:
    groups = EnabledGroups(repo=GroupRepo(db))
    await groups.restore()
    return groups


def make(db: Database, enabled: EnabledGroups, *, own: bool, finder: bool = True) -> GroupTools:
    changes: list[bool] = []

    async def changed() -> None:
        changes.append(True)

    return GroupTools(
        groups=enabled,
        finder=Finder() if finder else None,
        own_account=lambda: own,
        watching=Watching(triggers=TriggerRepo(db), on_change=changed),
    )


async def test_enable_disable_and_list(db: Database, enabled: EnabledGroups) -> None:
    tools = make(db, enabled, own=False)
    assert said(await tools.list_all()) == "Jobs answers in no group."
    assert said(await tools.enable({"chat": ""})).startswith("Say which group")
    missing = await tools.enable({"chat": "Chess club"})
    assert missing["is_error"] and "No contact or recent chat" in said(missing)
    assert said(await tools.enable({"chat": "Team Berlin"})).startswith("Enabled «Team Berlin»")
    assert enabled.watching(TEAM)
    assert "was enabled already" in said(await tools.enable({"chat": "Team Berlin"}))
    await tools.enable({"chat": "Team Paris"})
    assert said(await tools.list_all()).count("- «Team") == 2
    several = await tools.disable({"chat": "team"})
    assert several["is_error"] and "Several enabled groups match 'team'" in said(several)
    nothing = await tools.disable({"chat": "Chess"})
    assert nothing["is_error"] and "No enabled group is called 'Chess'" in said(nothing)
    assert (
        said(await tools.disable({"chat": str(TEAM2)})) == "Jobs no longer answers in «Team Paris»."
    )
    assert not enabled.watching(TEAM2) and enabled.watching(TEAM)
    again = EnabledGroups(repo=GroupRepo(db))
    assert await again.restore() == 1  # kept in the database


async def test_without_telegram_or_in_the_owners_account(
    db: Database, enabled: EnabledGroups
) -> None:
    offline = make(db, enabled, own=False, finder=False)
    assert "need Jobs running on Telegram" in said(await offline.enable({"chat": "Team Berlin"}))
    own = make(db, enabled, own=True)
    first = said(await own.enable({"chat": "Team Berlin"}))
    assert "never speaks in groups" in first and "watches «Team Berlin» instead" in first
    assert "is watched already" in said(await own.enable({"chat": "Team Berlin"}))
    assert not enabled.watching(TEAM)
    subs = await TriggerRepo(db).list_subscriptions(source="tg_channel")
    assert [s.target for s in subs] == [str(TEAM)]
