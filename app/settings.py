"""Runtime configuration, read from the environment (prefix ``CP_``) and an optional ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "country-positions.sqlite3"


class Settings(BaseSettings):
    """Every setting is documented in the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="CP_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}",
        validation_alias=AliasChoices("DATABASE_URL", "CP_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL; an SQLite file under ./var/ by default, "
        "or postgresql://user@host/db.",
    )
    database_read_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "DATABASE_READ_URL", "CP_DATABASE_READ_URL", "database_read_url"
        ),
        description="Optional read replica: GET/HEAD requests read from it; writes, the "
        "revision listener and migrations use DATABASE_URL.",
    )
    db_connect_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds to wait for a database connection before answering 503.",
    )
    db_statement_timeout_ms: int = Field(
        default=10_000,
        gt=0,
        description="PostgreSQL statement_timeout for API queries, in milliseconds "
        "(`seed` and `migrate` run without one).",
    )
    seeds_path: Path = Field(
        default=Path("seeds"), description="Default folder read by `country-positions seed`."
    )
    release_packages_dir: Path | None = Field(
        default=None,
        description="Where releases' data packages are kept once built (each is built "
        "once, then served as stored; a file per release, safe to delete); unset, "
        "`cp-release-packages` in the temporary directory.",
    )
    log_level: str = Field(default="info", description="uvicorn/app log level.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`json`: one JSON object a line (requests and events), for a log "
        "pipeline; `text`: readable lines, for a terminal. Both carry the request id.",
    )
    access_log: bool = Field(
        default=True,
        description="Log every request: one line each (the app's, with route, cache outcome, "
        "revision and request id; the server's own access log is off either way).",
    )
    log_flush_interval: float = Field(
        default=0.1,
        ge=0,
        le=10,
        description="Request lines are written in batches, at most this many seconds after "
        "their request (and at shutdown); `0` writes each at once, as does a terminal.",
    )
    metrics_enabled: bool = Field(
        default=True,
        description="Serve Prometheus metrics at `/metrics` (never cross-origin) and count "
        "them; summed over the workers of `serve --workers N`.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "CP_OTEL_EXPORTER_OTLP_ENDPOINT",
            "otel_exporter_otlp_endpoint",
        ),
        description="OTLP/HTTP collector (e.g. `http://otel-collector:4318`): trace requests "
        "and SQL with OpenTelemetry (needs the `tracing` extra). Unset, nothing of it loads.",
    )
    trace_sample_ratio: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Share of requests traced (parent-based: a sampled caller's traceparent "
        "is followed) when OTEL_EXPORTER_OTLP_ENDPOINT is set.",
    )
    cache_max_age: int = Field(
        default=60,
        ge=0,
        description="`Cache-Control: max-age` (seconds) on successful GET responses.",
    )
    require_key_for_reads: bool = Field(
        default=False, description="Require a valid API key for reads too (writes always do)."
    )
    max_body_bytes: int = Field(
        default=65_536, ge=1, description="Largest request body accepted; larger gets 413."
    )
    max_header_bytes: int = Field(
        default=16_384,
        ge=1024,
        description="Largest request line + headers, in bytes; larger gets 431 and the "
        "connection is closed (Granian: at least 8192).",
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Seconds (at most 60) a connection may take to send a request's "
        "headers; then it is closed (uvicorn answers 408 first if some bytes came).",
    )
    keepalive_timeout: int = Field(
        default=5,
        ge=0,
        description="Seconds an idle keep-alive connection stays open (uvicorn; Granian "
        "closes idle ones after CP_HEADER_TIMEOUT, and 0 turns keep-alive off).",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Open connections per worker process. Beyond it uvicorn answers 503 "
        "(`Retry-After`, connection closed); Granian queues new ones until one closes.",
    )
    cache_enabled: bool = Field(
        default=True, description="Answer repeated GETs from memory until the data changes."
    )
    cache_max_entries: int = Field(
        default=2048, ge=1, description="Most responses the in-memory cache holds."
    )
    cache_max_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        description="Most bytes the in-memory cache holds; a response over an eighth of it "
        "is never stored (nor buffered while it streams).",
    )
    cors_origins: list[str] = Field(
        default=["*"],
        description="Origins allowed to GET/HEAD cross-origin (JSON list); `[]` disables CORS.",
    )
    public_url: str | None = Field(
        default=None,
        description="Public base URL (e.g. `https://api.example.org`): pagination links are "
        "absolute under it. Unset, they are relative references; never built from `Host`.",
    )
    allowed_hosts: list[str] = Field(
        default=["*"],
        description='`Host` names served (JSON list; `"*.example.org"` matches subdomains); '
        "any other gets 400, as does a request with two `Host` headers. `/healthz` and "
        "`/readyz` answer any `Host`.",
    )

    request_deadline: float = Field(
        default=5.0,
        gt=0,
        description="Seconds within which every request is answered: 200, or a 503 problem "
        "(overloaded, or database unreachable) with `Retry-After`.",
    )
    db_deadline: float = Field(
        default=4.0,
        gt=0,
        description="Seconds a silent PostgreSQL may keep a request waiting (from its arrival "
        "until its response starts; any one database round trip outside a request too) before "
        "the connection is cut and the request answered 503; must be below CP_REQUEST_DEADLINE, "
        "by about 1 s (`seed` and `migrate` run without it).",
    )
    max_concurrency: int = Field(
        default=8,
        ge=1,
        description="Requests that reach the database at once, per worker process; more wait "
        "in a queue. Kept below the connection pool (15) and the thread pool (40).",
    )
    max_queue: int = Field(
        default=256,
        ge=0,
        description="Requests that may wait for a free slot, per worker; beyond it (or after "
        "waiting half of CP_REQUEST_DEADLINE) they get a 503 `overloaded` problem at once.",
    )
    trusted_proxies: list[str] = Field(
        default=[],
        description="Addresses of reverse proxies whose `X-Forwarded-For` names the client "
        '(JSON list, e.g. `["127.0.0.1"]`); `[]` trusts none and uses the peer address.',
    )
    rate_limit_enabled: bool = Field(
        default=True, description="Rate-limit requests per client (429 over the limit)."
    )
    rate_limit_reads_per_second: float = Field(
        default=50.0, gt=0, description="GET/HEAD requests per second per client address."
    )
    rate_limit_read_burst: int = Field(
        default=100, ge=1, description="GET/HEAD requests a client address may send at once."
    )
    rate_limit_writes_per_second: float = Field(
        default=10.0,
        gt=0,
        description="Writes per second per API key (per client address without a key).",
    )
    rate_limit_write_burst: int = Field(
        default=50, ge=1, description="Writes an API key (or keyless address) may send at once."
    )
    rate_limit_max_clients: int = Field(
        default=100_000,
        ge=1,
        description="Most clients the in-process limiter tracks (least recently seen go first).",
    )
    rate_limit_prefix: str = Field(
        default="cp:rl:", description="Prefix of the limiter's Redis keys."
    )
    redis_url: str | None = Field(
        default=None,
        description="Keep rate-limit buckets in Redis (e.g. `redis://127.0.0.1:6379/0`), "
        "shared by every instance; unset keeps them in process.",
    )

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _normalise_postgres_url(cls, value: str | None) -> str | None:
        """Route bare ``postgres://``/``postgresql://`` URLs to the installed psycopg 3 driver."""
        if value is None:
            return None
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        """An http(s) origin plus an optional path prefix, kept without its trailing slash."""
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http:// or https:// URL")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or a fragment")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_deadlines(self) -> Settings:
        """A request waiting on the database must be cut (503) before its own deadline
        passes, or the deadline promised to clients would not hold."""
        if self.db_deadline >= self.request_deadline:
            raise ValueError(
                f"CP_DB_DEADLINE ({self.db_deadline:g} s) must be below CP_REQUEST_DEADLINE "
                f"({self.request_deadline:g} s), by about a second"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def env_name(field: str) -> str:
    """The environment variable a setting is read from (documented in the README)."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return f"CP_{field.upper()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
