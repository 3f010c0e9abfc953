"""The Telethon client: built from settings on a SQLite session file under DATA_DIR, login, and
whether this account can reach its owner (a dedicated account must have met them)."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import struct
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from telethon import TelegramClient, errors
from telethon.sessions import SQLiteSession, StringSession
from telethon.tl import functions, types

from jobs import __version__
from jobs.config import Settings
from jobs.errors import ConfigError, NotLoggedIn
from jobs.telegram.connection import Route, first_contact, network_options
from jobs.telegram.sessionfile import SessionState, inspect_session, secure_permissions

logger = logging.getLogger(__name__)

_DIALOGS = 100  # recent chats looked through for a person the session has not met
# For the log and the outbox's note on held messages (nobody can be written to yet).
OWNER_UNREACHABLE = (  # i18n: skip
    "Jobs runs in an account of its own, and Telegram lets an account write only to people it "
    "has met: this one has never seen its owner (TG_USER_ID). From your own account, write any "
    "message to this account once."
)


@dataclass(frozen=True, slots=True)
class Account:
    """Who the client is logged in as, and whether that is the owner's own account."""

    user_id: int
    name: str
    username: str | None
    is_owner_account: bool
    owner_reachable: bool = True
    """False: a dedicated account that cannot write to the owner yet (see OWNER_UNREACHABLE)."""


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
    """A client on the SQLite session file: it keeps update state, so catch_up works.
    TG_PROXY, when set, is the way to Telegram."""
    settings.require_telegram(owner=False)
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
        device_model="Jobs assistant",  # i18n: skip (how Telegram lists the session)
        app_version=__version__,
        receive_updates=True,
        **network_options(settings.telegram_proxy),
    )
    secure_permissions(path)
    return client


async def connect(client: TelegramClient, settings: Settings) -> bool:
    """Connect within TG_CONNECT_TIMEOUT_SECONDS (TelegramUnreachable says why not); whether
    the session is logged in. On failure the client is disconnected."""

    async def contact() -> bool:
        await client.connect()
        return bool(await client.is_user_authorized())

    try:
        authorised = await first_contact(
            contact,
            Route.of(client, settings.telegram_proxy),
            within=settings.tg_connect_timeout_seconds,
        )
    except BaseException:
        await client.disconnect()
        raise
    secure_permissions(session_file(settings))
    return authorised


async def connect_authorised(client: TelegramClient, settings: Settings) -> Account:
    """Connect and make sure the session is logged in; NotLoggedIn points to `jobs login`.

    In a dedicated account the owner is looked up too; when this account cannot write to them,
    one warning says what to do (Jobs runs on: the owner's first message fixes it).
    """
    if not await connect(client, settings):
        await client.disconnect()
        raise NotLoggedIn(
            f"The Telegram session {session_file(settings)} is not logged in: run `jobs login`."
        )
    account = await account_of(client, settings)
    if account.is_owner_account or settings.tg_user_id is None:
        return account
    if await find_peer(client, settings.tg_user_id) is not None:
        return account
    logger.warning(
        "%s Until then nothing reaches you: announcements of new people, reports and notices "
        "wait. (Assistant account id %s, owner id %s.)",
        OWNER_UNREACHABLE,
        account.user_id,
        settings.tg_user_id,
    )
    return replace(account, owner_reachable=False)


async def find_peer(client: TelegramClient, chat_id: int, *, learn: bool = True) -> Any | None:
    """The input peer to write to `chat_id`, or None when this account cannot.

    A chat the session has not met is looked for in the account's contacts and recent dialogs
    (`learn`), which teaches the session its access hash.
    """
    for looked in (False, True):
        if looked:
            if not learn:
                break
            await learn_peers(client)
        try:
            return await client.get_input_entity(chat_id)
        except ValueError:
            continue
    return None


async def learn_peers(client: TelegramClient) -> None:
    """Teach the session the people in the account's contacts and recent dialogs."""
    try:
        # Telethon stores the users and chats of every answer in the session.
        await client(functions.contacts.GetContactsRequest(hash=0))
        await client(
            functions.messages.GetDialogsRequest(
                offset_date=None,
                offset_id=0,
                offset_peer=types.InputPeerEmpty(),
                limit=_DIALOGS,
                hash=0,
            )
        )
    except (errors.RPCError, OSError) as exc:  # best effort: the next send looks again
        logger.info("Could not look through contacts and dialogs: %s", exc)


def export_string_session(client: TelegramClient) -> str:
    """The current login as a StringSession string (a full login: keep it secret)."""
    return str(StringSession.save(client.session))


async def account_of(client: TelegramClient, settings: Settings) -> Account:
    """Who the logged-in client is."""
    me = await client.get_me()
    name = " ".join(p for p in (me.first_name, me.last_name) if p) or str(me.id)
    return Account(
        user_id=int(me.id),
        name=name,
        username=me.username,
        is_owner_account=int(me.id) == settings.tg_user_id,
    )


class OwnerPeer(StrEnum):
    """What the session file says about reaching the owner, without asking Telegram."""

    NOT_YET = "not_yet"  # no run has saved who this account is
    OWN_ACCOUNT = "own_account"
    KNOWN = "known"
    UNKNOWN = "unknown"  # a dedicated account that has never seen the owner


def owner_peer_on_disk(settings: Settings) -> tuple[OwnerPeer, int | None]:
    """Read the session file (as of its last save): can this account write to the owner?
    Also returns this account's id when known. Telethon saves itself as entity 0, its hash
    holding its own id, and every user met with their access hash."""
    path = session_file(settings)
    if settings.tg_user_id is None or not path.exists():
        return OwnerPeer.NOT_YET, None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            me = conn.execute("SELECT hash FROM entities WHERE id = 0").fetchone()  # i18n: skip
            owner = conn.execute(  # i18n: skip
                "SELECT hash FROM entities WHERE id = ?", (settings.tg_user_id,)
            ).fetchone()
    except sqlite3.DatabaseError:  # no entities table yet, or not a session file
        return OwnerPeer.NOT_YET, None
    if me is None:
        return OwnerPeer.NOT_YET, None
    me_id = int(me[0])
    if me_id == settings.tg_user_id:
        return OwnerPeer.OWN_ACCOUNT, me_id
    return (OwnerPeer.KNOWN if owner is not None and owner[0] else OwnerPeer.UNKNOWN), me_id
