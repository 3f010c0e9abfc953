"""The two ways to run Jobs: behind Telegram (`jobs run`) and in a terminal (`jobs chat`)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import Callable, Iterator, Mapping

from telethon import TelegramClient

from jobs.app import App, build, effective_policy, serve
from jobs.clock import Clock, utc_now
from jobs.config import ExternalUsers, Settings
from jobs.errors import JobsError
from jobs.features import TelegramParts
from jobs.i18n.catalogs import terminal_words
from jobs.logs import RedactingFilter
from jobs.redaction import KnownSecrets
from jobs.runlock import RunLock
from jobs.sessions.clipids import end_orphaned_clis
from jobs.telegram.api import TelegramApi
from jobs.telegram.bot import CompanionBot, bot_client
from jobs.telegram.channel_posts import ChannelPosts
from jobs.telegram.client import connect_authorised, make_client, require_login
from jobs.telegram.erase import TelegramEraser
from jobs.telegram.groups import GroupFinder, GroupMessages, TelegramGroupContext
from jobs.telegram.history import HistoryUpdates, TelegramHistory
from jobs.telegram.inbound import SentLog, TelegramInbound
from jobs.telegram.media import TelegramMedia
from jobs.telegram.outbound import TelegramChannel
from jobs.telegram.owner_writes import OwnerWrites
from jobs.telegram.people import TelegramPeople
from jobs.terminal import TERMINAL_CHAT_ID, TerminalChannel

logger = logging.getLogger(__name__)


async def run_telegram(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    extra_env: Mapping[str, str] | None = None,
    client: TelegramClient | None = None,
    bot: TelegramClient | None = None,
) -> int:
    """`jobs run`: the user client, the inbox, the sessions and the outbox, until stopped.
    Returns the exit code (RESTART_EXIT_CODE after /update: start the new version).

    `client` (and `bot`, the companion bot's client with TG_BOT_TOKEN) replace the ones made
    from settings (tests pass them on the fake network).
    """
    settings.require_telegram()
    assert settings.tg_user_id is not None
    owner_id = settings.tg_user_id
    if client is None:
        # No login: say so before any network traffic, and before DATA_DIR is made.
        require_login(settings)
    with RunLock(settings.data_dir):
        await end_orphaned_clis(settings.data_dir)  # a kill -9 of Jobs alone left them running
        if client is None:
            client = make_client(settings)
        sent_log = SentLog()
        known = KnownSecrets(settings.secret_values())  # the stored secrets join it in build
        mask = RedactingFilter(known).redact
        companion = _companion(settings, bot, mask)
        channel = TelegramChannel(client=client, sent_log=sent_log, mask=mask, owner_id=owner_id)
        posts = ChannelPosts(client=client)
        parts = _telegram_parts(client, sent_log, mask, owner_id, posts=posts, companion=companion)
        app = await build(
            settings,
            channel=channel,
            owner_id=owner_id,
            clock=clock,
            extra_env=extra_env,
            telegram=parts,
            known=known,
        )
        await _listen(app, client, posts, channel, sent_log, owner_id)
        companion, policy = await _connect(app, settings, client, companion)
        try:
            with _startup_frozen():
                await serve(app, policy=policy, alongside=_clients(client, companion))
        finally:
            await client.disconnect()
            if companion is not None:
                await companion.client.disconnect()
        return app.restart.exit_code


@contextlib.contextmanager
def _startup_frozen() -> Iterator[None]:
    """What startup made lives as long as the run: kept out of the collector's way, a full
    pass no longer walks it (one took 67 ms with a message waiting behind it). Startup
    leaves next to no garbage (a collection there found 10 objects among 155,000), so none
    is collected first. At the end all of it is the collector's again: tests run Jobs many
    times in one process."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def _connect(
    app: App, settings: Settings, client: TelegramClient, companion: CompanionBot | None
) -> tuple[CompanionBot | None, ExternalUsers]:
    """Connect the account (and the companion bot): which account it is decides the policy
    for other people. A failure, or a stop meanwhile, closes the app and the clients: a client
    left connected keeps its session file locked with what it learnt unsaved."""
    try:
        account = await connect_authorised(client, settings)
        companion = await _start_companion(companion)
    except BaseException:
        await app.aclose()
        await client.disconnect()
        if companion is not None:
            await companion.client.disconnect()
        raise
    app.health.watch_connection(client.is_connected)
    app.account.own = account.is_owner_account
    policy = effective_policy(settings, own_account=account.is_owner_account)
    logger.info(
        "Logged in as %s (%s); external users: %s",
        account.name,
        "the owner's own account" if account.is_owner_account else "assistant account",
        policy.value,
    )
    return companion, policy


def _telegram_parts(
    client: TelegramClient,
    sent_log: SentLog,
    mask: Callable[[str], str],
    owner_id: int,
    *,
    posts: ChannelPosts,
    companion: CompanionBot | None,
) -> TelegramParts:
    """What only Telegram gives the owner's features: the account's API, media, chats,
    people, approval cards, the eraser, groups and history."""
    media = TelegramMedia(client=client)
    api = TelegramApi(client=client, sent_log=sent_log, owner_id=owner_id, media=media, mask=mask)
    return TelegramParts(
        account=api,
        media=media,
        chats=posts,
        people=TelegramPeople(client=client),
        cards=companion,
        eraser=TelegramEraser(client=client),
        groups=GroupFinder(api=api),
        group_context=TelegramGroupContext(client=client),
        history=TelegramHistory(client=client, api=api),
    )


async def _listen(
    app: App,
    client: TelegramClient,
    posts: ChannelPosts,
    channel: TelegramChannel,
    sent_log: SentLog,
    owner_id: int,
) -> None:
    """Every update handler, registered before connecting (catch-up replays what was missed
    as soon as it connects), and what Jobs sent before, known before the catch-up too."""
    # Before connecting, like the inbound handler: catch-up posts must find their subscription.
    await app.triggers.channels.restore()
    posts.register(on_post=app.triggers.channels.on_post, watching=app.triggers.channels.watching)
    # Registered before connecting: catch-up replays missed messages as soon as it connects.
    inbound = TelegramInbound(
        client=client,
        owner_id=owner_id,
        on_message=app.submit,
        sent_log=sent_log,
        sent_trust=app.repos.outbox.sent_trust,
    )
    inbound.register()
    GroupMessages(
        client=client, owner_id=owner_id, inbound=inbound, enabled=app.groups.watching
    ).register()
    # The opted-in chats' new messages, edits and deletions (catch-up's too) → the index.
    HistoryUpdates(
        client=client,
        watching=app.history.watching,
        on_message=app.history.on_message,
        on_deleted=lambda ids, chat_id: app.history.on_deleted(ids, chat_id=chat_id),
    ).register()
    # The owner writing to someone from their own account: Jobs keeps out of that chat.
    OwnerWrites(
        client=client,
        owner_id=owner_id,
        sent_log=sent_log,
        sent_trust=app.repos.outbox.sent_trust,
        on_write=app.handovers.owner_wrote,
    ).register()
    # Known before connecting: catch-up may replay Jobs' own replies in Saved Messages.
    for msg_id in await app.repos.outbox.recent_sent_ids(owner_id):
        sent_log.add(owner_id, msg_id)
    for item in await app.repos.outbox.unconfirmed(owner_id):
        channel.expect(item.to_message())
    for shown in await app.repos.outbox.unconfirmed_previews(owner_id):
        sent_log.expect(owner_id, shown)


def _companion(
    settings: Settings, client: TelegramClient | None, mask: Callable[[str], str]
) -> CompanionBot | None:
    """The companion bot, when TG_BOT_TOKEN is set (not connected yet)."""
    if settings.tg_bot_token is None or settings.tg_user_id is None:
        return None
    return CompanionBot(
        client=client if client is not None else bot_client(settings),
        token=settings.tg_bot_token.get_secret_value(),
        owner_id=settings.tg_user_id,
        mask=mask,
    )


async def _start_companion(companion: CompanionBot | None) -> CompanionBot | None:
    """The bot connected, or None when it cannot log in: Jobs runs on without it (its cards
    then fail to show, and every question goes through the account)."""
    if companion is None:
        return None
    companion.register()
    try:
        await companion.start()
    except JobsError as exc:
        logger.error("%s. Approvals are asked in the chat instead.", exc)
        await companion.client.disconnect()
        return None
    return companion


async def _clients(client: TelegramClient, companion: CompanionBot | None) -> None:
    """Until the account's client (or the bot's) disconnects for good."""
    if companion is None:
        await client.run_until_disconnected()
        return
    waits = [client.run_until_disconnected(), companion.client.run_until_disconnected()]
    tasks = [asyncio.create_task(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_terminal(
    settings: Settings, *, clock: Clock = utc_now, extra_env: Mapping[str, str] | None = None
) -> int:
    """`jobs chat`: the owner's session in this terminal; Telegram's outbox rows are left alone.
    Returns the exit code, like run_telegram."""
    owner_id = settings.tg_user_id or 1
    with RunLock(settings.data_dir):
        await end_orphaned_clis(settings.data_dir)  # a kill -9 of Jobs alone left them running
        channel = TerminalChannel()
        app = await build(
            settings,
            channel=channel,
            owner_id=owner_id,
            clock=clock,
            extra_env=extra_env,
            only_chat=TERMINAL_CHAT_ID,
        )
        app.account.own = True  # the owner's own session, nobody else's chats
        # The rows' stored note, for the log and the database.
        unanswered = await app.repos.inbox.drop_open(
            TERMINAL_CHAT_ID, "jobs chat was left"
        )  # i18n: skip
        t = terminal_words(settings.owner_language, os.environ)
        print(
            t.gettext(
                "Jobs: talking to your owner session here. /help for commands, Ctrl-D to leave."
            )
        )
        for text in unanswered:
            print(
                t.gettext(
                    "(Not answered before you left, so not redone: {quote})", quote=_quote(text)
                )
            )
        from jobs.chat import ChatPrompt  # prompt_toolkit (≈ 7 MB): `jobs run` never needs it

        prompt = ChatPrompt(
            owner_id=owner_id,
            chat_id=TERMINAL_CHAT_ID,
            submit=app.submit,
            history=settings.data_dir / "chat_history",
            words=t,
        )
        await serve(
            app, policy=effective_policy(settings, own_account=True), alongside=prompt.run()
        )
        return app.restart.exit_code


def _quote(text: str, *, width: int = 60) -> str:
    line = " ".join(text.split())
    return f"“{line[: width - 1]}…”" if len(line) > width else f"“{line}”"
