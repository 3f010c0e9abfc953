"""The browser's downloads can be sent on: they land in BROWSER_DOWNLOADS_DIR (outside the
workspace), browser_downloads lists them with their paths, and send_file takes such a path
(its second root) while still refusing anything else outside the workspace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from telethon import TelegramClient
from telethon.tl import functions

from jobs.config import Settings, load_settings
from jobs.extensions.browser import BrowserConfig
from jobs.features import browser_downloads
from jobs.telegram.api import TelegramApi
from jobs.telegram.inbound import SentLog
from jobs.telegram.media import TelegramMedia
from jobs.tools.browser_admin import BrowserAdminTools
from jobs.tools.telegram import TelegramTools
from tests.browser.conftest import Site, text_of
from tests.browser.service import BrowserService, eventually
from tests.browser.test_playwright import tools_on
from tests.fakes.telegram import FakeTelegram


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(None, workspace_dir=tmp_path / "workspace", **overrides)


def send_tools(settings: Settings, client: TelegramClient) -> TelegramTools:
    """The owner's Telegram tools with the roots features.telegram gives them."""
    api = TelegramApi(
        client=client, sent_log=SentLog(), owner_id=1000, media=TelegramMedia(client=client)
    )
    downloads = browser_downloads(settings)
    roots = [settings.workspace_dir, *([downloads] if downloads else [])]
    return TelegramTools(account=api, roots=roots, uploads_dir=settings.workspace_dir / "up")


def test_the_downloads_folder_is_start_shs_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert browser_downloads(settings_for(tmp_path)) is None  # no browser: no second root
    local = settings_for(tmp_path, browser_cdp_url="http://127.0.0.1:9223")
    assert browser_downloads(local) == tmp_path / "share" / "jobs-browser" / "downloads"
    given = settings_for(
        tmp_path, browser_cdp_url="http://browser:9223", browser_downloads_dir=Path("/downloads")
    )
    assert browser_downloads(given) == Path("/downloads")


async def test_send_file_takes_a_download_and_nothing_else_outside(
    tmp_path: Path, tg: FakeTelegram, tg_client: TelegramClient
) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "invoice.pdf").write_bytes(b"%PDF-1.4 invoice")
    (tmp_path / "elsewhere.txt").write_text("not to be sent")
    settings = settings_for(
        tmp_path, browser_cdp_url="http://127.0.0.1:9223", browser_downloads_dir=downloads
    )
    tools = send_tools(settings, tg_client)
    sent = await tools.send_file({"chat": "me", "path": str(downloads / "invoice.pdf")})
    assert not sent.get("is_error"), sent
    refused = await tools.send_file({"chat": "me", "path": str(tmp_path / "elsewhere.txt")})
    assert refused["is_error"]
    assert f"outside the workspace and {downloads}" in refused["content"][0]["text"]
    [media] = tg.of(functions.messages.SendMediaRequest)
    assert tg.files[tg.outbox[-1].media.document.id] == b"%PDF-1.4 invoice"
    assert media is not None


@pytest.mark.browser
async def test_a_file_the_browser_downloaded_is_listed_and_sent_on(
    browser_service: BrowserService,
    site: Site,
    tmp_path: Path,
    tg: FakeTelegram,
    tg_client: TelegramClient,
) -> None:
    downloads = browser_service.home / "downloads"
    settings = settings_for(
        tmp_path, browser_cdp_url=browser_service.cdp_url, browser_downloads_dir=downloads
    )
    workspace = settings.workspace_dir
    browser = tools_on(browser_service, workspace)
    try:
        page = text_of(await browser.call("browser_navigate", {"url": site.url}))
        [link] = re.findall(r'link "Report" \[ref=(\w+)\]', page) or re.findall(
            r'link "Report" \[ref=(\w+)\]', text_of(await browser.call("browser_snapshot", {}))
        )
        clicked = await browser.call("browser_click", {"target": link, "element": "Report"})
        assert not clicked.is_error, text_of(clicked)
        saved = downloads / "report.txt"
        await eventually(saved.exists, within=30, what="the download")
    finally:
        await browser.aclose()

    admin = BrowserAdminTools(
        config=BrowserConfig(
            cdp_url=browser_service.cdp_url, mcp_command=("unused",), output_dir=workspace
        ),
        to_owner=_nobody,
        workspace=workspace,
        downloads=browser_downloads(settings),
    )
    listed = admin.list_downloads()["content"][0]["text"]
    assert f"- {saved.resolve()} (18 bytes, " in listed
    assert not saved.resolve().is_relative_to(workspace.resolve())
    sent = await send_tools(settings, tg_client).send_file({"chat": "me", "path": str(saved)})
    assert not sent.get("is_error"), sent
    assert tg.files[tg.outbox[-1].media.document.id] == b"quarterly numbers\n"


async def _nobody(_text: str, _photo: Path | None) -> None:
    raise AssertionError("nothing goes to the owner here")
