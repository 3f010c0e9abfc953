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
from jobs.i18n.translator import Translator, english

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
        return "systemctl" if self.system else "systemctl --user"  # i18n: skip (a command)


def unit(settings: Settings, service: Service, *, python: str = sys.executable) -> str:
    """The unit file's text."""
    who = f"User={service.user}\n" if service.system else ""
    # The unit file is systemd's, not a person's message: English whatever the language.
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
"""  # i18n: skip


def install(settings: Settings, service: Service, t: Translator | None = None) -> list[str]:
    """Write the unit; the lines to show the person (what to run next), in `t`'s words."""
    t = t or english()
    if service.system and os.geteuid() != 0:
        raise JobsError("A system unit goes in /etc/systemd/system: run this with sudo.")
    existed = service.path.exists()
    service.unit_dir.mkdir(parents=True, exist_ok=True)
    service.path.write_text(unit(settings, service), encoding="utf-8")
    service.path.chmod(0o644)  # systemd reads it; it holds no secret
    lines = [
        t.gettext("Replaced {path}. Now run:", path=service.path)
        if existed
        else t.gettext("Wrote {path}. Now run:", path=service.path)
    ]
    ctl = service.systemctl
    lines.append(f"  {ctl} daemon-reload && {ctl} enable --now jobs")  # i18n: skip
    if not service.system:
        lines.append(
            t.gettext(
                "  loginctl enable-linger {user}   # keep it running after logout",
                user=service.user,
            )
        )
    journal = (
        "journalctl -u jobs -f" if service.system else "journalctl --user -u jobs -f"
    )  # i18n: skip
    lines.append(t.gettext("Its log: {command}", command=journal))
    return lines


def uninstall(service: Service, t: Translator | None = None) -> list[str]:
    t = t or english()
    if not service.path.exists():
        return [t.gettext("There is no {path}: nothing to remove.", path=service.path)]
    if service.system and os.geteuid() != 0:
        raise JobsError(f"{service.path} belongs to the system: run this with sudo.")
    service.path.unlink()
    enabled = service.unit_dir / f"{service.target}.wants" / NAME
    enabled.unlink(missing_ok=True)  # what `enable` made
    ctl = service.systemctl
    return [
        t.gettext("Removed {path}. If it is running, stop it:", path=service.path),
        f"  {ctl} stop jobs; {ctl} daemon-reload",  # i18n: skip
    ]
