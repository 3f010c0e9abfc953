"""The browser feature without Chromium: the CDP health check and the owner's note when the
browser is down, the browser_admin tools (viewer link, photo), and Jobs' notice instead of
Playwright's error in a real owner session."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
from pydantic import SecretStr

from jobs.config import Settings
from jobs.doctor import Status, check_browser
from jobs.extensions.browser import BrowserConfig, find_playwright_mcp
from jobs.extensions.browser_health import BrowserHealth, cdp_health
from jobs.logs import RedactingFilter
from jobs.sessions import EXTERNAL, OWNER, TASK, SessionManager
from jobs.sessions.keys import OWNER_KEY, SessionKey
from jobs.sessions.roles import task_role
from jobs.storage import Database
from jobs.tools import ToolServers
from jobs.tools.browser import BrowserTools
from jobs.tools.browser_admin import ADMIN_SERVER_NAME, BrowserAdminTools
from tests.browser.service import TOKEN, BrowserService, free_port, run_proxy
from tests.browser.test_owner_turn import results
from tests.fakes.anthropic import FakeAnthropic, text, tool_use
from tests.session_stack import session_manager

ROLE = replace(OWNER, servers=tuple(dict.fromkeys((*OWNER.servers, ADMIN_SERVER_NAME))))
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def serve(status: int, body: object) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def at(url: str, token_file: Path | None = None) -> BrowserConfig:
    return BrowserConfig(
        cdp_url=url, mcp_command=("playwright-mcp",), output_dir=Path(), token_file=token_file
    )


async def test_cdp_health_says_plainly_what_is_wrong(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    problem = await cdp_health(at(down))
    assert problem is not None and problem.startswith(f"nothing answers at {down}")
    assert problem.endswith("the browser service is not running")
    for url in serve(200, {"Browser": "Chrome/156", "webSocketDebuggerUrl": "ws://x/y"}):
        assert await cdp_health(at(url)) is None
    for url in serve(500, "Host header is specified and is not an IP address or localhost"):
        assert f"{url} answered HTTP 500" in (await cdp_health(at(url)) or "")
    for url in serve(200, {"hello": "world"}):
        assert (
            await cdp_health(at(url)) == f"{url} answered, but not as Chromium's DevTools endpoint"
        )
    stale = tmp_path / "token"
    stale.write_text("from-an-earlier-start\n")
    with run_proxy("--upstream", f"127.0.0.1:{free_port()}") as port:
        problem = await cdp_health(at(f"http://127.0.0.1:{port}", stale))
    assert problem is not None and "refused Jobs' token: BROWSER_TOKEN_FILE (" in problem
    assert "from-an-earlier-start" not in problem


async def test_up_is_trusted_for_a_while_down_never() -> None:
    now = [0.0]
    answer: dict[str, object] = {"webSocketDebuggerUrl": "ws://x/y"}
    for url in serve(200, answer):
        health = BrowserHealth(config=at(url), ttl=30, monotonic=lambda: now[0])
        assert await health.owner_note() is None
    now[0] = 10.0
    assert await health.owner_note() is None  # cached: the server is gone, nobody asked
    assert await health.recheck() is not None  # a failed browser tool asks anyway
    note = await health.owner_note()  # down: asked again at once, not after the ttl
    assert note is not None and "the browser is unavailable: nothing answers at" in note
    assert "tell the owner so plainly, and that `jobs browser` starts it" in note
    for url in serve(200, answer):
        health = BrowserHealth(config=at(url), ttl=30, monotonic=lambda: now[0])
        assert await health.problem() is None


async def test_doctor_shows_a_browser_down_and_a_missing_mcp_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    down = await check_browser(Settings(browser_cdp_url=f"http://127.0.0.1:{free_port()}"))
    assert down.status is Status.WARN and "no browser answers at" in down.detail
    assert "`jobs browser`" in down.fix
    monkeypatch.setattr("jobs.extensions.browser.find_playwright_mcp", lambda: None)
    for url in serve(200, {"Browser": "Chrome/156", "webSocketDebuggerUrl": "ws://x/y"}):
        missing = await check_browser(Settings(browser_cdp_url=url))
    assert missing.status is Status.WARN and "npm ci" in missing.fix


@pytest.mark.browser
async def test_doctor_shows_the_running_browser(browser_service: BrowserService) -> None:
    check = await check_browser(
        Settings(
            browser_cdp_url=browser_service.cdp_url,
            browser_token_file=browser_service.token_file,
        )
    )
    assert check.status is Status.OK and check.detail.startswith("Chrome/")


@dataclass
class Admin:
    tools: BrowserAdminTools
    workspace: Path
    sent: list[tuple[str, Path | None]] = field(default_factory=list)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    """Where Jobs finds the token run_proxy() wants."""
    path = tmp_path / "cdp-token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
def proxy_with_password(tmp_path: Path) -> Iterator[str]:
    """The real cdp_proxy.py with no browser behind it: it still answers the noVNC info."""
    secret = tmp_path / "pw"
    secret.write_text("Zq3-x_9A\n")
    with run_proxy(
        "--upstream", f"127.0.0.1:{free_port()}",
        "--novnc-port", "6080", "--novnc-password-file", str(secret),
    ) as port:  # fmt: skip
        yield f"http://127.0.0.1:{port}"


def admin_on(
    cdp_url: str,
    workspace: Path,
    novnc_url: str | None = None,
    novnc_password: str | None = None,
    token_file: Path | None = None,
) -> Admin:
    workspace.mkdir(exist_ok=True)
    sent: list[tuple[str, Path | None]] = []

    async def to_owner(text: str, photo: Path | None) -> None:
        sent.append((text, photo))

    browser = BrowserConfig(
        cdp_url=cdp_url,
        mcp_command=("playwright-mcp",),
        output_dir=workspace,
        token_file=token_file,
        novnc_url=novnc_url,
        novnc_password=novnc_password,
    )
    tools = BrowserAdminTools(config=browser, to_owner=to_owner, workspace=workspace)
    return Admin(tools=tools, workspace=workspace, sent=sent)


ENCODED = "%5A%71%33%2D%78%5F%39%41"  # Zq3-x_9A, every character percent-encoded


async def test_view_link_uses_the_generated_password(
    proxy_with_password: str, token_file: Path, tmp_path: Path
) -> None:
    admin = admin_on(proxy_with_password, tmp_path / "ws", token_file=token_file)
    result = await admin.tools.view_link()
    assert not result.get("is_error") and "Zq3-x_9A" not in json.dumps(result)
    [(message, photo)] = admin.sent
    assert photo is None
    host = proxy_with_password.removeprefix("http://").split(":")[0]
    assert message == (
        f"Watch the browser live: http://{host}:6080/vnc.html?autoconnect=1&resize=scale"
        f"&password={ENCODED}"
    )
    assert urllib.parse.parse_qs(message.split("?")[1])["password"] == ["Zq3-x_9A"]


async def test_the_password_is_told_to_token_holders_only(
    proxy_with_password: str, tmp_path: Path
) -> None:
    refused = await admin_on(proxy_with_password, tmp_path / "ws").tools.view_link()
    assert refused["is_error"] and "refused Jobs' token" in refused["content"][0]["text"]


async def test_a_configured_password_survives_jobs_masking_its_secrets(tmp_path: Path) -> None:
    """NOVNC_PASSWORD is among the secrets masked in everything Jobs sends (a reply quoting
    .env); the link to the owner must still carry a password noVNC accepts."""
    settings = Settings(novnc_password=SecretStr("Zq3-x_9A"))
    mask = RedactingFilter(settings.secret_values()).redact
    assert mask("the password is Zq3-x_9A") == "the password is ***"
    down = f"http://127.0.0.1:{free_port()}"
    admin = admin_on(
        down, tmp_path / "ws", novnc_url="https://vps.example:6080", novnc_password="Zq3-x_9A"
    )
    assert not (await admin.tools.view_link()).get("is_error")
    sent = mask(admin.sent[0][0])  # what TelegramChannel sends
    query = f"vnc.html?autoconnect=1&resize=scale&password={ENCODED}"
    assert sent.endswith(f"https://vps.example:6080/{query}")
    assert urllib.parse.parse_qs(sent.split("?")[1])["password"] == ["Zq3-x_9A"]


async def test_view_link_without_a_browser(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    refused = await admin_on(down, tmp_path / "ws2").tools.view_link()
    assert refused["is_error"] and "nothing answers at" in refused["content"][0]["text"]


async def test_send_screenshot_refuses_what_is_not_a_photo(tmp_path: Path) -> None:
    admin = admin_on("http://127.0.0.1:9", tmp_path / "ws")
    (admin.workspace / "notes.txt").write_text("hi")
    (admin.workspace / "huge.png").write_bytes(PNG + b"\0" * (10 * 1024 * 1024))
    cases = {
        "": "Give `path`",
        "missing.png": "No file at",
        ".": "is not a file",
        "notes.txt": "is not a PNG or JPEG image",
        "huge.png": "a photo may be at most 10 MB",
    }
    for path, why in cases.items():
        result = await admin.tools.send_screenshot(path)
        assert result["is_error"] and why in result["content"][0]["text"], path
    assert admin.sent == []


@pytest.fixture
async def owner_manager(
    tmp_path: Path, claude_env: dict[str, str]
) -> AsyncIterator[tuple[SessionManager, Admin]]:
    command = find_playwright_mcp()
    if command is None:
        pytest.skip("@playwright/mcp is not installed (npm ci in browser/)")
    down = f"http://127.0.0.1:{free_port()}"
    admin = admin_on(down, tmp_path / "workspace")
    config = BrowserConfig(cdp_url=down, mcp_command=command, output_dir=admin.workspace)
    browser = BrowserTools.over(config, workspace=admin.workspace)
    db = await Database.open(tmp_path / "db.sqlite")
    manager = session_manager(
        db,
        root=tmp_path,
        env=claude_env,
        workspace=admin.workspace,
        tools=ToolServers([browser.server(), admin.tools.server()]),
    )
    try:
        yield manager, admin
    finally:
        await manager.aclose()
        await browser.aclose()
        await db.close()


async def test_owner_session_photo_and_a_browser_that_is_down(
    owner_manager: tuple[SessionManager, Admin], fake_model: FakeAnthropic
) -> None:
    manager, admin = owner_manager
    (admin.workspace / "shot.png").write_bytes(PNG)
    fake_model.push(
        tool_use("mcp__browser_admin__send_screenshot", {"path": "shot.png", "caption": "Here"}),
        tool_use("mcp__browser__browser_navigate", {"url": "http://127.0.0.1:9/"}),
        text("The browser is not running."),
    )
    reply = await manager.run_turn(OWNER_KEY, ROLE, "Send me the screenshot, then open a page.")
    assert reply.text == "The browser is not running."
    assert admin.sent == [("Here", (admin.workspace / "shot.png").resolve())]
    failed = results(fake_model.calls[2])
    # Jobs' own words, naming the command that starts the browser; not Playwright's
    # colour-coded ECONNREFUSED.
    assert failed.startswith("The browser is not available: nothing answers at http://127.0.0.1:")
    assert "`jobs browser` starts it" in failed
    assert "ECONNREFUSED" not in failed and "\x1b" not in failed


async def test_only_the_owner_and_tasks_granted_it_get_the_browser(
    owner_manager: tuple[SessionManager, Admin], fake_model: FakeAnthropic
) -> None:
    manager, _ = owner_manager
    await manager.run_turn(SessionKey.person(42), EXTERNAL, "open example.com", person_id=42)
    await manager.run_turn(SessionKey.task(1), TASK, "work on the task")
    await manager.run_turn(SessionKey.task(2), task_role(grants=["browser"]), "work on the task")
    external, task, granted = (call.offered_tools for call in fake_model.calls)
    assert not {t for t in external if t.startswith("mcp__browser")}
    assert not {t for t in task if t.startswith("mcp__browser")}
    assert "mcp__browser__browser_navigate" in granted
