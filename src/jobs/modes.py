"""The two ways to run Jobs: behind Telegram (`jobs run`) and in a terminal (`jobs chat`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from telethon import TelegramClient

from jobs.app import build, effective_policy, serve
from jobs.clock import Clock, utc_now
from jobs.config import Settings
from jobs.runlock import RunLock
from jobs.telegram.client import connect_authorised, make_client
from jobs.telegram.inbound import SentLog, TelegramInbound
from jobs.telegram.outbound import TelegramChannel
from jobs.terminal import TERMINAL_CHAT_ID, TerminalChannel, read_lines

logger = logging.getLogger(__name__)


async def run_telegram(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    extra_env: Mapping[str, str] | None = None,
    client: TelegramClient | None = None,
) -> None:
    """`jobs run`: the user client, the inbox, the sessions and the outbox, until stopped.

    `client` replaces the one made from settings (tests pass one on the fake network).
    """
    settings.require_telegram()
    assert settings.tg_user_id is not None
    owner_id = settings.tg_user_id
    with RunLock(settings.data_dir):
        client = client or make_client(settings)
        sent_log = SentLog()
        channel = TelegramChannel(client=client, sent_log=sent_log)
        app = await build(
            settings, channel=channel, owner_id=owner_id, clock=clock, extra_env=extra_env
        )
        # Registered before connecting: catch-up replays missed messages as soon as it connects.
        TelegramInbound(
            client=client, owner_id=owner_id, on_message=app.dispatcher.submit, sent_log=sent_log
        ).register()
        try:
            account = await connect_authorised(client, settings)
        except BaseException:
            await app.aclose()
            raise
        for msg_id in await app.repos.outbox.recent_sent_ids(owner_id):
            sent_log.add(owner_id, msg_id)
        policy = effective_policy(settings, own_account=account.is_owner_account)
        logger.info(
            "Logged in as %s (%s); external users: %s",
            account.name,
            "the owner's own account" if account.is_owner_account else "assistant account",
            policy.value,
        )
        try:
            await serve(app, policy=policy, alongside=client.run_until_disconnected())
        finally:
            await client.disconnect()


async def run_terminal(
    settings: Settings, *, clock: Clock = utc_now, extra_env: Mapping[str, str] | None = None
) -> None:
    """`jobs chat`: the owner's session in this terminal; Telegram's outbox rows are left alone."""
    owner_id = settings.tg_user_id or 1
    with RunLock(settings.data_dir):
        channel = TerminalChannel()
        app = await build(
            settings,
            channel=channel,
            owner_id=owner_id,
            clock=clock,
            extra_env=extra_env,
            only_chat=TERMINAL_CHAT_ID,
        )
        print("Jobs: talking to your owner session here. /help for commands, Ctrl-D to leave.")
        await serve(
            app,
            policy=effective_policy(settings, own_account=True),
            alongside=read_lines(owner_id, app.dispatcher.submit),
        )
