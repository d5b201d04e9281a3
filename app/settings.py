"""Runtime configuration, read from the environment (prefix ``CP_``) and an optional ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
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
    log_level: str = Field(default="info", description="uvicorn/app log level.")
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
    cache_enabled: bool = Field(
        default=True, description="Answer repeated GETs from memory until the data changes."
    )
    cache_max_entries: int = Field(
        default=2048, ge=1, description="Most responses the in-memory cache holds."
    )
    cache_max_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Most bytes the in-memory cache holds."
    )
    cors_origins: list[str] = Field(
        default=["*"],
        description="Origins allowed to GET/HEAD cross-origin (JSON list); `[]` disables CORS.",
    )

    trusted_proxies: list[str] = Field(
        default=[],
        description="Addresses of reverse proxies whose `X-Forwarded-For` names the client "
        '(JSON list, e.g. `["127.0.0.1"]`); `[]` trusts none and uses the peer address.',
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
