"""Settings, read once at start-up from the environment (prefix-free names, or a `.env` file)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


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
    max_body_bytes: int = Field(default=100_000, alias="BACKLOG_MAX_BODY_BYTES")

    # Bench-only: resolve every relation with its own query, to measure what the loaders save.
    loaders_enabled: bool = Field(default=True, alias="BACKLOG_LOADERS_ENABLED")
    # Bench and tests: run queries with graphql-core's executor instead of execution.engine.
    level_executor: bool = Field(default=True, alias="BACKLOG_LEVEL_EXECUTOR")

    @property
    def is_development(self) -> bool:
        return self.backlog_env is Environment.DEVELOPMENT

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pgdata"
