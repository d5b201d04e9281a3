"""Bearer-key dependencies: 401 without a valid key, 403 without the needed scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api_keys import service
from app.api_keys.models import ApiKey
from app.errors import Forbidden, Unauthorized
from app.http.deps import SessionDep, read_in_thread
from app.observability.request_ids import note_api_key
from app.vocabulary import KeyScope

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="`Authorization: Bearer <key>`; create keys with `country-positions keys create`.",
)
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

# admin may do everything write may.
_GRANTS = {KeyScope.write: {KeyScope.write, KeyScope.admin}, KeyScope.admin: {KeyScope.admin}}


def _authenticate(session: SessionDep, credentials: CredentialsDep) -> ApiKey:
    if credentials is None:
        raise Unauthorized("This operation needs an API key: send `Authorization: Bearer <key>`.")
    key = service.authenticate(session, presented=credentials.credentials)
    if key is None:
        raise Unauthorized("The API key is not valid (unknown or revoked).", error="invalid_token")
    note_api_key(key.name)
    return key


def require_scope(scope: KeyScope) -> Callable[..., ApiKey]:
    def dependency(session: SessionDep, credentials: CredentialsDep) -> ApiKey:
        key = _authenticate(session, credentials)
        if key.scope not in _GRANTS[scope]:
            raise Forbidden(f"This operation needs a key with the {scope.value!r} scope.")
        return key

    return dependency


async def require_read_access(request: Request, credentials: CredentialsDep) -> None:
    """Reads are public unless CP_REQUIRE_KEY_FOR_READS is set; then any valid key reads.

    Async, and without a session unless a key is needed: every data route runs this, and
    a session dependency here cost each public read three thread hops (issue 10).
    """
    if request.app.state.settings.require_key_for_reads:
        await read_in_thread(request, lambda session: _authenticate(session, credentials))


async def check_read_key(request: Request) -> None:
    """require_read_access, for an ASGI app outside FastAPI's dependencies (a release's
    frozen reads, app.releases.dispatch): raises Unauthorized without a valid key."""
    if request.app.state.settings.require_key_for_reads:
        credentials = await bearer(request)
        await read_in_thread(request, lambda session: _authenticate(session, credentials))


WriterDep = Annotated[ApiKey, Depends(require_scope(KeyScope.write))]
AdminDep = Annotated[ApiKey, Depends(require_scope(KeyScope.admin))]
