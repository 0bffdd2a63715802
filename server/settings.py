"""Settings, read once at start-up from the environment (prefix-free names, or a `.env` file)."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from server.sending import SEND_DEADLINE_S

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DATABASE_URL_FORM = "postgresql://user:password@host:5432/db"
DATABASE_URL_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")
SMTP_URL_FORM = "smtp://user:password@host:587 (or smtps://...:465)"
SMTP_URL_SCHEMES = ("smtp", "smtps")


class SettingsError(Exception):
    """Settings that cannot be used; the message has one line per bad variable, naming it."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Introspection(StrEnum):
    """Who may explore the schema: introspection (`__schema`, `__type`) and the "Did you
    mean …?" suggestions of error messages."""

    OFF = "off"
    MEMBERS = "members"  # signed-in callers
    EVERYONE = "everyone"


class TrustedDocuments(StrEnum):
    """Who may run only trusted documents (`backlog operations push`)."""

    OFF = "off"  # anyone may run any document
    ANONYMOUS = "anonymous"  # callers without credentials
    EVERYONE = "everyone"


CommaSeparated = Annotated[tuple[str, ...], NoDecode]


MAX_POINTS = 2**31 - 1
"""The most a budget may hold: `RateLimit.limit` is a GraphQL `Int`, 32 bits."""


def _budget(default: int, alias: str, description: str, *, least: int = 0) -> Any:
    """A rate-limit budget: points (or operations) per window."""
    return Field(default=default, ge=least, le=MAX_POINTS, alias=alias, description=description)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        description="postgresql://user:password@host:port/db; unset = embedded PostgreSQL.",
    )
    # Production unless asked: a deployment that forgets the variable must not serve every
    # anonymous request as the demo owner. `backlog serve` on the embedded database asks.
    backlog_env: Environment = Environment.PRODUCTION
    data_dir: Path = Field(
        default=PROJECT_ROOT / ".backlog",
        alias="BACKLOG_DATA_DIR",
        description="Where the embedded PostgreSQL keeps its data (development only).",
    )
    demo_viewer_email: str = Field(
        default="demo@backlog.dev",
        alias="BACKLOG_DEMO_VIEWER",
        description="In development, requests without credentials act as this user.",
    )

    jwt_secret: str | None = Field(
        default=None,
        alias="BACKLOG_JWT_SECRET",
        description="Signs access tokens (32+ bytes); required in production. In development a "
        "random one is made once and kept in BACKLOG_DATA_DIR.",
    )
    jwt_issuer: str = Field(default="backlog", alias="BACKLOG_JWT_ISSUER")
    jwt_audience: str = Field(default="backlog-api", alias="BACKLOG_JWT_AUDIENCE")
    access_token_minutes: int = Field(default=15, alias="BACKLOG_ACCESS_TOKEN_MINUTES")
    refresh_token_days: int = Field(default=30, alias="BACKLOG_REFRESH_TOKEN_DAYS")
    sign_in_failures_per_account: int = Field(
        default=5, alias="BACKLOG_SIGN_IN_FAILURES_PER_ACCOUNT"
    )
    sign_in_failures_per_address: int = Field(
        default=30, alias="BACKLOG_SIGN_IN_FAILURES_PER_ADDRESS"
    )
    sign_in_throttle_minutes: int = Field(default=15, alias="BACKLOG_SIGN_IN_THROTTLE_MINUTES")

    db_pool_size: int = Field(default=10, alias="BACKLOG_DB_POOL_SIZE")
    statement_timeout_ms: int = Field(default=5000, alias="BACKLOG_STATEMENT_TIMEOUT_MS")

    max_query_depth: int = Field(default=12, alias="BACKLOG_MAX_QUERY_DEPTH")
    max_aliases: int = Field(default=30, alias="BACKLOG_MAX_ALIASES")
    max_tokens: int = Field(default=2000, alias="BACKLOG_MAX_TOKENS")
    max_cost: int = Field(default=50_000, ge=1, alias="BACKLOG_MAX_COST")
    query_deadline_s: float = Field(default=8.0, gt=0, alias="BACKLOG_QUERY_DEADLINE_S")
    max_body_bytes: int = Field(default=100_000, alias="BACKLOG_MAX_BODY_BYTES")

    # Rate limits (server/rate_limit.py): points per window; 0 turns a budget off.
    rate_limit: int = _budget(
        2_000, "BACKLOG_RATE_LIMIT", "Points a user may spend per window (0: no rate limits)."
    )
    anonymous_rate_limit: int = _budget(
        300,
        "BACKLOG_ANONYMOUS_RATE_LIMIT",
        "Points an anonymous client address may spend per window.",
        least=1,
    )
    account_rate_limit: int = _budget(
        10,
        "BACKLOG_ACCOUNT_RATE_LIMIT",
        "Sign-ups, sign-ins, token refreshes, password changes and resets, and invitations "
        "per client address per window (0: no such limit).",
    )
    rate_limit_window_s: int = Field(
        default=60, ge=1, le=86_400, alias="BACKLOG_RATE_LIMIT_WINDOW_S"
    )

    # Production defaults: what an anonymous caller may learn, and what the HTTP layer allows.
    introspection_setting: Introspection | None = Field(
        default=None,
        alias="BACKLOG_INTROSPECTION",
        description="off | members | everyone; unset: members in production, everyone in "
        "development.",
    )
    graphiql_setting: bool | None = Field(
        default=None,
        alias="BACKLOG_GRAPHIQL",
        description="Serve GraphiQL at GET /graphql; unset: in development only.",
    )
    cors_origins: CommaSeparated = Field(
        default=(),
        alias="BACKLOG_CORS_ORIGINS",
        description="Origins (scheme://host[:port]) whose pages may call the API; `*`: any.",
    )
    trusted_proxies: CommaSeparated = Field(
        default=(),
        alias="BACKLOG_TRUSTED_PROXIES",
        description="Addresses or networks whose X-Forwarded-For/-Proto are believed.",
    )
    trusted_documents: TrustedDocuments = Field(
        default=TrustedDocuments.OFF,
        alias="BACKLOG_TRUSTED_DOCUMENTS",
        description="off | anonymous | everyone: who may run only trusted documents.",
    )
    max_header_bytes: int = Field(default=65_536, ge=1024, alias="BACKLOG_MAX_HEADER_BYTES")
    header_timeout_s: float = Field(default=10.0, gt=0, alias="BACKLOG_HEADER_TIMEOUT_S")
    body_timeout_s: float = Field(default=10.0, gt=0, alias="BACKLOG_BODY_TIMEOUT_S")

    # Subscriptions (server/live.py, server/websocket.py).
    ws_init_timeout_s: float = Field(default=10.0, gt=0, alias="BACKLOG_WS_INIT_TIMEOUT_S")
    ws_keepalive_s: float = Field(default=15.0, gt=0, alias="BACKLOG_WS_KEEPALIVE_S")
    ws_max_message_bytes: int = Field(default=65_536, ge=1024, alias="BACKLOG_WS_MAX_MESSAGE_BYTES")
    ws_max_subscriptions: int = Field(default=100, ge=1, alias="BACKLOG_WS_MAX_SUBSCRIPTIONS")
    ws_max_subscriptions_per_user: int = Field(
        default=200, ge=1, alias="BACKLOG_WS_MAX_SUBSCRIPTIONS_PER_USER"
    )
    ws_max_connections_per_user: int = Field(
        default=50, ge=1, alias="BACKLOG_WS_MAX_CONNECTIONS_PER_USER"
    )
    ws_max_queued: int = Field(default=1000, ge=1, alias="BACKLOG_WS_MAX_QUEUED")
    ws_recheck_s: float = Field(default=60.0, gt=0, alias="BACKLOG_WS_RECHECK_S")
    # Off by default, as Node's `ws` has it: compressing each small event for each connection
    # cost the live workload 70% more server CPU per delivery (README "Live updates").
    ws_compression: bool = Field(default=False, alias="BACKLOG_WS_COMPRESSION")

    # Email (server/mail.py), sent by the outbox worker.
    smtp_url: str | None = Field(
        default=None,
        alias="BACKLOG_SMTP_URL",
        description="smtp://[user:password@]host[:port] (STARTTLS when the server offers it) "
        "or smtps://... (TLS from the start); unset: email waits in the outbox (with the "
        "embedded database, `backlog serve` runs a local mail sink instead).",
    )
    mail_from: str = Field(
        default="Backlog <noreply@backlog.localhost>",
        alias="BACKLOG_MAIL_FROM",
        description="The From of every email.",
    )
    app_url: str = Field(
        default="http://127.0.0.1:8000",
        alias="BACKLOG_APP_URL",
        description="The web app's address, which links in emails point at (accepting an "
        "invitation, resetting a password, unsubscribing).",
    )
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=60, alias="BACKLOG_SMTP_TIMEOUT_S")
    password_reset_minutes: int = Field(
        default=60, ge=1, le=24 * 60, alias="BACKLOG_PASSWORD_RESET_MINUTES"
    )
    password_reset_emails: int = Field(
        default=3,
        ge=1,
        alias="BACKLOG_PASSWORD_RESET_EMAILS",
        description="Password reset emails an account is sent at most per "
        "BACKLOG_PASSWORD_RESET_MINUTES; asking for more answers the same and sends nothing.",
    )

    # The outbox worker (server/worker.py): webhooks and email leave through it.
    outbox_worker: bool = Field(
        default=True,
        alias="BACKLOG_OUTBOX_WORKER",
        description="Run an outbox worker inside each server process; false when deployments "
        "run `backlog worker` processes of their own.",
    )
    outbox_concurrency: int = Field(default=4, ge=1, le=64, alias="BACKLOG_OUTBOX_CONCURRENCY")
    outbox_poll_s: float = Field(default=1.0, gt=0, le=60, alias="BACKLOG_OUTBOX_POLL_S")
    outbox_retention_days: int = Field(default=30, ge=1, alias="BACKLOG_OUTBOX_RETENTION_DAYS")

    # Webhooks (resolvers/webhooks.py checks URLs; server/webhooks.py and
    # server/outbound.py send).
    webhook_allow_private: bool = Field(
        default=False,
        alias="BACKLOG_WEBHOOK_ALLOW_PRIVATE",
        description="Let webhooks use http:// and loopback, private and link-local addresses "
        "in production too (development always may): for tests and closed networks.",
    )
    webhook_timeout_s: float = Field(
        default=10.0,
        gt=0,
        lt=SEND_DEADLINE_S,
        alias="BACKLOG_WEBHOOK_TIMEOUT_S",
        description="The most one delivery may take, from resolving the host to reading the "
        "response; below the worker's deadline for any send.",
    )
    webhook_disable_after_days: int = Field(
        default=5,
        ge=1,
        alias="BACKLOG_WEBHOOK_DISABLE_AFTER_DAYS",
        description="Disable a webhook whose deliveries have failed for this many days.",
    )

    # Bench-only: resolve every relation with its own query, to measure what the loaders save.
    loaders_enabled: bool = Field(default=True, alias="BACKLOG_LOADERS_ENABLED")
    # Bench and tests: run queries with graphql-core's executor instead of execution.engine.
    level_executor: bool = Field(default=True, alias="BACKLOG_LEVEL_EXECUTOR")

    @field_validator("database_url")
    @classmethod
    def _database_url_is_postgresql(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in DATABASE_URL_SCHEMES:
            raise ValueError(f"not a PostgreSQL URL; it must look like {DATABASE_URL_FORM}")
        try:
            _ = parts.port  # parsed on access: a port that is not a number raises
        except ValueError as error:
            raise ValueError(f"{error} (it must look like {DATABASE_URL_FORM})") from None
        return url

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_is_smtp(cls, url: str | None) -> str | None:
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in SMTP_URL_SCHEMES or not parts.hostname:
            raise ValueError(f"not an SMTP URL; it must look like {SMTP_URL_FORM}")
        try:
            _ = parts.port
        except ValueError as error:
            raise ValueError(f"{error} (it must look like {SMTP_URL_FORM})") from None
        return url

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_on_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            parts = urlsplit(origin)
            if origin != "*" and (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or origin != f"{parts.scheme}://{parts.netloc}"
            ):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme://host[:port], without a path or "
                    "a trailing slash (or * for any origin)"
                )
        return origins

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, proxies: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy)
            except ValueError:
                if proxy != "*":
                    raise ValueError(
                        f"{proxy!r} is not an IP address or network (or * for any)"
                    ) from None
        return proxies

    @property
    def is_development(self) -> bool:
        return self.backlog_env is Environment.DEVELOPMENT

    @property
    def introspection(self) -> Introspection:
        """Development keeps everything on: GraphiQL and the schema for anyone."""
        if self.introspection_setting is not None:
            return self.introspection_setting
        return Introspection.EVERYONE if self.is_development else Introspection.MEMBERS

    @property
    def graphiql(self) -> bool:
        return self.is_development if self.graphiql_setting is None else self.graphiql_setting

    @property
    def webhooks_may_reach_private(self) -> bool:
        """Whether webhooks may use plain http and non-public addresses (cloud metadata
        addresses stay refused whatever this says)."""
        return self.is_development or self.webhook_allow_private

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pgdata"


def read_settings() -> Settings:
    """`Settings()`, with a bad value reported as `SettingsError` naming its variable."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError("\n".join(map(_explain, error.errors()))) from None


def _explain(error: ErrorDetails) -> str:
    variable = str(error["loc"][0]).upper() if error["loc"] else "settings"
    reason = error["msg"].removeprefix("Value error, ")
    if variable in ("DATABASE_URL", "BACKLOG_SMTP_URL"):  # its value may hold a password
        return f"{variable}: {reason}"
    return f"{variable}: {reason} (got {error['input']!r})"
