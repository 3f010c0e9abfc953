"""ChannelWatch: tg_channel subscriptions (restored at start); a burst of posts → one event.

Posts come from telegram/channel_posts.py as ChannelPost values. Posts of one chat that
arrive within a few seconds of each other (an album, a flurry) are held and handed on as
one untrusted TriggerEvent; the subscription's keywords filter them (an album counts as one
post) and its instructions travel with them. The subscription's `last_msg_id` is advanced
before the event is handed on, so a post Telegram replays after a restart is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

from jobs.clock import Clock, utc_now
from jobs.messages import ChannelPost
from jobs.storage import Subscription, TriggerRepo
from jobs.triggers.events import TriggerEvent, TriggerSource

logger = logging.getLogger(__name__)

OnEvent = Callable[[TriggerEvent], Awaitable[object]]

QUIET: Final = timedelta(seconds=3)
"""A burst ends when its chat has been quiet this long..."""
MAX_WAIT: Final = timedelta(seconds=30)
"""...or this long after its first post."""
MAX_POSTS: Final = 20
MAX_POST_CHARS: Final = 3000
MAX_EVENT_CHARS: Final = 12000


@dataclass
class _Burst:
    first_at: datetime
    last_at: datetime
    posts: list[ChannelPost] = field(default_factory=list)


def matching(posts: Sequence[ChannelPost], keywords: Sequence[str], /) -> list[ChannelPost]:
    """The posts (whole albums) whose text contains any keyword; all of them without keywords."""
    if not keywords:
        return list(posts)
    words = [word.casefold() for word in keywords if word.strip()]
    hits = {_album(post) for post in posts if any(w in post.text.casefold() for w in words)}
    return [post for post in posts if _album(post) in hits]


def _album(post: ChannelPost) -> tuple[str, int]:
    return ("album", post.grouped_id) if post.grouped_id else ("post", post.msg_id)


def describe(posts: Sequence[ChannelPost], /) -> str:
    """The posts as the session reads them (each bounded, the whole bounded too)."""
    parts: list[str] = []
    for post in posts:
        meta = ", ".join(
            f"{key} {post.extra[key]}" for key in ("date", "media", "link") if key in post.extra
        )
        text = post.text if len(post.text) <= MAX_POST_CHARS else post.text[:MAX_POST_CHARS] + "…"
        parts.append(  # i18n: skip (the model reads the posts)
            f"--- post {post.msg_id}" + (f" ({meta})" if meta else "") + f"\n{text}"
        )
    joined = "\n".join(parts)
    return joined if len(joined) <= MAX_EVENT_CHARS else joined[:MAX_EVENT_CHARS] + "\n[…cut]"


class ChannelWatch:
    """The watched chats and their pending bursts. `run()` flushes bursts as they end."""

    def __init__(
        self,
        *,
        triggers: TriggerRepo,
        on_event: OnEvent,
        clock: Clock = utc_now,
        quiet: timedelta = QUIET,
        max_wait: timedelta = MAX_WAIT,
    ) -> None:
        self._triggers = triggers
        self._on_event = on_event
        self._clock = clock
        self._quiet = quiet
        self._max_wait = max_wait
        self._subs: dict[int, Subscription] = {}
        self._bursts: dict[int, _Burst] = {}
        self._wake = asyncio.Event()

    async def restore(self) -> int:
        """(Re)load the enabled subscriptions; returns how many chats are watched."""
        subs = await self._triggers.list_subscriptions(
            source=TriggerSource.TG_CHANNEL, enabled_only=True
        )
        self._subs = {int(sub.target): sub for sub in subs if sub.target.lstrip("-").isdigit()}
        for chat_id in set(self._bursts) - set(self._subs):
            del self._bursts[chat_id]  # unsubscribed: its held posts are dropped
        return len(self._subs)

    def watching(self, chat_id: int, /) -> bool:
        """True for a subscribed chat (the Telegram handler's filter)."""
        return chat_id in self._subs

    async def on_post(self, post: ChannelPost, /) -> None:
        """Hold a post of a watched chat in its burst (a replay or a stranger's is dropped)."""
        sub = self._subs.get(post.chat_id)
        if sub is None or post.msg_id <= sub.last_msg_id:
            return
        now = self._clock()
        burst = self._bursts.setdefault(post.chat_id, _Burst(first_at=now, last_at=now))
        if all(held.msg_id != post.msg_id for held in burst.posts):
            burst.posts.append(post)
        burst.last_at = now
        self._wake.set()

    async def flush_due(self, now: datetime | None = None) -> int:
        """Hand on every burst that has ended by `now`; returns how many events went out."""
        now = self._clock() if now is None else now
        ended = [chat for chat, burst in self._bursts.items() if self._ended(burst, now)]
        events = [event for chat in ended if (event := await self._take(chat)) is not None]
        await asyncio.gather(*(self._on_event(event) for event in events))
        return len(events)

    async def run(self) -> None:
        """Flush bursts as they end, until cancelled (each event's turn runs on its own)."""
        async with asyncio.TaskGroup() as group:
            while True:
                self._wake.clear()
                group.create_task(self._flush_safely(), name="channel-flush")
                try:
                    async with asyncio.timeout(self._seconds_to_next()):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    # -- internals ---------------------------------------------------------------------------

    def _ended(self, burst: _Burst, now: datetime) -> bool:
        return (
            now - burst.last_at >= self._quiet
            or now - burst.first_at >= self._max_wait
            or len(burst.posts) >= MAX_POSTS
        )

    def _seconds_to_next(self) -> float | None:
        if not self._bursts:
            return None
        deadline = min(
            min(b.last_at + self._quiet, b.first_at + self._max_wait) for b in self._bursts.values()
        )
        return max((deadline - self._clock()).total_seconds(), 0.0)

    async def _take(self, chat_id: int) -> TriggerEvent | None:
        burst = self._bursts.pop(chat_id, None)  # None: a concurrent flush took it
        sub = self._subs.get(chat_id)
        if sub is None or burst is None or not burst.posts:
            return None
        newest = max(post.msg_id for post in burst.posts)
        if not await self._triggers.advance_subscription(sub.id, newest):
            return None  # already handed on (a replay after a restart)
        self._subs[chat_id] = replace(sub, last_msg_id=newest)
        posts = matching(sorted(burst.posts, key=lambda p: p.msg_id), sub.keywords)
        return _event(sub, posts) if posts else None

    async def _flush_safely(self) -> None:
        try:
            await self.flush_due()
        except Exception:  # the loop's boundary: the posts are dropped, the watch goes on
            logger.exception("handing on channel posts failed")


def _event(sub: Subscription, posts: list[ChannelPost]) -> TriggerEvent:
    title = sub.title or posts[0].chat_title or sub.target
    # The event's words are the model's prompt; the owner sees the model's answer.
    kind = "post" if len(posts) == 1 else f"{len(posts)} posts"
    keywords = (
        f" (it matched the keywords {', '.join(sub.keywords)})" if sub.keywords else ""
    )  # i18n: skip
    return TriggerEvent(  # i18n: skip
        source=TriggerSource.TG_CHANNEL,
        payload=f"New in «{title}», a chat the owner subscribed to: {kind}{keywords}.\n"
        + describe(posts),
        trusted=False,
        dedup_key=f"tg_channel:{sub.target}:{posts[0].msg_id}-{posts[-1].msg_id}",
        title=title,
        instructions=sub.instructions or "Tell the owner briefly what is new.",
        slot=f"channel:{sub.target}",
    )
