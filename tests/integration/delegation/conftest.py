"""The delegation rig's fixtures (see rig.py): its Jobs parts and a conductor per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telethon import TelegramClient

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.telegram import FakeTelegram
from tests.integration.delegation.rig import Conductor, Rig, conducting, open_rig


@pytest.fixture
async def rig(
    tmp_path: Path,
    claude_env: dict[str, str],
    tg: FakeTelegram,
    tg_client: TelegramClient,
    fake_model: FakeAnthropic,
) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path, claude_env, tg, tg_client) as made:
        yield made


@pytest.fixture
def conductor(fake_model: FakeAnthropic) -> Conductor:
    return conducting(fake_model)
