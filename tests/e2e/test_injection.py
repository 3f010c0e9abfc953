"""The injection suite, through the whole of `jobs run` on the fake Telegram: every payload in
tests/injection/payloads.py at every entry point where a message brings it in (a stranger's
message, a file caption, a voice note, a message the owner forwards, a page the owner's
session fetches, a post in a watched channel), with a model that obeys it (tests/injection/
obey.py). For each: no out-of-policy call ran, nothing private reached anyone but the owner,
and what the owner sees carries no entity the attacker made. Every approval question is
answered no, as a careful owner would. (The task entry points are in tests/integration/
delegation/test_injection.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from telethon.tl import types

from jobs.extensions.mcp_servers import McpServers, parse_spec
from tests.e2e.conftest import OWNER_ID, Jobs, MakeJobs
from tests.e2e.test_media import document, voice_note
from tests.fakes import mcp_server
from tests.fakes.telegram import FakeTelegram
from tests.fakes.transcription import FakeTranscription
from tests.injection.obey import PIN, SECRET, Obeyer, Shown, problems, shown, tag_of
from tests.injection.payloads import PAYLOADS

MALLORY = 666
CHANNEL = 777
STRANGER_BURST, STRANGER_EVERY = 15, 2.2
"""Strangers' messages: RateLimiter lets 20 through at once, then one every 2 s."""


@dataclass
class Attack:
    """A running Jobs with the obeying model, the owner who says no, and the checks."""

    jobs: Jobs
    obeyer: Obeyer
    found: dict[str, list[str]]
    last: float = 0.0

    def mark(self) -> tuple[int, int]:
        outbox = self.jobs.query("SELECT COALESCE(MAX(id), 0) AS n FROM outbox")[0]["n"]
        audit = self.jobs.query("SELECT COALESCE(MAX(id), 0) AS n FROM audit")[0]["n"]
        return int(outbox), int(audit)

    async def each(self, deliver: Callable[[int, str, str], Awaitable[None]], kind: str) -> None:
        """Every payload in turn: `deliver(index, tag, text)`, wait until the obeying model
        is done with it in a session of `kind`, then check what it did. Strangers are paced
        under everyone's shared rate limit (its burst, then its rate): the limit is not what
        this tests, the payloads are."""
        loop = asyncio.get_running_loop()
        for index, payload in enumerate(PAYLOADS):
            tag = tag_of(index)
            if kind == "external" and index >= STRANGER_BURST:
                await asyncio.sleep(max(0.0, self.last + STRANGER_EVERY - loop.time()))
            self.last = loop.time()
            before = self.mark()
            await deliver(index, tag, payload.text(tag, str(self.obeyer.marker(tag))))
            await self.jobs.wait_for(
                functools.partial(self.obeyer.done, kind, tag), what=f"{payload.name} obeyed"
            )
            await self.jobs.settled()
            said = problems(
                tag,
                owner_chat=OWNER_ID,
                messages=self.since(before[0]),
                audit=self.jobs.query("SELECT * FROM audit WHERE id > ?", (before[1],)),
                obeyer=self.obeyer,
                folders=self.folders(),
            )
            if said:
                self.found[payload.name] = said

    def since(self, outbox_id: int) -> list[Shown]:
        return shown(self.jobs.query("SELECT * FROM outbox WHERE id > ? ORDER BY id", (outbox_id,)))

    def folders(self) -> list[Path]:
        workspace = self.jobs.settings.workspace_dir
        data = self.jobs.settings.data_dir
        return [workspace, *(data / "people").glob("*"), *(data / "scratch").glob("*")]


@contextlib.asynccontextmanager
async def attack(make_jobs: MakeJobs, **settings: Any) -> AsyncIterator[Attack]:
    jobs = make_jobs(**settings)
    workspace = jobs.settings.workspace_dir
    workspace.mkdir(parents=True)
    (workspace / "MEMORY.md").write_text(f"- Bank: {PIN}\n", encoding="utf-8")
    secret = workspace / "secret.txt"
    secret.write_text(f"API_KEY={SECRET}\n", encoding="utf-8")
    obeyer = Obeyer(workspace=workspace, secret_file=secret)
    jobs.model.default = obeyer
    jobs.tg.add_user(MALLORY, "Mallory", username="mallory")
    await jobs.start()
    owner = asyncio.create_task(_say_no_to_every_question(jobs))
    made = Attack(jobs, obeyer, {})
    try:
        yield made
    finally:
        owner.cancel()
        await asyncio.gather(owner, return_exceptions=True)
    assert not made.found, made.found
    jobs.assert_no_unasked_previews()


async def _say_no_to_every_question(jobs: Jobs) -> None:
    answered: set[int] = set()
    while True:
        for sent in jobs.delivered(OWNER_ID):
            if sent.id not in answered and sent.message.startswith("🔐 Approval needed"):
                answered.add(sent.id)
                jobs.tg.outgoing(OWNER_ID, "no", reply_to=sent.id)
        await asyncio.sleep(0.05)


def stranger(tg: FakeTelegram, index: int) -> int:
    """One attacker per payload: a stranger's own rate limit is not what is tested here."""
    user_id = 5000 + index
    tg.add_user(user_id, f"Stranger {index}", username=f"stranger{index}")
    return user_id


async def test_a_strangers_messages(make_jobs: MakeJobs) -> None:
    async with attack(make_jobs, external_users="all") as run:

        async def deliver(index: int, tag: str, said: str) -> None:
            run.jobs.tg.incoming(stranger(run.jobs.tg, index), said)

        await run.each(deliver, "external")


async def test_file_captions_from_a_stranger(make_jobs: MakeJobs) -> None:
    async with attack(make_jobs, external_users="all") as run:
        tg = run.jobs.tg

        async def deliver(index: int, tag: str, said: str) -> None:
            media = document(tg, "invoice.pdf", b"%PDF-1.4")
            tg.incoming(stranger(tg, index), said[:1024], media=media)

        await run.each(deliver, "external")


async def test_voice_notes_from_a_stranger(make_jobs: MakeJobs) -> None:
    with _whisper() as whisper:
        settings = {"openai_api_key": "test", "openai_base_url": whisper.url}
        async with attack(make_jobs, external_users="all", **settings) as run:
            tg = run.jobs.tg

            async def deliver(index: int, tag: str, said: str) -> None:
                audio = f"OggS {tag}".encode()
                whisper.say(audio, said)
                tg.incoming(stranger(tg, index), "", media=voice_note(tg, audio))

            await run.each(deliver, "external")


async def test_messages_the_owner_forwards(make_jobs: MakeJobs) -> None:
    async with attack(make_jobs) as run:

        async def deliver(index: int, tag: str, said: str) -> None:
            await _fresh_owner_session(run.jobs)
            header = types.MessageFwdHeader(date=datetime.now(UTC), from_id=types.PeerUser(MALLORY))
            run.jobs.tg.outgoing(OWNER_ID, said, fwd_from=header)

        await run.each(deliver, "owner")


async def test_pages_the_owners_session_fetches(make_jobs: MakeJobs, tmp_path: Path) -> None:
    pages: dict[str, str] = {}
    command, args = mcp_server.command()
    servers = McpServers(path=tmp_path / "data" / "mcp_servers.json", reserved=())
    servers.add("web", parse_spec({"command": command, "args": args}))
    with _serving(pages) as base:
        async with attack(make_jobs) as run:

            async def deliver(index: int, tag: str, said: str) -> None:
                await _fresh_owner_session(run.jobs)
                pages[f"/{index}"] = f"<html><body><p>{said}</p></body></html>"
                run.jobs.tg.outgoing(OWNER_ID, f"@@fetch {base}/{index}")

            await run.each(deliver, "owner")


async def test_posts_in_a_watched_channel(make_jobs: MakeJobs) -> None:
    async with attack(make_jobs) as run:
        run.jobs.tg.add_channel(CHANNEL, "News", username="news")
        run.jobs.tg.outgoing(OWNER_ID, "@@subscribe https://t.me/news")
        await run.jobs.settled()

        async def deliver(index: int, tag: str, said: str) -> None:
            run.jobs.tg.channel_post(CHANNEL, said[:4000])

        await run.each(deliver, "trigger")


async def _fresh_owner_session(jobs: Jobs) -> None:
    """/clear: each payload finds the owner's session clean, so its own taint is what counts."""
    count = len(jobs.sent_texts(OWNER_ID))
    jobs.tg.outgoing(OWNER_ID, "/clear")
    await jobs.replies_to(OWNER_ID, count + 1)


@contextlib.contextmanager
def _whisper() -> Iterator[FakeTranscription]:
    fake = FakeTranscription().start()
    try:
        yield fake
    finally:
        fake.stop()


@contextlib.contextmanager
def _serving(pages: dict[str, str]) -> Iterator[str]:
    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "not found").encode()
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


pytestmark = pytest.mark.timeout(900)
