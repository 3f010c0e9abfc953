"""browser/start.sh without Docker: it brings up CDP (through the proxy) and noVNC, survives
a profile and display lock left by another run, supervises its parts and stops them all."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import START, BrowserService


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as reply:  # loopback only
        body: bytes = reply.read()
        return body


def children(pid: int) -> dict[int, str]:
    """Direct child processes of `pid`: pid → command name."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found[int(entry.name)] = comm
    return found


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
    version = json.loads(get(browser_service.cdp_url + "/json/version"))
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
    info = json.loads(get(browser_service.cdp_url + "/jobs-browser/novnc"))
    assert info == {"port": port, "password": password}


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
    service = BrowserService.on(tmp_path, NOVNC_PASSWORD="given-pw&1")
    profile = tmp_path / "profile"
    profile.mkdir()
    # What a container restarted in place (or a copied profile) leaves behind.
    (profile / "SingletonLock").symlink_to("other-host-4242")
    display = service.env["BROWSER_DISPLAY"][1:]
    Path(f"/tmp/.X{display}-lock").write_text("         1\n")  # pid 1 is no Xvfb
    service.start()
    try:
        assert service.run("health").returncode == 0
        assert service.run("link").stdout.strip().endswith("password=given-pw%261")
        assert service.password == "given-pw&1"
        assert service.process is not None
        parts = children(service.process.pid)
        chromium = next(pid for pid, name in parts.items() if name == "chromium")
        os.kill(chromium, signal.SIGKILL)
        assert service.process.wait(timeout=30) == 1
    finally:
        service.stop()
    assert f"a part (pid {chromium}) exited" in "".join(service.lines)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in parts) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in parts if Path(f"/proc/{pid}").exists()]
    assert not Path(f"/tmp/.X{display}-lock").exists()


@pytest.mark.browser
def test_sigterm_stops_every_part(tmp_path: Path) -> None:
    service = BrowserService.on(tmp_path).start()
    assert service.process is not None
    parts = children(service.process.pid)
    assert set(parts.values()) >= {"Xvfb", "chromium", "x11vnc"}
    assert service.stop() == 143
    assert not [pid for pid in parts if Path(f"/proc/{pid}").exists()]
    assert service.run("health").returncode == 1


@pytest.mark.browser
def test_runs_as_a_normal_user() -> None:
    """As the image runs it (user `browser`): here as nobody, in a folder nobody owns."""
    if os.geteuid() != 0:
        pytest.skip("these tests already run as a normal user")
    home = Path(tempfile.mkdtemp(prefix="jobs-browser-nobody-"))
    try:
        os.chown(home, 65534, 65534)
        service = BrowserService.on(home, HOME=str(home))
        service.prefix = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
        service.start()
        try:
            assert service.run("health").returncode == 0
            assert (home / "profile").stat().st_uid == 65534
        finally:
            assert service.stop() == 143
    finally:
        shutil.rmtree(home, ignore_errors=True)
