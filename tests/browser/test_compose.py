"""docker-compose.yml and the two Dockerfiles, checked without Docker (it cannot run here):
their structure, that they agree with each other and with the code, and the jobs healthcheck
command run for real against Jobs' own run lock."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

from jobs.config import load_settings
from jobs.errors import StorageError
from jobs.features import browser_downloads
from jobs.health import Health
from tests.browser.service import ROOT, free_port

VOLUMES = {"jobs-data", "jobs-workspace", "browser-profile", "browser-downloads", "browser-token"}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def interpolate(value: str) -> str:
    """Compose's interpolation with nothing set: `${X:-default}` → default, `$$` → `$`."""
    assert not re.search(r"\$\{[A-Za-z_]+\}|\$[A-Za-z_]", value.replace("$$", "")), value
    return re.sub(r"\$\{[A-Za-z_]+:-([^}]*)\}", r"\1", value).replace("$$", "$")


def dockerfile(path: Path) -> dict[str, list[str]]:
    """Instruction → its arguments, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.setdefault(word.upper(), []).append(rest.strip())
    return found


def env_of(instructions: dict[str, list[str]]) -> dict[str, str]:
    words = [word for line in instructions["ENV"] for word in shlex.split(line)]
    return dict(word.split("=", 1) for word in words)


def test_services_volumes_and_policies() -> None:
    spec = compose()
    assert set(spec["services"]) == {"jobs", "browser"}
    assert set(spec["volumes"]) == VOLUMES
    for name, service in spec["services"].items():
        assert service["restart"] == "unless-stopped", name
        assert service["init"] is True, name
        check = service["healthcheck"]
        assert check["test"][0] == "CMD" and check["retries"] >= 1, name
        for key in ("interval", "timeout", "start_period"):
            assert re.fullmatch(r"\d+s", check[key]), (name, key)
        for mount in service["volumes"]:
            assert mount.split(":")[0] in VOLUMES, mount
    assert re.fullmatch(r"\d+[mg]b", compose()["services"]["browser"]["shm_size"])


def test_builds_point_at_dockerfiles_that_run_as_normal_users() -> None:
    for name, service in compose()["services"].items():
        context = ROOT / service["build"]
        built = dockerfile(context / "Dockerfile")
        assert built["USER"][-1] not in ("root", "0"), name
        assert built["HEALTHCHECK"], name
        for line in built.get("COPY", []):
            sources = [w for w in shlex.split(line) if not w.startswith("--")][:-1]
            for source in sources:
                assert (context / source).exists(), (name, source)


def test_browser_mounts_where_start_sh_keeps_profile_downloads_and_token() -> None:
    service = compose()["services"]["browser"]
    env = env_of(dockerfile(ROOT / "browser" / "Dockerfile"))
    mounts = dict(m.split(":")[:2] for m in service["volumes"])
    assert mounts["browser-profile"] == env["BROWSER_PROFILE_DIR"]
    assert mounts["browser-downloads"] == env["BROWSER_DOWNLOADS_DIR"]
    assert Path(env["BROWSER_TOKEN_FILE"]).parent == Path(mounts["browser-token"])
    assert env["CDP_PROXY_BIND"] == env["NOVNC_BIND"] == "0.0.0.0"
    assert service["healthcheck"]["test"][1:] == ["/opt/browser/start.sh", "health"]
    entry = dockerfile(ROOT / "browser" / "Dockerfile")["ENTRYPOINT"][0]
    assert entry == '["/opt/browser/start.sh"]'


def test_only_the_viewer_is_published_and_jobs_reaches_cdp_by_name() -> None:
    spec = compose()["services"]
    published = [interpolate(p) for p in spec["browser"]["ports"]]
    assert published == ["127.0.0.1:6080:6080"]  # loopback unless NOVNC_PUBLISH says otherwise
    assert "ports" not in spec["jobs"]
    assert spec["browser"]["expose"] == ["9223"]
    assert spec["jobs"]["environment"]["BROWSER_CDP_URL"] == "http://browser:9223"
    assert spec["jobs"]["depends_on"]["browser"]["condition"] == "service_started"
    assert interpolate(spec["browser"]["environment"]["NOVNC_PASSWORD"]) == ""
    # The proxy answers the name Jobs uses, and nothing but loopback names besides.
    env = env_of(dockerfile(ROOT / "browser" / "Dockerfile"))
    assert env["CDP_PROXY_HOSTS"] == "browser"


def test_jobs_reads_the_token_and_may_send_the_downloads() -> None:
    jobs = compose()["services"]["jobs"]
    mounts = {m.split(":")[0]: m.split(":")[1:] for m in jobs["volumes"]}
    environment = jobs["environment"]
    assert mounts["browser-token"] == ["/browser-token", "ro"]
    assert Path(environment["BROWSER_TOKEN_FILE"]).parent == Path("/browser-token")
    assert mounts["browser-downloads"] == ["/downloads", "ro"]
    settings = load_settings(None, **{k.lower(): v for k, v in environment.items()})
    assert browser_downloads(settings) == Path("/downloads")  # send_file's second root
    assert not Path("/downloads").is_relative_to(environment["WORKSPACE_DIR"])


def test_the_logged_viewer_link_works_from_the_host() -> None:
    """Not the container's id as host: localhost, where compose publishes the viewer, unless
    NOVNC_URL (also read by Jobs) says where it is opened."""
    env = env_of(dockerfile(ROOT / "browser" / "Dockerfile"))
    assert env["NOVNC_HOST"] == "localhost"
    browser = compose()["services"]["browser"]
    assert browser["environment"]["NOVNC_URL"] == "${NOVNC_URL:-}"


def test_the_browser_image_carries_no_node() -> None:
    """Debian's novnc package depends on nodejs, which nothing in the image runs: only its
    pages are unpacked (apt-get download + dpkg-deb -x), never installed with apt."""
    run = " ".join(dockerfile(ROOT / "browser" / "Dockerfile")["RUN"])
    installed = run.split("apt-get install", 1)[1].split("&&", 1)[0].split()
    assert "novnc" not in installed and "nodejs" not in installed
    assert "--no-install-recommends" in installed
    assert "apt-get download novnc" in run and "dpkg-deb -x novnc_" in run


def test_browser_image_installs_what_start_sh_runs() -> None:
    run = " ".join(dockerfile(ROOT / "browser" / "Dockerfile")["RUN"])
    for package in ("chromium", "xvfb", "x11vnc", "websockify", "python3"):
        assert re.search(rf"\s{package}\s", run), package
    assert "/usr/share/novnc/vnc.html" in run  # where start.sh looks (NOVNC_WEB)


def test_jobs_image_installs_the_pinned_mcp_server_and_runs_jobs() -> None:
    built = dockerfile(ROOT / "Dockerfile")
    run = " ".join(built["RUN"])
    assert "cd browser" in run and "npm ci" in run
    assert built["CMD"] == ['["jobs", "run", "--wait-for-login"]']  # no restart loop before login
    assert "-r requirements.lock" in run and "--no-deps -e /app" in run  # the pinned versions
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["jobs"] == "jobs.cli:main"
    env = env_of(built)
    assert env["DATA_DIR"] == "/data" and env["WORKSPACE_DIR"] == "/workspace"
    assert env["JOBS_HOME"] == "/data"  # `jobs login` in a container saves to the data volume
    mounts = dict(m.split(":")[:2] for m in compose()["services"]["jobs"]["volumes"])
    assert mounts["jobs-data"] == "/data" and mounts["jobs-workspace"] == "/workspace"


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for pattern in (".env", "*.session", "data/", "workspace/", ".venv/", "**/node_modules/"):
        assert pattern in ignored, pattern


async def test_jobs_healthcheck_is_healthy_exactly_while_health_says_so(tmp_path: Path) -> None:
    command = [interpolate(part) for part in compose()["services"]["jobs"]["healthcheck"]["test"]]
    dockerfile_check = dockerfile(ROOT / "Dockerfile")["HEALTHCHECK"][0]
    assert dockerfile_check.endswith(
        "CMD " + '["' + '", "'.join(c.replace('"', '\\"') for c in command[1:]) + '"]'
    )
    assert env_of(dockerfile(ROOT / "Dockerfile"))["HEALTH_PORT"] != "0"
    assert command[1:] == ["jobs", "health"]
    command[1:2] = [sys.executable, "-m", "jobs"]  # the image's `jobs`; here the test's
    database_up = [True]

    async def depth() -> int:
        if not database_up[0]:
            raise StorageError("database is locked")
        return 0

    health = Health(host="127.0.0.1", port=0, db_depth=depth)
    serving = asyncio.create_task(health.run())
    await health.serving.wait()

    async def healthy() -> bool:
        env = {**os.environ, "HEALTH_PORT": str(health.bound_port)}
        proc = await asyncio.create_subprocess_exec(
            *command[1:], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return await proc.wait() == 0

    assert await healthy()
    database_up[0] = False
    assert not await healthy()
    serving.cancel()
    await asyncio.gather(serving, return_exceptions=True)
    assert not await healthy()


async def test_jobs_health_off_and_before_login(tmp_path: Path) -> None:
    """HEALTH_PORT=0 is healthy (nothing to ask, never "unhealthy forever"); before `jobs
    login` the check fails saying it waits for the login."""
    command = [sys.executable, "-m", "jobs", "health"]
    env = {**os.environ, "HEALTH_PORT": "0"}
    off = await asyncio.create_subprocess_exec(*command, env=env, stdout=subprocess.PIPE)
    out, _ = await off.communicate()
    assert off.returncode == 0 and b"HEALTH_PORT=0" in out
    env["HEALTH_PORT"] = str(free_port())
    waiting = await asyncio.create_subprocess_exec(*command, env=env, stderr=subprocess.PIPE)
    _, err = await waiting.communicate()
    assert waiting.returncode == 1
    assert err.decode().startswith("Not started: waiting for `jobs login` (TG_API_ID")
