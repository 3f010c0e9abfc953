from __future__ import annotations

from datetime import timedelta

from jobs.messages import ChannelPost
from jobs.storage import Database, TriggerRepo
from jobs.triggers.channels import ChannelWatch, describe, matching
from jobs.triggers.events import TriggerEvent, TriggerSource
from tests.unit.triggers.conftest import FakeClock

CHAT = -1000000000777


def post(msg_id: int, text: str, grouped_id: int | None = None, chat: int = CHAT) -> ChannelPost:
    return ChannelPost(chat, msg_id, text, chat_title="News", grouped_id=grouped_id)


class Events(list[TriggerEvent]):
    async def __call__(self, event: TriggerEvent) -> None:
        self.append(event)


async def watch_on(db: Database, clock: FakeClock, **sub: object) -> tuple[ChannelWatch, Events]:
    await TriggerRepo(db).add_subscription("tg_channel", str(CHAT), title="News", **sub)  # type: ignore[arg-type]
    events = Events()
    watch = ChannelWatch(triggers=TriggerRepo(db), on_event=events, clock=clock)
    assert await watch.restore() == 1
    return watch, events


def test_keywords_keep_whole_albums() -> None:
    posts = [post(1, "Rust 2.0 is out", grouped_id=9), post(2, "", grouped_id=9), post(3, "cats")]
    assert matching(posts, ["rust"]) == posts[:2]
    assert matching(posts, []) == posts
    assert matching(posts, ["dogs"]) == []


def test_describe_bounds_each_post_and_the_whole() -> None:
    long = post(1, "x" * 5000)
    text = describe([long, *(post(i, "y" * 2900) for i in range(2, 8))])
    assert len(text) < 12_100 and text.endswith("[…cut]")
    assert "x" * 3000 + "…" in text and "x" * 3001 not in text


async def test_a_burst_becomes_one_untrusted_event(db: Database, clock: FakeClock) -> None:
    watch, events = await watch_on(db, clock, instructions="summarise")
    assert watch.watching(CHAT) and not watch.watching(-1000000000778)
    for msg_id in (10, 11, 12):
        await watch.on_post(post(msg_id, f"post {msg_id}", grouped_id=5))
        clock.advance(seconds=1)
    assert await watch.flush_due() == 0  # still arriving
    clock.advance(seconds=3)
    assert await watch.flush_due() == 1
    (event,) = events
    assert event.source is TriggerSource.TG_CHANNEL and not event.trusted
    assert event.instructions == "summarise" and event.title == "News"
    assert "3 posts" in event.payload and "post 10" in event.payload and "post 12" in event.payload
    assert event.dedup_key == f"tg_channel:{CHAT}:10-12"
    (sub,) = await TriggerRepo(db).list_subscriptions()
    assert sub.last_msg_id == 12


async def test_a_long_burst_is_cut_after_max_wait(db: Database, clock: FakeClock) -> None:
    watch, events = await watch_on(db, clock)
    for msg_id in range(1, 17):
        await watch.on_post(post(msg_id, "tick"))
        clock.advance(seconds=2)
        await watch.flush_due()
    assert len(events) == 1 and events[0].dedup_key == f"tg_channel:{CHAT}:1-15"


async def test_replays_and_unwatched_chats_are_dropped(db: Database, clock: FakeClock) -> None:
    watch, events = await watch_on(db, clock)
    await watch.on_post(post(20, "first"))
    await watch.flush_due(clock() + timedelta(seconds=5))
    await watch.on_post(post(20, "first"))  # Telegram replays it after a restart
    await watch.on_post(post(3, "older"))
    await watch.on_post(post(21, "elsewhere", chat=-1000000000999))
    assert await watch.flush_due(clock() + timedelta(minutes=1)) == 0
    restarted = ChannelWatch(triggers=TriggerRepo(db), on_event=events, clock=clock)
    await restarted.restore()
    await restarted.on_post(post(20, "first"))
    assert await restarted.flush_due(clock() + timedelta(minutes=1)) == 0
    assert len(events) == 1


async def test_keywords_filter_and_unsubscribing_drops_held_posts(
    db: Database, clock: FakeClock
) -> None:
    watch, events = await watch_on(db, clock, keywords=["launch"])
    await watch.on_post(post(1, "weather"))
    await watch.flush_due(clock() + timedelta(seconds=5))
    assert events == []  # nothing matched, but the posts are done with
    await watch.on_post(post(2, "The LAUNCH is today"))
    await watch.flush_due(clock() + timedelta(seconds=5))
    assert len(events) == 1 and "launch" in events[0].payload
    await watch.on_post(post(3, "launch again"))
    (sub,) = await TriggerRepo(db).list_subscriptions()
    await TriggerRepo(db).remove_subscription(sub.id)
    assert await watch.restore() == 0
    assert await watch.flush_due(clock() + timedelta(seconds=5)) == 0
    assert not watch.watching(CHAT)
