"""The Telethon client: built from settings on a SQLite session file under DATA_DIR, and login."""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from telethon import TelegramClient
from telethon.sessions import SQLiteSession, StringSession

from jobs import __version__
from jobs.config import Settings
from jobs.errors import ConfigError, NotLoggedIn
from jobs.telegram.sessionfile import SessionState, inspect_session, secure_permissions

logger = logging.getLogger(__name__)

Prompt = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Account:
    """Who the client is logged in as, and whether that is the owner's own account."""

    user_id: int
    name: str
    username: str | None
    is_owner_account: bool


def session_file(settings: Settings) -> Path:
    """Telethon adds `.session` to a bare name; we do it first so every path we print is real."""
    path = settings.telethon_session_path
    return path if path.suffix == ".session" else path.with_name(path.name + ".session")


def import_string_session(settings: Settings) -> bool:
    """Copy a StringSession from TG_SESSION into the session file once; True if it did."""
    if not settings.tg_session or not settings.tg_session_is_string:
        return False
    path = session_file(settings)
    if inspect_session(path) is SessionState.AUTHORISED_KEY:
        return False
    try:
        source = StringSession(settings.tg_session.get_secret_value())
    except (ValueError, struct.error) as exc:  # a wrong length fails in struct.unpack
        raise ConfigError(
            "TG_SESSION is not a valid StringSession string", variable="TG_SESSION"
        ) from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)  # never readable by others, not even for a moment
    target = SQLiteSession(str(path))
    target.set_dc(source.dc_id, source.server_address, source.port)
    target.auth_key = source.auth_key
    target.save()
    target.close()
    secure_permissions(path)
    logger.info("Imported the StringSession from TG_SESSION into %s", path)
    return True


def require_login(settings: Settings) -> None:
    """Fail before any traffic when the session file holds no login.

    Without an auth key Telethon would connect to Telegram's default address and start a new
    login handshake; `jobs run` cannot finish one without a person, so say what to do instead.
    """
    import_string_session(settings)
    path = session_file(settings)
    state = inspect_session(path)
    if state is not SessionState.AUTHORISED_KEY:
        raise NotLoggedIn(
            f"There is no Telegram login in {path} ({state.value}): run `jobs login` first "
            "(or set TG_SESSION to a StringSession)."
        )


def make_client(settings: Settings) -> TelegramClient:
    """A client on the SQLite session file: it keeps update state, so catch_up works."""
    settings.require_telegram()
    assert settings.tg_api_id is not None and settings.tg_api_hash is not None
    import_string_session(settings)
    path = session_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)  # never readable by others, not even for a moment
    client = TelegramClient(
        SQLiteSession(str(path)),
        settings.tg_api_id,
        settings.tg_api_hash.get_secret_value(),
        # Flood waits come back to us as RetryLater, so one chat's wait never blocks another's.
        flood_sleep_threshold=0,
        # Without catch_up, messages sent while Jobs was down are skipped for good.
        catch_up=True,
        device_model="Jobs assistant",
        app_version=__version__,
        receive_updates=True,
    )
    secure_permissions(path)
    return client


async def connect_authorised(client: TelegramClient, settings: Settings) -> Account:
    """Connect and make sure the session is logged in; NotLoggedIn points to `jobs login`."""
    await client.connect()
    secure_permissions(session_file(settings))
    if not await client.is_user_authorized():
        await client.disconnect()
        raise NotLoggedIn(
            f"The Telegram session {session_file(settings)} is not logged in: run `jobs login`."
        )
    return await _account(client, settings)


async def login(
    client: TelegramClient, settings: Settings, *, ask: Prompt, ask_secret: Prompt
) -> Account:
    """Interactive phone → code → 2FA password login (Telethon's own flow, our prompts)."""
    await client.start(
        phone=lambda: ask("Phone number of the Telegram account (with country code): "),
        code_callback=lambda: ask("The login code Telegram just sent you: "),
        password=lambda: ask_secret("Two-step verification password: "),
        max_attempts=3,
    )
    secure_permissions(session_file(settings))
    return await _account(client, settings)


def export_string_session(client: TelegramClient) -> str:
    """The current login as a StringSession string (a full login: keep it secret)."""
    return str(StringSession.save(client.session))


async def _account(client: TelegramClient, settings: Settings) -> Account:
    me = await client.get_me()
    name = " ".join(p for p in (me.first_name, me.last_name) if p) or str(me.id)
    return Account(
        user_id=int(me.id),
        name=name,
        username=me.username,
        is_owner_account=int(me.id) == settings.tg_user_id,
    )
