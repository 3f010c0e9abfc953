"""Settings: environment and `.env` turned into one typed, validated object.

Every variable Jobs reads is a field here. A bad value stops Jobs with one message that names
the variable and says what is expected; nothing starts half-configured.
"""

from __future__ import annotations

import re
import zoneinfo
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobs.errors import ConfigError
from jobs.i18n.codes import language_code

_STRING_SESSION = re.compile(r"^1[A-Za-z0-9+/=_-]{100,}$")


class ExternalUsers(StrEnum):
    """Who, besides the owner, may talk to Jobs."""

    ALL = "all"
    CONTACTS = "contacts"
    APPROVED = "approved"
    NONE = "none"


class Settings(BaseSettings):
    """Jobs' configuration. Field names are the environment variable names, lower-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    tg_api_id: int | None = Field(default=None, gt=0, description="from my.telegram.org")
    tg_api_hash: SecretStr | None = Field(default=None, description="from my.telegram.org")
    tg_user_id: int | None = Field(default=None, gt=0, description="the owner's Telegram user id")
    tg_session: SecretStr | None = Field(
        default=None, description="path of a Telethon session file, or a StringSession string"
    )
    tg_bot_token: SecretStr | None = Field(
        default=None,
        description="the companion bot's token from @BotFather: approval cards with buttons",
    )
    anthropic_api_key: SecretStr | None = None
    claude_code_oauth_token: SecretStr | None = Field(
        default=None, description="a long-lived Claude login token from `claude setup-token`"
    )
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    http_proxy: str | None = None
    heartbeat_interval_minutes: int = Field(default=30, ge=0, le=24 * 60)
    quiet_hours: str | None = Field(
        default=None, description="e.g. 23:00-07:00 (in TIMEZONE): no heartbeat then"
    )
    memory_embedding_model: str = Field(
        default="text-embedding-3-small", min_length=1, description="model for memory vectors"
    )
    browser_cdp_url: str | None = None
    browser_token_file: Path | None = Field(
        default=None,
        description="the CDP proxy's token, written by browser/start.sh at each start "
        "(default: ~/.local/share/jobs-browser/cdp-token, where start.sh writes it)",
    )
    browser_idle_seconds: float = Field(
        default=300,
        gt=0,
        le=24 * 3600,
        description="the Playwright MCP server (≈ 140 MB) stops after this long without a "
        "browser call; the next call starts it again (≈ 1 s)",
    )
    browser_downloads_dir: Path | None = Field(
        default=None,
        description="where the browser's downloads land, so send_file can send them on "
        "(default: ~/.local/share/jobs-browser/downloads, start.sh's own default)",
    )
    novnc_url: str | None = Field(
        default=None, description="the browser viewer's address as you open it (port 6080)"
    )
    novnc_password: SecretStr | None = Field(
        default=None, description="the viewer's password (else browser/start.sh makes one)"
    )
    data_dir: Path = Path("data")
    workspace_dir: Path = Path("workspace")
    query_timeout_seconds: float = Field(default=300, gt=0, le=24 * 3600)
    model_retry_seconds: float = Field(
        default=30,
        gt=0,
        le=600,
        description="while the AI service is down, first wait before trying again (doubling "
        "up to 10 min); messages wait meanwhile",
    )
    max_live_sessions: int = Field(default=4, ge=1, le=64)
    external_users: ExternalUsers | None = None
    whisper_model: str = Field(
        default="whisper-1", min_length=1, description="model that transcribes voice messages"
    )
    update_command: str | None = Field(
        default=None, description="what /update runs instead of git pull + reinstall"
    )
    update_repo_dir: Path | None = Field(
        default=None, description="the checkout /update pulls (default: the one Jobs runs from)"
    )
    timezone: str = "UTC"
    owner_language: str | None = Field(
        default=None,
        description="the language Jobs writes to you in, e.g. ru (default: English); "
        "others get the language they write in",
    )
    log_level: str = "INFO"
    log_format: str = Field(default="text", description="json: one JSON object per log line")
    health_port: int = Field(
        default=0, ge=0, le=65535, description="serve GET /health on this port (0: off)"
    )
    health_host: str = Field(default="127.0.0.1", min_length=1)

    @field_validator("tg_api_hash")
    @classmethod
    def _api_hash_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[0-9a-fA-F]{32}", value.get_secret_value()):
            raise ValueError("expected the 32 hexadecimal characters shown on my.telegram.org")
        return value

    @field_validator("tg_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[0-9]{5,16}:[A-Za-z0-9_-]{30,}", value.get_secret_value()
        ):
            raise ValueError("expected a bot token from @BotFather, such as 123456789:AAE…")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Europe/Berlin or UTC") from None
        return value

    @field_validator("owner_language")
    @classmethod
    def _language_shape(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        code = language_code(value)
        if code is None:
            raise ValueError("expected a language code such as en or ru")
        return code

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(
            r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value
        ):
            raise ValueError("expected two 24-hour times such as 23:00-07:00")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value.lower() not in {"text", "json"}:
            raise ValueError("expected text or json")
        return value.lower()

    @field_validator("browser_cdp_url", "openai_base_url", "http_proxy", "novnc_url")
    @classmethod
    def _url_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z][a-z0-9+.-]*://[^\s/]+", value):
            raise ValueError("expected a URL such as http://host:port")
        return value

    # -- derived values -------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.data_dir / "db.sqlite"

    @property
    def telethon_session_path(self) -> Path:
        """Telethon's own SQLite session file (never the app database).

        Telethon adds `.session` to a name without it; so do we, so every path we show is real.
        """
        raw = self.tg_session.get_secret_value() if self.tg_session else ""
        if not raw or self.tg_session_is_string:
            return self.data_dir / "telethon.session"
        path = Path(raw).expanduser()
        return path if path.suffix == ".session" else path.with_name(path.name + ".session")

    @property
    def tg_session_is_string(self) -> bool:
        """True when TG_SESSION holds a StringSession string rather than a path."""
        raw = self.tg_session.get_secret_value() if self.tg_session else ""
        return bool(_STRING_SESSION.match(raw)) and "/" not in raw[:2]

    @property
    def claude_config_dir(self) -> Path:
        """Claude Code's config and transcripts: stable across restarts so sessions resume."""
        return self.data_dir / "claude"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def secret_values(self) -> list[str]:
        """Every secret set (API keys, the API hash, the session, tokens): masked wherever text
        leaves Jobs (logs, the audit table, Telegram messages)."""
        values = (
            self.tg_api_hash,
            self.tg_session,
            self.anthropic_api_key,
            self.openai_api_key,
            self.claude_code_oauth_token,
            self.novnc_password,
            self.tg_bot_token,
        )
        return [v.get_secret_value() for v in values if v is not None]

    def missing_telegram(self) -> list[str]:
        """The Telegram variables `jobs run` and `jobs login` need but are unset."""
        needed = {
            "TG_API_ID": self.tg_api_id,
            "TG_API_HASH": self.tg_api_hash,
            "TG_USER_ID": self.tg_user_id,
        }
        return [name for name, value in needed.items() if value is None]

    def require_telegram(self) -> None:
        """Raise ConfigError unless everything Telegram needs is set."""
        missing = self.missing_telegram()
        if missing:
            raise ConfigError(
                f"{', '.join(missing)} not set: put them in .env or the environment "
                "(TG_API_ID and TG_API_HASH come from https://my.telegram.org, "
                "TG_USER_ID is the owner's numeric Telegram id).",
                variable=missing[0],
            )


def load_settings(env_file: Path | None = Path(".env"), **overrides: Any) -> Settings:
    """Read the settings, or raise one ConfigError naming every bad variable."""
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc), variable=_first_variable(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = ["Configuration is not valid:"]
    for err in exc.errors():
        name = str(err["loc"][0]).upper() if err["loc"] else "?"
        got = err.get("input")
        shown = "" if name.endswith(("HASH", "KEY", "SESSION", "TOKEN")) else f" (got {got!r})"
        msg = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"  {name}: {msg}{shown}")
    return "\n".join(lines)


def _first_variable(exc: ValidationError) -> str | None:
    errors = exc.errors()
    return str(errors[0]["loc"][0]).upper() if errors and errors[0]["loc"] else None
