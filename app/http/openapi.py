"""OpenAPI tweaks: error responses are served as application/problem+json, so say so."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.problems import PROBLEM_MEDIA_TYPE

PROBLEM_REF = "#/components/schemas/Problem"


def _rekey_problem_content(schema: dict[str, Any]) -> None:
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if not str(status).startswith(("4", "5")):
                    continue
                content = response.get("content", {})
                for media in [m for m in content if m != PROBLEM_MEDIA_TYPE]:
                    # JSON by default, or the route's own media type (the CSV exports').
                    content[PROBLEM_MEDIA_TYPE] = content.pop(media)
                if str(status) == "422":
                    # FastAPI's default 422 model is not what we serve: we serve a Problem.
                    operation["responses"][status] = INVALID
    schemas = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


UNAVAILABLE = {
    "description": "The database is unreachable, or did not answer within its deadline; "
    "retry after `Retry-After` seconds.",
    "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
}
INVALID = {
    "description": "Invalid parameter or body.",
    "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
}
UNAUTHORIZED = {
    "description": "Reads need a key when the server sets CP_REQUIRE_KEY_FOR_READS.",
    "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
    "headers": {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}},
}
RATE_LIMITED = {
    "description": "Over the client's rate limit (CP_RATE_LIMIT_*); retry after `Retry-After`.",
    "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
    "headers": {
        name: {"$ref": f"#/components/headers/{name}"}
        for name in ("Retry-After", "RateLimit", "RateLimit-Policy")
    },
}
NO_DATABASE = {"/healthz"}
NO_DATABASE_KEY = "x-no-database"
NO_DATABASE_OPERATION = {NO_DATABASE_KEY: True}
PROBES = {"/healthz", "/readyz"}

HEADERS: dict[str, Any] = {
    "ETag": {
        "description": "Validator for `If-None-Match` (and, on a single source or "
        "assessment, for `If-Match`).",
        "schema": {"type": "string"},
        "required": True,
    },
    "Location": {
        "description": "Where the created resource lives: a path, or a URL under the "
        "server's CP_PUBLIC_URL.",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": "RFC 8288 pagination links: first, prev, next, last (when paginated). "
        "Relative references (resolve them against the request's URL) unless the server "
        "sets CP_PUBLIC_URL.",
        "schema": {"type": "string"},
    },
    "X-Total-Count": {
        "description": "How many items match, across every page.",
        "schema": {"type": "integer"},
        "required": True,
    },
    "WWW-Authenticate": {
        "description": "The Bearer challenge.",
        "schema": {"type": "string"},
        "required": True,
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    },
    "RateLimit": {
        "description": 'Service limit (draft-ietf-httpapi-ratelimit-headers): `"reads";r=0;t=1`.',
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": 'Quota policy (same draft), e.g. `"reads";q=100;w=2`.',
        "schema": {"type": "string"},
    },
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "The resource's ETag from a GET: 428 without it, 412 when it is stale.",
    "example": '"assessment-1-v1"',
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _document_operations(schema: dict[str, Any]) -> None:
    """Say what the code does that FastAPI cannot see: every data operation can answer 503
    and 422 (unknown query parameters); reads accept a key but need one only under
    CP_REQUIRE_KEY_FOR_READS; conditional writes take If-Match; the headers clients use."""
    schema.setdefault("components", {})["headers"] = HEADERS
    for path, path_item in schema.get("paths", {}).items():
        for method, operation in path_item.items():
            responses = operation["responses"]
            # `openapi_extra=NO_DATABASE_OPERATION` (kept in the document): never a 503.
            if path not in NO_DATABASE and not operation.get(NO_DATABASE_KEY):
                responses.setdefault("503", UNAVAILABLE)
                responses["503"] = {
                    **responses["503"],
                    "headers": {"Retry-After": _ref("Retry-After")},
                }
            if path not in NO_DATABASE | {"/readyz"}:
                responses.setdefault("422", INVALID)
            if path not in PROBES:
                responses.setdefault("429", RATE_LIMITED)
            if method == "get" and "security" in operation:
                operation["security"] = [{}, *operation["security"]]
                responses.setdefault("401", UNAUTHORIZED)
            if "401" in responses:
                responses["401"] = {
                    **responses["401"],
                    "headers": {"WWW-Authenticate": _ref("WWW-Authenticate")},
                }
            if method in ("patch", "delete"):
                operation.setdefault("parameters", []).append(IF_MATCH)
            _document_success_headers(method, operation)


def _document_success_headers(method: str, operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    if method == "get" and "200" in responses and operation.get("tags") != ["health"]:
        headers = {"ETag": _ref("ETag")}
        parameters = {p["name"] for p in operation.get("parameters", [])}
        if {"limit", "offset"} <= parameters:
            headers |= {"Link": _ref("Link"), "X-Total-Count": _ref("X-Total-Count")}
        responses["200"]["headers"] = headers
    if "201" in responses:
        responses["201"]["headers"] = {"ETag": _ref("ETag"), "Location": _ref("Location")}


def _plain_parameters(schema: dict[str, Any]) -> None:
    """Declare each parameter as generators read it: an optional one is its type, without a
    `null` branch (omitting it is how a client says "none"; `?as_of=null` is a 422), and a
    `$ref` stands alone (generators drop a `$ref` that has keywords beside it)."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                declared = parameter.get("schema", {})
                branches = [b for b in declared.get("anyOf", [declared]) if b != {"type": "null"}]
                if len(branches) != 1:
                    continue
                (plain,) = branches
                if "$ref" in plain:
                    parameter["schema"] = {"$ref": plain["$ref"]}
                    continue
                extra = {k: v for k, v in declared.items() if k in ("examples", "default")}
                parameter["schema"] = {**plain, **extra}


def _screaming_snake(name: str) -> str:
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(name)).upper()


def _name_enum_members(schema: dict[str, Any]) -> None:
    """`x-enum-varnames` for every enum, so that no two members get the same name in a
    language that puts them in one namespace (Go's package constants saw `YES` twice, from
    AssessedValue and PositionValue). Members are named after their value (`YES`); an enum
    sharing a value with another has all its members prefixed (`POSITION_VALUE_YES`)."""
    enums = {
        name: [str(value) for value in component["enum"]]
        for name, component in schema.get("components", {}).get("schemas", {}).items()
        if "enum" in component
    }
    for name, values in enums.items():
        others = {v for other, vs in enums.items() if other != name for v in vs}
        prefix = f"{_screaming_snake(name)}_" if others & set(values) else ""
        names = [f"{prefix}{value.upper()}" for value in values]
        schema["components"]["schemas"][name]["x-enum-varnames"] = names


TAGS = [
    {"name": "positions", "description": "Derived positions: per country, the chart, counts."},
    {"name": "countries", "description": "The catalogue of European governments we list."},
    {"name": "assessments", "description": "What each source asserts, with its history."},
    {"name": "exports", "description": "CSV and NDJSON renderings of the lists, as text."},
    {"name": "categories", "description": "The four assistance categories of the chart."},
    {"name": "sources", "description": "Where values come from, and how far to trust them."},
    {"name": "groups", "description": "Alliances and unions (EU, NATO): members over time."},
    {
        "name": "statements",
        "description": "Claims relays make and denials of values: served beside, never counted.",
    },
    {"name": "changes", "description": "Every write, in order: the change log."},
    {"name": "releases", "description": "Immutable, citable versions of the dataset."},
    {"name": "health", "description": "Liveness and readiness probes for orchestrators."},
]
SERVERS = [{"url": "/", "description": "The server this document is served from."}]
CONTACT = {"name": "country-positions maintainers"}


def _describe_document(schema: dict[str, Any]) -> None:
    """What linters (Spectral `spectral:oas`, Redocly `recommended`) ask of the document."""
    schema["servers"] = SERVERS
    schema["info"]["contact"] = CONTACT
    used = {tag for item in schema["paths"].values() for op in item.values() for tag in op["tags"]}
    undescribed = used - {tag["name"] for tag in TAGS}
    if undescribed:
        raise RuntimeError(f"describe these tags in app.http.openapi.TAGS: {undescribed}")
    schema["tags"] = [tag for tag in TAGS if tag["name"] in used]
    for path in PROBES:
        for operation in schema["paths"].get(path, {}).values():
            operation["security"] = []


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                license_info=app.license_info,
            )
            _rekey_problem_content(schema)
            _document_operations(schema)
            _plain_parameters(schema)
            _name_enum_members(schema)
            _describe_document(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override hook
