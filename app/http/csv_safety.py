"""Spreadsheet formula injection ("CSV injection", OWASP), neutralised in one place.

Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a
formula (a leading tab or carriage return can hide one), so free text someone wrote, such
as an assessment's evidence `=HYPERLINK("http://evil","x")`, becomes a live link or worse
when a reader opens the export. Every CSV the service writes goes through `safe_row`
(app.http.exports.csv_lines, app.http.formats.stream_csv): such a cell gets a leading `'`,
which spreadsheets show as text. Only text cells change, and only in the CSV: the JSON and
NDJSON keep the original. The exports' documentation says so (app.assessments.csv_tables).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def safe_cell(value: Any) -> Any:
    """`value` as a CSV cell a spreadsheet shows as text: `'` before a formula trigger."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return ESCAPE + value
    return value


def safe_row(row: Sequence[Any]) -> list[Any]:
    """One CSV row with every cell made safe; None is ''."""
    return ["" if value is None else safe_cell(value) for value in row]
