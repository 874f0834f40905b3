"""Settings: the only place remedy reads its environment.

Every variable keeps the name operators know (``SLACK_BOT_TOKEN``, ``JIRA_URL`` …); a ``.env``
file in the working directory is read too. Each process asks for what it needs with
:meth:`Settings.require`, so ``remedy worker`` does not demand a Slack app token and the
operator gets one clear line naming every missing variable instead of a traceback.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///remedy.db"


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable(s)."""


def _check_url(value: str | None, schemes: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise ValueError(f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_APP_TOKEN: SecretStr | None = None
    SLACK_API_URL: str = DEFAULT_SLACK_API_URL
    JIRA_URL: str | None = None
    JIRA_EMAIL: str | None = None
    JIRA_API_TOKEN: SecretStr | None = None
    JAMF_URL: str | None = None
    JAMF_CLIENT_ID: str | None = None
    JAMF_CLIENT_SECRET: SecretStr | None = None
    OLLAMA_HOST: str | None = None
    OLLAMA_MODEL: str = "llama3.2:3b"
    # How long one model call may take before remedy words it from a template instead (the roadmap
    # measures 2–3 s for llama3.2:3b); after a failure the model is skipped for REMEDY_LLM_COOLDOWN s.
    OLLAMA_TIMEOUT: Annotated[float, Field(gt=0, le=120)] = 8.0
    REMEDY_LLM_COOLDOWN: Annotated[float, Field(ge=0, le=3600)] = 60.0
    REDIS_URL: str = "redis://127.0.0.1:6379/0"
    DATABASE_URL: str = DEFAULT_DATABASE_URL
    REMEDY_CONFIG_DIR: Path | None = None
    # Where the team channel lives when a command comes from a DM or App Home.
    REMEDY_HOME_CHANNEL: str | None = None
    # Where phase changes and go/no-go decisions are announced, threaded per ticket; unset = only the
    # tickets' Jira watchers are told (by DM).
    REMEDY_STAKEHOLDER_CHANNEL: str | None = None
    # Where the weekly executive summary is posted (Mondays, by `remedy cron`); unset = no weekly post.
    REMEDY_LEADERSHIP_CHANNEL: str | None = None
    REMEDY_QUEUE: str = "remedy"
    # Seconds between a failed job's retries; its length is the number of retries.
    REMEDY_RETRY_DELAYS: list[Annotated[int, Field(ge=0, le=3600)]] = [3, 15]
    # Tries per Jira call on 429/5xx (Retry-After honoured, jittered backoff up to 30 s between).
    REMEDY_JIRA_TRIES: Annotated[int, Field(ge=1, le=10)] = 4
    # How long one call to an outside service may take before we give up on it.
    REMEDY_HTTP_TIMEOUT: Annotated[float, Field(gt=0, le=120)] = 10.0
    # Circuit breaker (remedy.circuit): after this many consecutive failed Jira (or Jamf) calls, each
    # after its own retries, calls to that service fail at once for REMEDY_CIRCUIT_COOLDOWN s. 0 = off.
    REMEDY_CIRCUIT_FAILURES: Annotated[int, Field(ge=0, le=1000)] = 5
    REMEDY_CIRCUIT_COOLDOWN: Annotated[float, Field(gt=0, le=3600)] = 30.0
    # A go/no-go card older than this is re-checked when Go is pressed instead of obeyed.
    REMEDY_DECISION_MAX_AGE_HOURS: Annotated[float, Field(gt=0, le=168)] = 4.0
    # Shared secret Jamf sends in the webhook's authentication header; unset = webhooks refused.
    REMEDY_JAMF_WEBHOOK_SECRET: SecretStr | None = None
    # Base URL of the distribution point Macs download packages from (`validate package` reads
    # `{REMEDY_PACKAGE_SOURCE}/{file name}`), e.g. https://dp.example.com/CasperShare/Packages.
    # Unset: packages cannot be inspected, so their validation fails and says so.
    REMEDY_PACKAGE_SOURCE: str | None = None
    # Days of audit trail to keep; older events are deleted by `remedy audit prune` (and the daily cron
    # job), which records what it deleted so the chain still verifies. Unset: kept forever.
    REMEDY_AUDIT_RETENTION_DAYS: Annotated[int, Field(ge=30, le=36500)] | None = None
    # Bulk writes (`batch comment`, `close all resolved`) to more tickets than this need the lead role.
    REMEDY_BULK_LEAD_OVER: Annotated[int, Field(ge=1, le=1000)] = 25
    # Jira writes per second a bulk command keeps to (Jira Cloud answers 429 beyond its budget), and
    # how many it keeps in flight to fill that rate despite each call's latency.
    REMEDY_BULK_JIRA_RATE: Annotated[float, Field(gt=0, le=1000)] = 10.0
    REMEDY_BULK_WORKERS: Annotated[int, Field(ge=1, le=32)] = 8

    @field_validator("SLACK_API_URL", "JIRA_URL", "JAMF_URL", "OLLAMA_HOST", "REMEDY_PACKAGE_SOURCE")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_url(value, ("http", "https"))

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        checked = _check_url(value, ("redis", "rediss", "unix"))
        if checked is None:
            raise ValueError("must not be empty")
        return checked

    @field_validator("SLACK_API_URL")
    @classmethod
    def _slash(cls, value: str) -> str:
        # slack_sdk joins method names straight onto base_url.
        return value if value.endswith("/") else value + "/"

    @field_validator("REMEDY_CONFIG_DIR")
    @classmethod
    def _config_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        return value

    def require(self, *names: str) -> None:
        """Raise :class:`ConfigError` naming every variable in ``names`` that is unset."""
        missing = [n for n in names if getattr(self, n) in (None, "")]
        if missing:
            raise ConfigError(
                f"missing setting{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                "(set in the environment or in .env; see README 'Configuration')"
            )

    def secret(self, name: str) -> str:
        """The plain value of a secret setting; raises ConfigError if unset."""
        self.require(name)
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else str(value)

    @property
    def socket_mode(self) -> bool:
        return self.SLACK_APP_TOKEN is not None


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and .env); turn validation errors into ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            lines.append(f"{name}: {err['msg']}")
        raise ConfigError("bad setting " + "; ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return load_settings()
