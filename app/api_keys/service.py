"""API keys: random, shown once, stored only as a SHA-256 hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api_keys.models import ApiKey
from app.errors import Conflict, InvalidInput, NotFound
from app.vocabulary import KeyScope

KEY_PREFIX = "cpk"
# Compared against when no key matches the prefix, so a miss costs what a hit costs.
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


def _hash(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(key.encode()).hexdigest()


KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}$")


def create_key(session: Session, *, name: str, scope: KeyScope) -> tuple[ApiKey, str]:
    """Store a new key; return it with the plaintext, which is never stored or shown again."""
    name = name.strip()
    if not KEY_NAME.fullmatch(name):
        raise InvalidInput(
            "A key name is 1-100 characters: letters, digits, space, '.', '_', '@' or '-', "
            "starting with a letter or digit (it names the curator in the change log)."
        )
    if session.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
        raise Conflict(f"A key named {name!r} already exists.")
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name,
        scope=scope,
        prefix=prefix,
        key_hash=_hash(plaintext),
        created_at=datetime.now(UTC),
        revoked_at=None,
    )
    session.add(key)
    session.flush()
    return key, plaintext


def list_keys(session: Session) -> Sequence[ApiKey]:
    return session.scalars(select(ApiKey).order_by(ApiKey.name)).all()


def revoke_key(session: Session, *, name: str) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise NotFound(f"No key named {name!r}.")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
    return key


def authenticate(session: Session, *, presented: str) -> ApiKey | None:
    """The active key matching `presented`, or None."""
    parts = presented.split("_", 2)
    prefix = parts[1] if len(parts) == 3 and parts[0] == KEY_PREFIX else ""
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
    expected = key.key_hash if key is not None else _DUMMY_HASH
    matches = hmac.compare_digest(_hash(presented), expected)
    if key is None or not matches or key.revoked_at is not None:
        return None
    return key
