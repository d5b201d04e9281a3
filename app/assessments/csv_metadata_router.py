"""The CSVW metadata documents (W3C "Metadata Vocabulary for Tabular Data") of the CSV
exports: what each column is and its datatype, for readers that would otherwise guess.

Every CSV response links its document (`Link: <…>; rel="describedby";
type="application/csvm+json"`); the documents sit where CSVW looks by default, beside the
file they describe (`/exports/positions.csv` → `/exports/positions.csv-metadata.json`).
Each is made from app.assessments.csv_tables, as the CSV rows are, so they cannot disagree.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Response

from app.assessments.csv_tables import (
    ASSESSMENTS,
    COUNTRIES,
    EVERY_ASSESSMENT,
    POSITIONS,
    STATS,
    CsvTable,
)
from app.countries import service as countries_service
from app.http.deps import CountryCodePath, SessionDep
from app.http.formats import CSVW_MEDIA_TYPE
from app.http.openapi import NO_DATABASE_OPERATION
from app.problems import Problem

router = APIRouter(tags=["exports"])
CSVW_COLUMN = {
    "type": "object",
    "required": ["name", "datatype"],
    "properties": {
        "name": {"type": "string"},
        "titles": {"type": "string"},
        "datatype": {
            "type": "object",
            "required": ["base"],
            "properties": {
                "base": {"type": "string", "description": "An XML Schema type: string, ..."},
                "format": {"type": "string", "description": "A regular expression."},
            },
        },
        "required": {"type": "boolean"},
        "dc:description": {"type": "string"},
    },
}
DOCUMENT_SCHEMA = {
    "type": "object",
    "description": "A CSVW table description: `url` (the CSV, relative to this document), "
    "`dialect`, and `tableSchema.columns` in the CSV's order, each with `name`, `datatype` "
    "(`base` and a `format` regular expression where values follow one), `required` and "
    "`dc:description`.",
    "required": ["@context", "url", "dialect", "tableSchema"],
    "properties": {
        "@context": {"type": "string", "description": "The CSVW namespace."},
        "url": {"type": "string", "description": "The CSV, relative to this document."},
        "dc:title": {"type": "string"},
        "dialect": {
            "type": "object",
            "properties": {
                "encoding": {"type": "string"},
                "header": {"type": "boolean"},
                "headerRowCount": {"type": "integer"},
                "delimiter": {"type": "string"},
                "doubleQuote": {"type": "boolean"},
                "lineTerminators": {"type": "array", "items": {"type": "string"}},
            },
        },
        "tableSchema": {
            "type": "object",
            "required": ["columns"],
            "properties": {
                "columns": {"type": "array", "items": CSVW_COLUMN},
                "primaryKey": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}


def _document(table: CsvTable) -> Response:
    body = json.dumps(table.csvw(), ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode(), media_type=CSVW_MEDIA_TYPE)


def _responses(table: CsvTable, not_found: str | None = None) -> dict[int | str, Any]:
    ok = {
        "description": f"The CSVW metadata document of the `{table.name}` CSV export.",
        "content": {CSVW_MEDIA_TYPE: {"schema": DOCUMENT_SCHEMA}},
    }
    responses: dict[int | str, Any] = {200: ok}
    if not_found:
        responses[404] = {"model": Problem, "description": not_found}
    return responses


@router.get(
    COUNTRIES.metadata_path,
    summary="Describe the countries CSV",
    response_class=Response,
    responses=_responses(COUNTRIES),
    openapi_extra=NO_DATABASE_OPERATION,
)
def get_countries_csv_metadata() -> Response:
    """Columns and datatypes of the countries CSV (`GET /countries?format=csv`), as a CSVW
    metadata document; the CSV links it with `Link: rel="describedby"`."""
    return _document(COUNTRIES)


@router.get(
    POSITIONS.metadata_path,
    summary="Describe the positions CSV",
    response_class=Response,
    responses=_responses(POSITIONS),
    openapi_extra=NO_DATABASE_OPERATION,
)
def get_positions_csv_metadata() -> Response:
    """Columns and datatypes of the chart CSV (`GET /positions?format=csv`), as a CSVW
    metadata document; the CSV links it with `Link: rel="describedby"`."""
    return _document(POSITIONS)


@router.get(
    ASSESSMENTS.metadata_path,
    summary="Describe a country's assessments CSV",
    response_class=Response,
    responses=_responses(ASSESSMENTS, not_found="Unknown country."),
)
def get_assessments_csv_metadata(code: CountryCodePath, session: SessionDep) -> Response:
    """Columns and datatypes of a country's assessments CSV
    (`GET /countries/{code}/assessments?format=csv`), as a CSVW metadata document; the CSV
    links it with `Link: rel="describedby"`. The same document for every country."""
    countries_service.get_country(session, code=code)
    return _document(ASSESSMENTS)


@router.get(
    EVERY_ASSESSMENT.metadata_path,
    summary="Describe the every-assessment CSV",
    response_class=Response,
    responses=_responses(EVERY_ASSESSMENT),
    openapi_extra=NO_DATABASE_OPERATION,
)
def get_every_assessment_csv_metadata() -> Response:
    """Columns and datatypes of the long-format CSV of every assessment
    (`GET /exports/assessments.csv`), as a CSVW metadata document; the CSV links it with
    `Link: rel="describedby"`."""
    return _document(EVERY_ASSESSMENT)


@router.get(
    STATS.metadata_path,
    summary="Describe the counts CSV",
    response_class=Response,
    responses=_responses(STATS),
    openapi_extra=NO_DATABASE_OPERATION,
)
def get_stats_csv_metadata() -> Response:
    """Columns and datatypes of the counts CSV (`GET /stats?format=csv`), as a CSVW
    metadata document; the CSV links it with `Link: rel="describedby"`."""
    return _document(STATS)
