"""CompanionBot: the optional second client, a bot (TG_BOT_TOKEN) that talks to the owner alone.

A user account cannot send buttons; a bot can. Jobs uses it for approval cards (approve once,
approve for this task or session, deny), the ApprovalCards of conversation/approvals.py. It
answers nobody but the owner: a tap or a message from anyone else changes nothing and gets no
answer, only an audit row ("bot_refused"). A tap counts only on the card it came with (its
chat is the owner's, its message the card's), so forged callback data decides nothing.

Telegram lets a bot write to a person only after they pressed Start: until then `post`
returns False and questions go through the account as before. A bot, unlike a user account,
is told the language of the writer's Telegram app: the owner's becomes their language unless
they chose one (Speakers).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Final

from telethon import Button, TelegramClient, errors, events
from telethon.sessions import SQLiteSession

from jobs.config import Settings
from jobs.errors import JobsError
from jobs.i18n.codes import language_code
from jobs.i18n.speakers import OwnerWords, english_words
from jobs.i18n.translator import Translator
from jobs.richtext import FormattedText, map_text
from jobs.storage import Approval, AuditRepo
from jobs.telegram.formatting import to_telethon
from jobs.telegram.sessionfile import secure_permissions

logger = logging.getLogger(__name__)

Decide = Callable[..., Awaitable[str]]
"""ApprovalBroker.decide: (code, *, approve, scoped) → what to tell the owner."""

REFUSED_EVENT: Final = "bot_refused"
_VERDICTS: Final = {"a": (True, False), "g": (True, True), "d": (False, False)}
"""Callback data "j:<verb>:<code>": approve once, grant (approve for the scope), deny."""
_CARDS_KEPT: Final = 500
_TOAST: Final = 200  # characters Telegram shows in a callback answer
AppLanguage = Callable[[str], Awaitable[None]]
"""Told the language code of the owner's Telegram app when the bot sees it."""


def bot_client(settings: Settings) -> TelegramClient:
    """The bot's client on its own session file under DATA_DIR (never the account's)."""
    assert settings.tg_api_id is not None and settings.tg_api_hash is not None
    path = settings.data_dir / "bot.session"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    client = TelegramClient(
        SQLiteSession(str(path)),
        settings.tg_api_id,
        settings.tg_api_hash.get_secret_value(),
        flood_sleep_threshold=0,
        catch_up=False,  # a tap from while Jobs was down answers a question nobody waits for
        receive_updates=True,
    )
    secure_permissions(path)
    return client


class CompanionBot:
    """The bot (see the module docstring): `register`, `start`; cards once `answer_with`."""

    def __init__(
        self,
        *,
        client: TelegramClient,
        token: str,
        owner_id: int,
        mask: Callable[[str], str] = str,
    ) -> None:
        self._client = client
        self._token = token
        self._owner_id = owner_id
        self._audit: AuditRepo | None = None
        self._mask = mask
        self._cards: OrderedDict[str, int] = OrderedDict()  # approval code → card message id
        self._decide: Decide | None = None
        self._words: OwnerWords = english_words
        self._app_language: AppLanguage | None = None

    @property
    def client(self) -> TelegramClient:
        return self._client

    async def start(self) -> None:
        """Log in with the token (the first time) and connect."""
        try:
            await self._client.start(bot_token=self._token)
        except (errors.RPCError, OSError, ValueError) as exc:
            raise JobsError(f"The companion bot (TG_BOT_TOKEN) could not log in: {exc}") from exc

    def answer_with(
        self,
        decide: Decide,
        audit: AuditRepo,
        /,
        *,
        words: OwnerWords | None = None,
        app_language: AppLanguage | None = None,
    ) -> None:
        """Where taps (and the owner's /approve_… here) go: ApprovalBroker.decide; and where
        what anyone else tried is written. `words`: the owner's language for the buttons and
        answers; `app_language`: told the owner's Telegram app language."""
        self._decide, self._audit = decide, audit
        self._words = words or english_words
        self._app_language = app_language

    def register(self) -> None:
        """Answer taps and the owner's messages (before connecting: nothing is missed)."""
        self._client.add_event_handler(self._on_tap, events.CallbackQuery())
        self._client.add_event_handler(self._on_message, events.NewMessage(incoming=True))

    async def post(self, approval: Approval, question: FormattedText, *, scope: str | None) -> bool:
        """The question as a card with buttons; False when the owner cannot be reached."""
        body = map_text(question, self._mask)
        data = f":{approval.code}".encode()
        t = await self._words()
        row = [Button.inline(t.gettext("✅ Approve once"), b"j:a" + data)]
        if scope is not None:
            label = t.gettext("✅ For {scope}", scope=_short(scope))
            row.append(Button.inline(label, b"j:g" + data))
        buttons = [row, [Button.inline(t.gettext("🚫 Deny"), b"j:d" + data)]]
        try:
            sent = await self._client.send_message(
                self._owner_id,
                body.text,
                formatting_entities=to_telethon(body.entities) or None,
                buttons=buttons,
                link_preview=False,
            )
        except (errors.RPCError, ValueError, OSError) as exc:
            # ValueError: the owner never pressed Start, so the bot cannot write to them.
            logger.warning("The companion bot cannot show approval %s: %s", approval.code, exc)
            return False
        self._cards[approval.code] = int(sent.id)
        while len(self._cards) > _CARDS_KEPT:
            self._cards.popitem(last=False)
        return True

    async def settle(self, code: str, outcome: FormattedText, /) -> None:
        """The card without buttons, saying how the approval ended."""
        msg_id = self._cards.pop(code, None)
        if msg_id is None:
            return
        body = map_text(outcome, self._mask)
        try:
            await self._client.edit_message(
                self._owner_id,
                msg_id,
                body.text,
                formatting_entities=to_telethon(body.entities) or None,
                link_preview=False,
            )
        except (errors.RPCError, ValueError, OSError) as exc:
            logger.info("Could not close the card of approval %s: %s", code, exc)

    # -- updates ----------------------------------------------------------------------------

    async def _on_tap(self, event: Any) -> None:
        user_id, data = int(event.sender_id or 0), bytes(event.data or b"")
        if user_id != self._owner_id or self._decide is None:
            await self._refuse(user_id, "tap", data.decode("utf-8", "replace")[:64])
            return
        verb, _, code = data.decode("ascii", "replace").removeprefix("j:").partition(":")
        verdict = _VERDICTS.get(verb)
        on_its_card = self._cards.get(code) == int(event.message_id or 0)
        if verdict is None or not on_its_card or int(event.chat_id or 0) != self._owner_id:
            await event.answer((await self._words()).gettext("This card is no longer open."))
            return
        approve, scoped = verdict
        said = await self._decide(code, approve=approve, scoped=scoped)
        await event.answer(said.replace("`", "")[:_TOAST])

    async def _on_message(self, event: Any) -> None:
        if not event.is_private:
            return
        user_id = int(event.sender_id or 0)
        if user_id != self._owner_id:
            await self._refuse(user_id, "message", "")
            return
        text = (event.raw_text or "").strip()
        await self._learn_language(event)
        answer = await self._owner_command(text, await self._words())
        await event.respond(self._mask(answer).replace("`", ""), link_preview=False)

    async def _learn_language(self, event: Any) -> None:
        """The owner's Telegram app language, which bots (only) are told with each message."""
        if self._app_language is None:
            return
        # The entity that came with the update: asking Telegram again would cost a request.
        code = language_code(getattr(event.sender, "lang_code", None))
        if code is not None:
            await self._app_language(code)

    async def _owner_command(self, text: str, t: Translator) -> str:
        if text.lower().startswith("/start"):
            return t.gettext(
                "Ready: approval questions come here as cards with buttons. Everything else "
                "stays in our usual chat."
            )
        verb, _, code = text.lstrip("/").partition("_")
        verdicts = {"approve": "a", "grant": "g", "deny": "d"}
        if text.startswith("/") and verb.lower() in verdicts and code and self._decide:
            approve, scoped = _VERDICTS[verdicts[verb.lower()]]
            return await self._decide(code.split()[0], approve=approve, scoped=scoped)
        return t.gettext(
            "I only carry approval cards. Write to me in our usual chat; answer a card with its "
            "buttons (or /approve_<code>, /deny_<code>, /grant_<code> here)."
        )

    async def _refuse(self, user_id: int, kind: str, data: str) -> None:
        """Someone other than the owner: nothing happens, and the audit says so."""
        logger.warning("The companion bot ignored a %s from %s", kind, user_id)
        if self._audit is None:
            return
        try:
            await self._audit.record(
                REFUSED_EVENT,
                person_id=user_id,
                detail={"kind": kind, "data": data},
                decision="ignored",
            )
        except JobsError:
            logger.exception("could not audit a %s from %s to the bot", kind, user_id)


def _short(scope: str) -> str:
    """ "task #3" or "this session (until /clear)" → a button label."""
    return scope.split(" (")[0]
