"""The owner's Telegram as memory: chats opted in one by one are read into a local full-text
index and kept in step (new messages, edits, deletions); search answers with links to the
messages; a digest lists what is unread without marking it read. A chat not opted in is never
read. What the index gives back is outside text: the owner's session is tainted by it."""

from __future__ import annotations

from typing import Any

from telethon import utils
from telethon.tl import functions, types

from tests.e2e.conftest import OWNER_ID, Jobs
from tests.fakes.anthropic import text, tool_use

ANNA, BOB = 111, 222
PROJECT, FAMILY = 61, 62  # basic groups: their marked ids are -61, -62
READS = (
    functions.messages.GetHistoryRequest,
    functions.messages.SearchRequest,
    functions.messages.GetPeerDialogsRequest,
    functions.messages.GetMessagesRequest,
)


def reads_of(jobs: Jobs, chat_id: int) -> list[Any]:
    """Every request that read `chat_id` (its history, a search, its dialog, its messages)."""
    found = []
    for request in jobs.tg.of(*READS):
        peers = [getattr(request, "peer", None)]
        peers += [p.peer for p in getattr(request, "peers", None) or []]
        if any(
            p is not None and utils.get_peer_id(jobs.tg._input_to_peer(p)) == chat_id for p in peers
        ):
            found.append(request)
    return found


def indexed(jobs: Jobs, chat_id: int) -> list[str]:
    rows = jobs.query(
        "SELECT text FROM history_messages WHERE chat_id = ? ORDER BY msg_id", (chat_id,)
    )
    return [row["text"] for row in rows]


async def ask(jobs: Jobs, tool: str, args: dict[str, Any], said: str) -> str:
    """The owner asks; the model calls `tool`; what the tool answered."""
    jobs.model.push(tool_use(f"mcp__history__{tool}", args), text(said))
    count = len(jobs.sent_texts(OWNER_ID))
    jobs.tg.outgoing(OWNER_ID, f"please {tool} {args}")
    await jobs.replies_to(OWNER_ID, count + 1)
    await jobs.settled()
    return str(jobs.model.calls[-1].tool_results)


async def with_project(jobs: Jobs) -> list[Any]:
    """«Project» and «Family», both with history; the owner opts «Project» in."""
    jobs.tg.add_user(ANNA, "Anna", username="anna")
    jobs.tg.add_user(BOB, "Bob")
    jobs.tg.add_chat(PROJECT, "Project")
    jobs.tg.add_chat(FAMILY, "Family")
    said = [
        jobs.tg.incoming(
            ANNA, "I promise to send the invoice by Friday", chat=PROJECT, deliver=False
        ),
        jobs.tg.incoming(BOB, "lunch at noon?", chat=PROJECT, deliver=False),
        jobs.tg.outgoing(PROJECT, "thanks Anna, the invoice matters", deliver=False),
    ]
    jobs.tg.incoming(BOB, "the family invoice is private", chat=FAMILY, deliver=False)
    await jobs.start()
    answer = await ask(jobs, "remember_chat", {"chat": "Project"}, "Project is remembered.")
    assert "«Project» (chat -61) is opted in" in answer
    await jobs.wait_for(lambda: len(indexed(jobs, -PROJECT)) == 3, what="the history indexed")
    return said


async def test_search_answers_from_opted_in_chats_with_links_and_taints(jobs: Jobs) -> None:
    promise, _lunch, _thanks = await with_project(jobs)
    answer = await ask(jobs, "search_history", {"query": "invoice"}, "Anna promised Friday.")
    assert "Anna: I promise to send the invoice by Friday" in answer
    assert f"tg://openmessage?chat_id={PROJECT}&message_id={promise.id}" in answer
    assert "you: thanks Anna, the invoice matters" in answer
    assert "family" not in answer.casefold()  # never opted in: never read
    assert "other people's words" in answer
    [row] = jobs.query("SELECT tainted_by FROM sessions WHERE key = 'owner'")
    assert "chats you opted in" in row["tainted_by"]

    empty = await ask(jobs, "search_history", {"query": "invoice", "chat": "Family"}, "None.")
    assert "No opted-in chat is called 'Family'" in empty
    assert reads_of(jobs, -FAMILY) == []
    assert jobs.query("SELECT * FROM history_messages WHERE chat_id = ?", (-FAMILY,)) == []


async def test_the_index_follows_new_messages_edits_and_deletions(jobs: Jobs) -> None:
    promise, lunch, _thanks = await with_project(jobs)
    later = jobs.tg.incoming(ANNA, "the contract is signed", chat=PROJECT)
    jobs.tg.edit(lunch, "lunch at one?")
    jobs.tg.incoming(BOB, "family dinner on Sunday", chat=FAMILY)  # not opted in
    await jobs.wait_for(
        lambda: (
            indexed(jobs, -PROJECT)[1:]
            == ["lunch at one?", "thanks Anna, the invoice matters", "the contract is signed"]
        ),
        what="the new message and the edit indexed",
    )
    jobs.tg.delete_for_everyone(PROJECT, promise.id)  # Anna deletes her promise
    await jobs.wait_for(lambda: len(indexed(jobs, -PROJECT)) == 3, what="the deletion")
    assert "I promise" not in " ".join(indexed(jobs, -PROJECT))
    answer = await ask(jobs, "search_history", {"query": "promise invoice"}, "Only yours.")
    assert "I promise" not in answer and "thanks Anna" in answer
    assert later.id and reads_of(jobs, -FAMILY) == []
    assert jobs.query("SELECT * FROM history_messages WHERE chat_id = ?", (-FAMILY,)) == []

    await jobs.restart()  # catch-up: what came while Jobs was down is read, nothing twice
    jobs.tg.incoming(ANNA, "tickets are booked", chat=PROJECT, deliver=False)
    await jobs.restart()
    await jobs.wait_for(lambda: "tickets are booked" in indexed(jobs, -PROJECT), what="catch-up")
    assert len(indexed(jobs, -PROJECT)) == 4

    # What the search read tainted the session: a change asks first; a clean session does not.
    jobs.tg.outgoing(OWNER_ID, "/clear")
    await jobs.replies_to(OWNER_ID, len(jobs.sent_texts(OWNER_ID)) + 1)
    answer = await ask(jobs, "forget_chat", {"chat": "Project"}, "Forgotten.")
    assert "«Project» is out of Jobs' memory: 4 indexed messages deleted" in answer
    jobs.tg.incoming(ANNA, "one more thing", chat=PROJECT)
    await jobs.settled()
    assert jobs.query("SELECT * FROM history_messages") == []


async def test_a_digest_of_unread_messages_marks_nothing_read(jobs: Jobs) -> None:
    promise, lunch, _thanks = await with_project(jobs)
    jobs.tg.read_marks[-PROJECT] = promise.id  # the owner read up to Anna's promise
    jobs.tg.incoming(ANNA, "did you see the contract?", chat=PROJECT)
    answer = await ask(jobs, "unread_digest", {}, "Two unread in Project.")
    assert "«Project»: 2 unread" in answer
    assert "Bob: lunch at noon?" in answer and "Anna: did you see the contract?" in answer
    assert "I promise" not in answer and "thanks Anna" not in answer  # read, or the owner's
    assert f"message_id={lunch.id}" in answer
    assert not jobs.tg.of(functions.messages.ReadHistoryRequest)  # still unread
    assert jobs.tg.read_marks[-PROJECT] == promise.id

    refused = await ask(jobs, "unread_digest", {"chats": ["Family"]}, "Not that one.")
    assert "No opted-in chat is called 'Family'" in refused
    assert reads_of(jobs, -FAMILY) == []


async def test_without_opting_in_nothing_is_read(jobs: Jobs) -> None:
    jobs.tg.add_user(BOB, "Bob")
    jobs.tg.add_chat(FAMILY, "Family")
    jobs.tg.incoming(BOB, "private", chat=FAMILY, deliver=False)
    await jobs.start()
    answer = await ask(jobs, "search_history", {"query": "private"}, "Nothing there.")
    assert "No chat is opted in to Jobs' memory" in answer
    jobs.tg.incoming(BOB, "still private", chat=FAMILY)
    await jobs.settled()
    assert reads_of(jobs, -FAMILY) == []
    assert jobs.query("SELECT * FROM history_messages") == []
    assert not isinstance(jobs.tg.chats[FAMILY], types.Channel)
