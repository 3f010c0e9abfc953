"""`jobs service install|uninstall`: a systemd unit that keeps `jobs run` running without Docker,
for this user (`systemctl --user`) or, with --system, for the whole machine."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from jobs.config import Settings
from jobs.errors import JobsError

NAME: Final = "jobs.service"
SYSTEM_DIR: Final = Path("/etc/systemd/system")


@dataclass(frozen=True, slots=True)
class Service:
    """Where the unit goes and how systemctl is called for it."""

    system: bool
    user: str
    unit_dir: Path

    @classmethod
    def chosen(cls, *, system: bool, user: str | None, environ: Mapping[str, str]) -> Service:
        if system:
            return cls(True, user or environ.get("SUDO_USER") or getpass.getuser(), SYSTEM_DIR)
        if user:
            raise JobsError("--user NAME goes with --system (a user unit runs as you).")
        config = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
        return cls(False, getpass.getuser(), Path(config).expanduser() / "systemd" / "user")

    @property
    def path(self) -> Path:
        return self.unit_dir / NAME

    @property
    def target(self) -> str:
        return "multi-user.target" if self.system else "default.target"

    @property
    def systemctl(self) -> str:
        return "systemctl" if self.system else "systemctl --user"


def unit(settings: Settings, service: Service, *, python: str = sys.executable) -> str:
    """The unit file's text."""
    who = f"User={service.user}\n" if service.system else ""
    return f"""\
[Unit]
Description=Jobs, a personal assistant in your Telegram account
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
{who}Environment=JOBS_HOME={settings.jobs_home}
WorkingDirectory={settings.jobs_home}
# Not set up yet: waits for `jobs login` instead of failing over and over.
ExecStart={python} -m jobs run --wait-for-login
# Telegram unreachable at start (69), a crash: again after 10 s. /update (75) restarts too.
# A bad setting (2) is not fixed by restarting: it stays stopped until you fix it.
Restart=on-failure
RestartSec=10
RestartPreventExitStatus=2
# SIGTERM to Jobs alone: it stops its Claude processes itself, a reply in flight is redone.
KillMode=mixed
TimeoutStopSec=30
UMask=0077

[Install]
WantedBy={service.target}
"""


def install(settings: Settings, service: Service) -> list[str]:
    """Write the unit; the lines to show the person (what to run next)."""
    if service.system and os.geteuid() != 0:
        raise JobsError("A system unit goes in /etc/systemd/system: run this with sudo.")
    existed = service.path.exists()
    service.unit_dir.mkdir(parents=True, exist_ok=True)
    service.path.write_text(unit(settings, service), encoding="utf-8")
    service.path.chmod(0o644)  # systemd reads it; it holds no secret
    lines = [f"{'Replaced' if existed else 'Wrote'} {service.path}. Now run:"]
    lines.append(f"  {service.systemctl} daemon-reload && {service.systemctl} enable --now jobs")
    if not service.system:
        lines.append(f"  loginctl enable-linger {service.user}   # keep it running after logout")
    lines.append(f"Its log: journalctl {'' if service.system else '--user '}-u jobs -f")
    return lines


def uninstall(service: Service) -> list[str]:
    if not service.path.exists():
        return [f"There is no {service.path}: nothing to remove."]
    if service.system and os.geteuid() != 0:
        raise JobsError(f"{service.path} belongs to the system: run this with sudo.")
    service.path.unlink()
    enabled = service.unit_dir / f"{service.target}.wants" / NAME
    enabled.unlink(missing_ok=True)  # what `enable` made
    return [
        f"Removed {service.path}. If it is running, stop it:",
        f"  {service.systemctl} stop jobs; {service.systemctl} daemon-reload",
    ]
