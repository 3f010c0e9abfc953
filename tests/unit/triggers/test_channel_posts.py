from __future__ import annotations

import pytest

from jobs.errors import TelegramError
from jobs.telegram.channel_posts import parse_chat_ref


@pytest.mark.parametrize(
    ("ref", "parsed"),
    [
        ("@news", "news"),
        ("news", "news"),
        ("https://t.me/news", "news"),
        ("t.me/news/123", "news"),
        ("https://telegram.me/s/news?before=5", "news"),
        ("https://t.me/c/777/12", -1000000000777),  # marked: -(10**12 + id), not "-100" + id
        ("-1001234567890", -1001234567890),
        ("1234567890", 1234567890),
    ],
)
def test_refs(ref: str, parsed: str | int) -> None:
    assert parse_chat_ref(ref) == parsed


@pytest.mark.parametrize("link", ["https://t.me/+AbCdEf", "t.me/joinchat/AbCdEf"])
def test_private_invite_links_say_what_to_do(link: str) -> None:
    with pytest.raises(TelegramError, match="join the chat in Telegram first"):
        parse_chat_ref(link)
