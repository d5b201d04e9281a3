"""JSON request bodies with a repeated key are refused (422), never read last-wins.

`json.loads` keeps the last of two equal keys, so `{"value": "yes", "value": "no"}` would
record `no` while a reviewer of the request (or a proxy, or a log reader) may well read
`yes` (issue 10, item 8). Routes with a body use `StrictJSONRoute`: its requests parse
JSON with an `object_pairs_hook` that notes repeated keys at any depth, and a body that
has one is answered like any invalid input, before the route's dependencies run (as
malformed JSON is). Routes without a body, every read among them, keep FastAPI's handler
untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

DUPLICATE_KEY = "duplicate_key"

Path = tuple[str | int, ...]


class _Repeated(dict[str, Any]):
    """A JSON object some key of which was repeated (kept last-wins until refused)."""

    repeated: list[str]


class DuplicateKeys(ValueError):
    """The body repeats keys; `paths` locates each one, from the body's root."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__(f"{len(paths)} repeated key(s)")
        self.paths = paths


def _pairs_hook(found: list[bool]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen: set[str] = set()
        repeated = _Repeated(obj)
        repeated.repeated = []
        for key, _ in pairs:
            if key in seen and key not in repeated.repeated:
                repeated.repeated.append(key)
            seen.add(key)
        found[0] = True
        return repeated

    return hook


def _repeated_paths(value: Any, path: Path = ()) -> list[Path]:
    """Where the repeated keys are: walked only once the parse found one."""
    paths: list[Path] = []
    if isinstance(value, dict):
        if isinstance(value, _Repeated):
            paths += [(*path, key) for key in value.repeated]
        for key, item in value.items():
            paths += _repeated_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _repeated_paths(item, (*path, index))
    return paths


def loads_strict(body: bytes | str) -> Any:
    """`json.loads`, raising DuplicateKeys if any object repeats a key."""
    found = [False]
    value = json.loads(body, object_pairs_hook=_pairs_hook(found))
    if found[0]:
        raise DuplicateKeys(_repeated_paths(value))
    return value


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_strict(await self.body())
        return self._json


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class StrictJSONRoute(APIRoute):
    """An APIRoute whose JSON body may not repeat a key (422 `duplicate_key` if it does)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict_handler(request: Request) -> Response:
            request = StrictJSONRequest(request.scope, request.receive)
            if _is_json(request):
                try:
                    await request.json()  # parsed once: the handler reads the cached value
                except DuplicateKeys as exc:
                    raise RequestValidationError(
                        [
                            {
                                "type": DUPLICATE_KEY,
                                "loc": ("body", *path),
                                "msg": f"the key {str(path[-1])!r} appears more than once",
                            }
                            for path in exc.paths
                        ]
                    ) from None
                except Exception:
                    pass  # not JSON, not UTF-8, cut short: the handler answers as it always has
            return await handler(request)

        return strict_handler
