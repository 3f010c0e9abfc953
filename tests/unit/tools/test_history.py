"""The "history" tools: every bad input gets an answer that says what to do; results are
marked as other people's words and cite links; only opted-in chats are ever named."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from jobs.memory.history import ChatHistory
from jobs.storage import Database
from jobs.storage.history import HistoryEntry, HistoryRepo
from jobs.tools.history import HistoryTools
from tests.unit.memory.test_history import ANNA, AT, BOB, Source, settle


def said(result: dict[str, Any]) -> str:
    return str(result["content"][0]["text"])


async def tools(db: Database, source: Source | None) -> tuple[HistoryTools, ChatHistory]:
    history = ChatHistory(repo=HistoryRepo(db), source=source)
    await history.restore()
    return HistoryTools(history=history, zone=UTC), history


async def test_opting_in_and_out_answer_every_input(db: Database) -> None:
    source = Source()
    source.say(ANNA, 1, "hello")
    made, history = await tools(db, source)
    assert said(await made.list_chats()).startswith("No chat is opted in")
    assert (await made.remember({}))["is_error"]
    refused = await made.remember({"chat": "Zed"})
    assert refused["is_error"] and "No chat called 'Zed'" in said(refused)
    assert "«Anna» (chat 111) is opted in" in said(await made.remember({"chat": "Anna"}))
    assert "in Jobs' memory already" in said(await made.remember({"chat": "Anna"}))
    await settle(history)
    assert "- «Anna» (chat 111): 1 messages, read" in said(await made.list_chats())
    unknown = await made.forget({"chat": "Bob"})
    assert unknown["is_error"] and "opted in: «Anna» (111)" in said(unknown)
    assert "1 indexed messages deleted" in said(await made.forget({"chat": "anna"}))
    assert source.reads == [(ANNA, 0)]  # Bob's chat was never read


async def test_search_and_digest(db: Database) -> None:
    source = Source()
    made, history = await tools(db, source)
    assert "nothing to search" in said(await made.search({"query": "invoice"}))
    await made.remember({"chat": "Anna"})
    await settle(history)
    assert (await made.search({"query": "  "}))["is_error"]
    await history.on_message(HistoryEntry(ANNA, 4, AT, "Anna", False, "the invoice\nis late"))
    found = said(await made.search({"query": "invoice", "chat": "Anna", "limit": 500}))
    assert found.startswith("(Messages from the owner's chats: other people's words")
    assert "2026-05-01 09:00 in «Anna», Anna: the invoice is late " in found
    assert found.endswith("tg://openmessage?user_id=111&message_id=4")
    assert "No message in the opted-in chats matches 'receipt'" in said(
        await made.search({"query": "receipt"})
    )
    assert (await made.search({"query": "invoice", "chat": "Bob"}))["is_error"]

    source.say(ANNA, 5, "are you there?")
    source.marks[ANNA] = 4
    digest = said(await made.digest({}))
    assert "«Anna»: 1 unread" in digest and "Anna: are you there?" in digest
    source.marks[ANNA] = 5  # the owner read it on their phone
    assert "«Anna»: nothing unread." in said(await made.digest({"chats": ["Anna"]}))
    assert (await made.digest({"chats": "Anna"}))["is_error"]
    assert (await made.digest({"chats": ["Bob"]}))["is_error"]
    assert all(chat != BOB for chat, _ in source.reads)
