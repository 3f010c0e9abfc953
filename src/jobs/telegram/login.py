"""Logging in to Telegram as a person does (phone, code, two-step password), each answer checked
as it is given, and finding the owner for a dedicated account; Telegram's refusals in one line."""

from __future__ import annotations

import re
from typing import Any, Final

from telethon import TelegramClient, errors, utils

from jobs.errors import ConfigError, TelegramError
from jobs.i18n.translator import Translator
from jobs.questions import Questions
from jobs.telegram.failures import describe_rpc_error
from jobs.telegram.people import TelegramPeople

_CODE: Final = re.compile(r"\d{5,6}")


def phone_shape(answer: str, t: Translator) -> str | None:
    if utils.parse_phone(answer) is None or not 7 <= len(re.sub(r"\D", "", answer)) <= 15:
        return t.gettext(
            "That is not a phone number: type it with its country code, e.g. +49 170 1234567."
        )
    return None


def code_shape(answer: str, t: Translator) -> str | None:
    if _CODE.fullmatch(answer.replace(" ", "")):
        return None
    return t.gettext(
        "The login code is 5 or 6 digits (Telegram sends it to your Telegram app or by SMS)."
    )


async def log_in(client: TelegramClient, questions: Questions) -> None:
    """Phone → code → (two-step password): asked again on a wrong answer, until right or the
    person leaves (Cancelled). TelegramError / ConfigError when Telegram refuses outright."""
    try:
        phone = await _send_code(client, questions)
        if await _enter_code(client, questions, phone):
            await _enter_password(client, questions)
    except errors.ApiIdInvalidError:
        raise ConfigError(
            "Telegram refused TG_API_ID / TG_API_HASH: copy both again from "
            "https://my.telegram.org (API development tools).",
            variable="TG_API_ID",
        ) from None
    except (errors.PhoneNumberBannedError, errors.UserDeactivatedBanError):
        raise TelegramError(
            "Telegram has banned this phone number, so it cannot log in; see "
            "https://telegram.org/faq#q-my-account-was-banned"
        ) from None
    except errors.RPCError as exc:
        raise describe_rpc_error(exc, "logging in") from None


async def _send_code(client: TelegramClient, questions: Questions) -> str:
    t = questions.words
    while True:
        phone = await questions.ask(
            t.gettext("Phone number of the Telegram account Jobs runs in (with country code): "),
            check=lambda answer: phone_shape(answer, t),
        )
        try:
            await client.send_code_request(phone)
        except errors.PhoneNumberInvalidError:
            questions.tell(
                t.gettext("  Telegram does not know that number; check it and type it again.")
            )
            continue
        return phone


async def _enter_code(client: TelegramClient, questions: Questions, phone: str) -> bool:
    """Sign in with the code; True when the account also has a two-step password."""
    t = questions.words
    while True:
        code = await questions.ask(
            t.gettext("The login code Telegram just sent (in your Telegram app, or by SMS): "),
            check=lambda answer: code_shape(answer, t),
        )
        try:
            await client.sign_in(phone, code.replace(" ", ""))
        except errors.SessionPasswordNeededError:
            return True
        except errors.PhoneCodeInvalidError:
            questions.tell(t.gettext("  That code is not right; look again and type it."))
        except errors.PhoneCodeExpiredError:
            questions.tell(t.gettext("  That code has expired; Telegram is sending a new one."))
            await client.send_code_request(phone)
        else:
            return False


async def _enter_password(client: TelegramClient, questions: Questions) -> None:
    t = questions.words
    while True:
        password = await questions.ask(t.gettext("Two-step verification password: "), secret=True)
        try:
            await client.sign_in(password=password)
        except errors.PasswordHashInvalidError:
            questions.tell(t.gettext("  That password is not right; try again (Ctrl-C leaves)."))
        else:
            return


async def find_owner(client: TelegramClient, questions: Questions) -> int:
    """The owner's numeric id, asked of a person using a dedicated account: an id, an
    @username, or a phone number or name from this account's contacts."""
    people = TelegramPeople(client=client)
    t = questions.words
    while True:
        answer = await questions.ask(
            t.gettext(
                "Your own Telegram account (the owner): its @username, or its phone number or "
                "name as saved in this account's contacts, or its numeric id: "
            )
        )
        if answer.isdigit() and int(answer) > 0:
            return int(answer)
        found: list[Any] = await people.resolve(answer)
        if len(found) == 1:
            owner = found[0]
            questions.tell(
                t.gettext("  The owner is {name} (id {id}).", name=owner.name, id=owner.user_id)
            )
            return int(owner.user_id)
        names = ", ".join(f"{c.name} (id {c.user_id})" for c in found[:5])
        questions.tell(
            t.gettext(
                "  Several people match: {names}; type the one you mean more exactly.", names=names
            )
            if found
            else t.gettext("  Nobody found by that; try the @username, or the numeric id.")
        )
