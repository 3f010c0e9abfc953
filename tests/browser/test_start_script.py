"""browser/start.sh without Docker: it brings up CDP (through the proxy) and noVNC, survives
a profile and display lock left by another run, starts Chromium again when it dies, stops
when another part dies, and stops them all."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import pytest

from tests.browser.service import START, BrowserService, wait_until


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as reply:  # loopback only
        body: bytes = reply.read()
        return body


def test_says_what_to_install_when_chromium_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "CHROMIUM": "/nonexistent/chromium", "HOME": str(tmp_path)}
    done = subprocess.run(["bash", str(START)], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "Chromium not found at /nonexistent/chromium: apt-get install chromium" in done.stderr


def test_health_fails_when_nothing_runs(tmp_path: Path) -> None:
    service = BrowserService.on(tmp_path)
    done = service.run("health")
    assert done.returncode == 1 and "CDP not answering" in done.stderr
    assert service.run("bogus").returncode == 1


@pytest.mark.browser
def test_brings_up_cdp_and_novnc(browser_service: BrowserService) -> None:
    assert browser_service.run("health").returncode == 0
    version = json.loads(browser_service.get("/json/version"))
    assert version["webSocketDebuggerUrl"].startswith(f"ws://{browser_service.cdp_url[7:]}/")
    assert b"noVNC" in get(f"http://127.0.0.1:{browser_service.novnc_port}/vnc.html")
    log = "".join(browser_service.lines)
    assert "CDP ready on 127.0.0.1:" in log and "ms after Chromium started" in log


@pytest.mark.browser
def test_novnc_password_generated_kept_private_and_in_the_link(
    browser_service: BrowserService,
) -> None:
    secret = browser_service.home / "profile" / ".novnc-password"
    password = browser_service.password
    assert len(password) == 8  # what VNC authentication reads
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    link = browser_service.run("link").stdout.strip()
    port = browser_service.novnc_port
    assert link == (
        f"http://localhost:{port}/vnc.html?autoconnect=1&resize=scale&password={password}"
    )
    info = json.loads(browser_service.get("/jobs-browser/novnc"))
    assert info == {"port": port, "password": password}


@pytest.mark.browser
def test_the_log_has_the_viewer_address_but_not_its_password(
    browser_service: BrowserService,
) -> None:
    log = "".join(browser_service.lines)
    [viewer] = [line for line in browser_service.lines if "viewer:" in line]
    port = browser_service.novnc_port
    assert f"viewer: http://localhost:{port}/vnc.html?autoconnect=1&resize=scale (" in viewer
    assert "start.sh link" in viewer
    assert browser_service.password not in log and "password=" not in log
    assert browser_service.token_file.read_text().strip() not in log


@pytest.mark.browser
def test_token_new_at_each_start_private_gone_after(tmp_path: Path) -> None:
    tokens = []
    for run in ("1", "2"):
        service = BrowserService.on(tmp_path / run, BROWSER_TOKEN_FILE=str(tmp_path / "token"))
        service.start()
        try:
            token_file = service.token_file
            assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
            tokens.append(token_file.read_text().strip())
            assert len(tokens[-1]) >= 40
            request = urllib.request.Request(service.cdp_url + "/json/version")
            with pytest.raises(urllib.error.HTTPError, match="401"):
                urllib.request.urlopen(request, timeout=5)
            assert service.healthy()  # start.sh health reads the token file
        finally:
            assert service.stop() == 143
        assert not token_file.exists()
    assert tokens[0] != tokens[1]


@pytest.mark.browser
def test_vnc_offers_password_authentication_only(browser_service: BrowserService) -> None:
    with socket.create_connection(("127.0.0.1", int(browser_service.env["VNC_PORT"])), 5) as vnc:
        assert vnc.recv(12).startswith(b"RFB 003.")
        vnc.sendall(b"RFB 003.008\n")
        count = vnc.recv(1)[0]
        offered = set(vnc.recv(count))
    assert offered == {2}  # 2 = VNC authentication; 1 (none) is not offered


@pytest.mark.browser
def test_downloads_go_to_the_downloads_dir(browser_service: BrowserService) -> None:
    prefs = json.loads((browser_service.home / "profile/Default/Preferences").read_text())
    downloads = str(browser_service.home / "downloads")
    assert prefs["download"]["default_directory"] == downloads
    assert prefs["download"]["prompt_for_download"] is False


@pytest.mark.browser
def test_restarts_over_stale_locks_and_stops_when_a_part_dies(tmp_path: Path) -> None:
    service = BrowserService.on(
        tmp_path, NOVNC_PASSWORD="given-pw&1", NOVNC_URL="https://vps.example:6443/"
    )
    profile = tmp_path / "profile"
    profile.mkdir()
    # What a container restarted in place (or a copied profile) leaves behind.
    (profile / "SingletonLock").symlink_to("other-host-4242")
    display = service.env["BROWSER_DISPLAY"][1:]
    Path(f"/tmp/.X{display}-lock").write_text("         1\n")  # pid 1 is no Xvfb
    service.start()
    try:
        assert service.run("health").returncode == 0
        assert service.run("link").stdout.strip() == (
            "https://vps.example:6443/vnc.html?autoconnect=1&resize=scale&password=given-pw%261"
        )
        assert service.password == "given-pw&1"
        assert service.process is not None
        parts = service.parts()
        x11vnc = next(pid for pid, name in parts.items() if name == "x11vnc")
        os.kill(x11vnc, signal.SIGKILL)
        assert service.process.wait(timeout=30) == 1
    finally:
        service.stop()
    log = "".join(service.lines)
    assert f"a part (pid {x11vnc}) exited" in log and "given-pw" not in log
    assert "viewer: https://vps.example:6443/vnc.html?autoconnect=1&resize=scale (" in log
    wait_until(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in parts),
        within=10,
        what="every part stopped",
    )
    assert not Path(f"/tmp/.X{display}-lock").exists()


@pytest.mark.browser
def test_sigterm_stops_every_part(tmp_path: Path) -> None:
    service = BrowserService.on(tmp_path).start()
    parts = service.parts()
    assert set(parts.values()) >= {"Xvfb", "chromium", "x11vnc"}
    assert service.stop() == 143
    assert not [pid for pid in parts if Path(f"/proc/{pid}").exists()]
    assert service.run("health").returncode == 1


@pytest.mark.browser
def test_runs_as_a_normal_user() -> None:
    """As the image runs it (user `browser`): here as nobody, in a folder nobody owns, from a
    copy of the scripts as the image has them (the checkout may be in a folder only its owner
    can enter, such as root's home)."""
    if os.geteuid() != 0:
        pytest.skip("these tests already run as a normal user")
    home = Path(tempfile.mkdtemp(prefix="jobs-browser-nobody-"))
    try:
        os.chown(home, 65534, 65534)
        scripts = home / "opt"
        scripts.mkdir()
        for name in ("start.sh", "cdp_proxy.py"):
            shutil.copy(START.parent / name, scripts / name)
        scripts.chmod(0o755)
        service = BrowserService.on(home, HOME=str(home))
        service.script = scripts / "start.sh"
        service.prefix = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
        service.start()
        try:
            assert service.run("health").returncode == 0
            assert (home / "profile").stat().st_uid == 65534
        finally:
            assert service.stop() == 143
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.browser
def test_chromium_is_started_again_when_it_dies_and_nothing_else_is(tmp_path: Path) -> None:
    service = BrowserService.on(tmp_path).start()
    try:
        # The other parts (a short-lived bash or sleep of the script's own is no part).
        def others_now() -> dict[int, str]:
            transient = {"chromium", "bash", "sleep"}
            return {pid: name for pid, name in service.parts().items() if name not in transient}

        others = others_now()
        token = service.token_file.read_text()
        # Killed again right after it is back: the pause before the next start doubles.
        for pause in ("500 ms", "1000 ms"):
            old = service.chromium_pid()
            assert old is not None
            os.kill(old, signal.SIGKILL)

            def back(old: int = old) -> bool:
                return service.chromium_pid() not in (None, old) and service.healthy()

            def logged(old: int = old, pause: str = pause) -> bool:
                log = "".join(service.lines)
                return f"Chromium (pid {old}) exited with status 137 after" in log and (
                    f"starting it again in {pause}\n" in log
                )

            wait_until(back, within=30, what="a new Chromium answering CDP")
            wait_until(logged, within=10, what="the restart in the log")
        assert others_now() == others and len(others) == 4
        assert service.token_file.read_text() == token  # the same service run
        assert json.loads(service.get("/json/version"))["Browser"].startswith("Chrome/")
    finally:
        assert service.stop() == 143
    assert "Killed" not in "".join(service.lines)  # bash's own job notice stays out of the log
