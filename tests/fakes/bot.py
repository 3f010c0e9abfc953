"""The companion bot's Telegram: a FakeTelegram whose account is a bot, for a second real
Telethon client logged in with a bot token (only the network is fake, as for the account).

The bot's world is its own: it knows the people who wrote to it (the owner presses Start with
`incoming(owner, "/start")`). Taps are pushed as `UpdateBotCallbackQuery` (`tap`), answered
with `messages.setBotCallbackAnswer` (kept in `answers`); `auth.importBotAuthorization` answers
a fresh login.

    bot = FakeBot()                      # bot id BOT_ID, token TOKEN
    client = bot.attach(bot_client(settings))
    bot.incoming(OWNER, "/start")
    bot.tap(OWNER, card, b"j:a:k7mq3")
"""

from __future__ import annotations

import itertools
from typing import Any

from telethon.tl import functions, types

from tests.fakes.telegram import FakeTelegram, RpcFail, mk
from tests.fakes.tl import updates

BOT_ID = 700000
TOKEN = f"{BOT_ID}:AAEcompanionBotTokenForTests0123456789"


class FakeBot(FakeTelegram):
    def __init__(self, *, bot_id: int = BOT_ID) -> None:
        super().__init__(me_id=bot_id, first_name="Jobs", username="jobs_companion_bot")
        self.me.bot, self.me.bot_info_version = True, 1
        self.answers: list[Any] = []  # SetBotCallbackAnswerRequests, in order
        self._query_ids = itertools.count(9_000_000_001)
        self.handle(functions.auth.ImportBotAuthorizationRequest, self._on_import_bot_auth)
        self.handle(functions.messages.SetBotCallbackAnswerRequest, self._on_callback_answer)

    def cards(self, user_id: int) -> list[Any]:
        """The bot's messages to `user_id`, in order."""
        return [
            m
            for m in self.outbox
            if isinstance(m.peer_id, types.PeerUser) and m.peer_id.user_id == user_id
        ]

    def markup(self, message: Any) -> Any:
        """The reply markup the bot sent `message` with (None: no buttons)."""
        for request in self.of(functions.messages.SendMessageRequest):
            if request.message == message.message:
                return request.reply_markup
        return None

    def tap(self, user_id: int, message: Any, data: bytes) -> int:
        """`user_id` taps the button with `data` under `message` (in their chat with the bot);
        returns the query id."""
        user = self.user(user_id)
        query_id = next(self._query_ids)
        update = mk(
            types.UpdateBotCallbackQuery,
            query_id=query_id,
            user_id=user.id,
            peer=types.PeerUser(user.id),
            msg_id=message.id,
            chat_instance=user.id * 7,
            data=data,
        )
        self.push(updates([update], [user, self.me], []))
        return query_id

    def _on_import_bot_auth(self, req: Any) -> Any:
        if req.bot_auth_token.split(":")[0] != str(self.me.id):
            raise RpcFail(400, "ACCESS_TOKEN_INVALID")
        return mk(types.auth.Authorization, user=self.me)

    def _on_callback_answer(self, req: Any) -> bool:
        self.answers.append(req)
        return True
