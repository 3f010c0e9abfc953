"""Settings: environment and `.env` turned into one typed, validated object.

Every variable Jobs reads is a field here. A bad value stops Jobs with one message that names
the variable and says what is expected; nothing starts half-configured.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from jobs.errors import ConfigError
from jobs.home import default_home, env_file
from jobs.i18n.codes import language_code
from jobs.proxy import Proxy, parse_proxy
from jobs.spend_terms import Limit, Models, parse_limit, parse_models

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
    tg_proxy: SecretStr | None = Field(
        default=None,
        description="socks5://[user:pass@]host:port, http://host:port or mtproxy://SECRET@host:port",
    )
    tg_connect_timeout_seconds: float = Field(
        default=25,  # with starting up and stopping, `jobs run` gives up in under 30 s
        gt=0,
        le=600,
        description="at start, give up on reaching Telegram after this long (a supervisor retries)",
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
    jobs_home: Path = Field(
        default_factory=lambda: default_home(os.environ),
        description="where .env, data/ and workspace/ live (see jobs.home)",
    )
    data_dir: Path = Field(default=Path("data"), description="relative: inside JOBS_HOME")
    workspace_dir: Path = Field(default=Path("workspace"), description="relative: inside JOBS_HOME")
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
    owner_model: Annotated[Models, NoDecode] = Field(
        default=Models(),
        description="the owner's model: opus, sonnet, haiku, a claude-… id or default "
        "(Claude Code's), optionally a fallback after a comma: opus,sonnet",
    )
    people_model: Annotated[Models, NoDecode] = Field(
        default=Models("haiku"), description="other people's model (a cheaper one)"
    )
    task_model: Annotated[Models, NoDecode] = Field(
        default=Models(), description="delegated tasks' model"
    )
    trigger_model: Annotated[Models, NoDecode] = Field(
        default=Models("haiku"), description="the model that reads watched channels' posts"
    )
    budget_person_daily: Annotated[Limit | None, NoDecode] = Field(
        default=Limit(0.5, "usd"), description="what each other person may cost a day"
    )
    budget_task_daily: Annotated[Limit | None, NoDecode] = Field(
        default=Limit(2.0, "usd"), description="what each delegated task may cost a day"
    )
    budget_triggers_daily: Annotated[Limit | None, NoDecode] = Field(
        default=Limit(1.0, "usd"),
        description="what schedules, the heartbeat and watched channels may cost a day together",
    )
    budget_owner_daily: Annotated[Limit | None, NoDecode] = Field(
        default=None, description="what the owner's own messages may cost a day (off)"
    )
    budget_monthly: Annotated[Limit | None, NoDecode] = Field(
        default=None, description="what everything may cost a month; the owner's messages go on"
    )

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

    @field_validator("tg_proxy")
    @classmethod
    def _proxy_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_proxy(value.get_secret_value())
        return value

    @field_validator("owner_model", "people_model", "task_model", "trigger_model", mode="before")
    @classmethod
    def _model_names(cls, value: object) -> object:
        return parse_models(value) if isinstance(value, str) else value

    @field_validator(
        "budget_person_daily",
        "budget_task_daily",
        "budget_triggers_daily",
        "budget_owner_daily",
        "budget_monthly",
        mode="before",
    )
    @classmethod
    def _budget_shape(cls, value: object) -> object:
        return parse_limit(value) if isinstance(value, str) else value

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

    @model_validator(mode="after")
    def _inside_home(self) -> Settings:
        # Never the current folder: `jobs doctor` run from /tmp must not make /tmp/data.
        self.jobs_home = self.jobs_home.expanduser().absolute()
        self.data_dir = self.jobs_home / self.data_dir.expanduser()
        self.workspace_dir = self.jobs_home / self.workspace_dir.expanduser()
        return self

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
        path = self.jobs_home / Path(raw).expanduser()
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
    def telegram_proxy(self) -> Proxy | None:
        """TG_PROXY parsed (checked when the settings were read)."""
        return parse_proxy(self.tg_proxy.get_secret_value()) if self.tg_proxy else None

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
        found = [v.get_secret_value() for v in values if v is not None]
        if self.tg_proxy is not None:
            url = self.tg_proxy.get_secret_value()
            found += [url, *parse_proxy(url).secrets()]
        if self.http_proxy and (password := urlsplit(self.http_proxy).password):
            found.append(password)
        return found

    def missing_telegram(self, *, owner: bool = True) -> list[str]:
        """The Telegram variables `jobs run` needs but are unset (`owner`: TG_USER_ID too;
        logging in needs only the application's)."""
        needed = {"TG_API_ID": self.tg_api_id, "TG_API_HASH": self.tg_api_hash}
        if owner:
            needed["TG_USER_ID"] = self.tg_user_id
        return [name for name, value in needed.items() if value is None]

    def require_telegram(self, *, owner: bool = True) -> None:
        """Raise ConfigError unless everything Telegram needs is set."""
        missing = self.missing_telegram(owner=owner)
        if missing:
            raise ConfigError(
                f"{', '.join(missing)} not set: put them in .env or the environment "
                "(TG_API_ID and TG_API_HASH come from https://my.telegram.org, "
                "TG_USER_ID is the owner's numeric Telegram id).",
                variable=missing[0],
            )


def default_env_file() -> Path:
    """The .env of the Jobs home (JOBS_HOME, see jobs.home)."""
    return env_file(default_home(os.environ))


def load_settings(env_path: Path | None = None, **overrides: Any) -> Settings:
    """Read the environment and `env_path` (a .env file, when it exists), or raise one
    ConfigError naming every bad variable."""
    path = env_path if env_path is not None and env_path.is_file() else None
    try:
        return Settings(_env_file=path, **overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc), variable=_first_variable(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = ["Configuration is not valid:"]
    for err in exc.errors():
        name = str(err["loc"][0]).upper() if err["loc"] else "?"
        got = err.get("input")
        secret = name.endswith(("HASH", "KEY", "SESSION", "PROXY", "TOKEN", "PASSWORD"))
        shown = "" if secret else f" (got {got!r})"
        msg = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"  {name}: {msg}{shown}")
    return "\n".join(lines)


def _first_variable(exc: ValidationError) -> str | None:
    errors = exc.errors()
    return str(errors[0]["loc"][0]).upper() if errors and errors[0]["loc"] else None
