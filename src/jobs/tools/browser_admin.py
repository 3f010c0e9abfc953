"""The owner's "browser_admin" server: the noVNC viewer link and a screenshot sent to the owner
as a photo (Jobs' own tools around the browser; Playwright's are tools/browser.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from claude_agent_sdk import SdkMcpTool, tool

from jobs.extensions.browser import BrowserConfig, photo_file, recent_downloads
from jobs.extensions.browser_viewer import viewer_link
from jobs.i18n.speakers import OwnerWords, english_words
from jobs.tools.registry import ToolServer
from jobs.tools.results import ToolResult, error_result, text_result

ADMIN_SERVER_NAME: Final = "browser_admin"
MAX_CAPTION_CHARS: Final = 1024
MAX_LISTED: Final = 20

ToOwner = Callable[[str, Path | None], Awaitable[None]]
"""`to_owner(text, photo)`: put a message (a photo with `text` as caption when `photo` is
given) in the owner's chat, through the outbox."""

_SCREENSHOT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"path": {"type": "string"}, "caption": {"type": "string"}},
    "required": ["path"],
}


class BrowserAdminTools:
    """The owner's browser_admin server: browser_view_link, send_screenshot and
    browser_downloads."""

    def __init__(
        self,
        *,
        config: BrowserConfig,
        to_owner: ToOwner,
        workspace: Path,
        downloads: Path | None = None,
        words: OwnerWords | None = None,
    ) -> None:
        """`downloads`: the folder the browser's downloads land in (BROWSER_DOWNLOADS_DIR);
        `words`: the owner's language, for the link's message (tool results stay English)."""
        self._words = words or english_words
        self._config = config
        self._to_owner = to_owner
        self._workspace = workspace
        self._downloads = downloads

    def server(self) -> ToolServer:
        return ToolServer.in_process(ADMIN_SERVER_NAME, self.tools())

    def tools(self) -> list[SdkMcpTool[Any]]:
        @tool(
            "browser_view_link",
            "Send the owner the link to watch and use the browser live (noVNC). The link "
            "carries the viewer password, so it goes straight to the owner's chat and is not "
            "shown to you. Use it when the owner asks to see the browser, or must act in it "
            "themselves (a login, a captcha).",
            {},
        )
        async def browser_view_link(_args: dict[str, Any]) -> ToolResult:
            return await self.view_link()

        @tool(
            "send_screenshot",
            "Send an image file to the owner's chat as a photo, e.g. one saved by "
            "browser_take_screenshot (give it a filename ending in .png). `path` is absolute "
            "or relative to the workspace; PNG or JPEG, at most 10 MB. `caption` is optional "
            "(at most 1024 characters).",
            _SCREENSHOT_SCHEMA,
        )
        async def send_screenshot(args: dict[str, Any]) -> ToolResult:
            return await self.send_screenshot(str(args.get("path", "")), args.get("caption"))

        @tool(
            "browser_downloads",
            "List the files the browser downloaded, newest first, with their absolute paths "
            "(give one to send_file to send it on). Their names come from the web pages.",
            {},
        )
        async def browser_downloads(_args: dict[str, Any]) -> ToolResult:
            return self.list_downloads()

        return [browser_view_link, send_screenshot, browser_downloads]

    def list_downloads(self) -> ToolResult:
        if self._downloads is None:
            return error_result("This browser's downloads folder is not known to Jobs.")
        found = recent_downloads(self._downloads, limit=MAX_LISTED)
        if not found:
            return text_result(f"No downloads yet (they land in {self._downloads}).")
        lines = [f"- {d.path} ({d.size} bytes, {d.modified:%Y-%m-%d %H:%M} UTC)" for d in found]
        return text_result("\n".join(lines))

    async def view_link(self) -> ToolResult:
        link = await viewer_link(self._config)
        if isinstance(link, str):
            return error_result(
                f"No viewer link: {link}. Tell the owner; NOVNC_PASSWORD in .env sets the "
                "password if the browser service was started without Jobs' start script."
            )
        said = (await self._words()).gettext("Watch the browser live: {url}", url=link.url)
        await self._to_owner(said, None)
        hint = ""
        if link.internal_host:
            hint = (
                " Its host is the browser's internal name: tell the owner to set NOVNC_URL "
                "(the address they open port 6080 at, e.g. http://my-server:6080)."
            )
        return text_result(f"Sent the viewer link to the owner's chat.{hint}")

    async def send_screenshot(self, raw_path: str, caption: Any = None) -> ToolResult:
        if not raw_path.strip():
            return error_result("Give `path`: the image file to send.")
        if caption is not None and not isinstance(caption, str):
            return error_result("`caption` must be text.")
        path = photo_file(raw_path, self._workspace)
        if isinstance(path, str):
            return error_result(path)
        await self._to_owner((caption or "")[:MAX_CAPTION_CHARS], path)
        return text_result(f"Sent {path.name} to the owner as a photo.")
