"""Read and validate seed files, collecting every error before anything is written."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pycountry
import yaml
from pydantic import BaseModel, ValidationError

from app.assessments.validation import reference_problems
from app.seeding.rows import (
    AssessmentSeedRow,
    CategorySeedRow,
    CountrySeedRow,
    SourceSeedRow,
)
from app.vocabulary import CategoryKey

COUNTRIES_FILE = "countries.csv"
CATEGORIES_FILE = "categories.yaml"
SOURCES_FILE = "sources.yaml"
ASSESSMENTS_FILE = "assessments.csv"
MAX_FIELD_CHARS = 100_000

# ISO 3166-1 reserves these alpha-2 codes for users (XK is the customary code for Kosovo).
USER_ASSIGNED = (
    {"AA", "ZZ"}
    | {f"Q{c}" for c in "MNOPQRSTUVWXYZ"}
    | {f"X{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
)

Row = TypeVar("Row", bound=BaseModel)


@dataclass(frozen=True)
class SeedError:
    """One problem in one record of one seed file."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class SeedValidationError(Exception):
    """The seed files are invalid; nothing was written."""

    def __init__(self, errors: Sequence[SeedError]) -> None:
        super().__init__(f"{len(errors)} error(s) in seed files")
        self.errors = list(errors)


@dataclass(frozen=True)
class CountryRecord:
    code: str
    alpha3: str
    numeric: str | None
    name: str
    official_name: str | None


@dataclass
class SeedSet:
    """Everything the seed folder says, validated and cross-checked."""

    countries: list[CountryRecord] = field(default_factory=list)
    categories: list[CategorySeedRow] = field(default_factory=list)
    sources: list[SourceSeedRow] = field(default_factory=list)
    assessments: list[AssessmentSeedRow] = field(default_factory=list)
    # Codes and ids the files name (None: the file could not be read), for cross-checks.
    named_countries: set[str] | None = None
    named_sources: set[str] | None = None


class Collector:
    def __init__(self) -> None:
        self.errors: list[SeedError] = []

    def add(self, file: str, line: int | None, field_: str | None, message: str) -> None:
        self.errors.append(SeedError(file, line, field_, message))

    def validate(self, model: type[Row], data: dict[str, Any], file: str, line: int) -> Row | None:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(part) for part in err["loc"]) or None
                message = str(err["msg"]).removeprefix("Value error, ")
                self.add(file, line, loc, message)
            return None


def _read_text(path: Path, label: str, errors: Collector) -> str | None:
    if not path.is_file():
        errors.add(label, None, None, "file is missing")
        return None
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        errors.add(label, line, None, f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8")
        return None


def _csv_rows(
    text: str, label: str, columns: Sequence[str], required: set[str], errors: Collector
) -> Iterator[tuple[int, dict[str, str]]]:
    if "\x00" in text:
        errors.add(label, text[: text.index("\x00")].count("\n") + 1, None, "contains a NUL byte")
        return
    yield from csv_records(io.StringIO(text, newline=""), label, columns, required, errors)


def csv_records(
    lines: Iterable[str],
    label: str,
    columns: Sequence[str],
    required: set[str],
    errors: Collector,
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, record) for each data row of a CSV stream; header and shape problems go to
    `errors`. Streams: a file of any size is read one record at a time."""
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            errors.add(label, 1, None, f"file is empty; expected header {','.join(columns)}")
            return
        header = [h.strip() for h in header]
        missing = [c for c in columns if c in required and c not in header]
        unknown = [h for h in header if h not in columns]
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if missing or unknown or duplicated:
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown column(s) {', '.join(repr(u) for u in unknown)}")
            if duplicated:
                parts.append(f"repeated column(s) {', '.join(duplicated)}")
            errors.add(label, 1, None, "; ".join(parts) + f"; expected {','.join(columns)}")
            return
        end = reader.line_num
        for values in reader:
            # A quoted field may span lines: name the line the record starts on.
            line, end = end + 1, reader.line_num
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                errors.add(
                    label,
                    line,
                    None,
                    f"row has {len(values)} field(s), the header has {len(header)}",
                )
                continue
            too_long = [h for h, v in zip(header, values, strict=True) if len(v) > MAX_FIELD_CHARS]
            if too_long:
                errors.add(label, line, too_long[0], f"field over {MAX_FIELD_CHARS} characters")
                continue
            yield line, dict(zip(header, values, strict=True))
    except csv.Error as exc:
        errors.add(label, reader.line_num, None, f"malformed CSV: {exc}")
    except UnicodeDecodeError as exc:
        errors.add(
            label,
            reader.line_num + 1,
            None,
            f"not valid UTF-8 (byte {exc.start} of a chunk); save the file as UTF-8",
        )


class _SeedYamlLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text: the row models parse them, so a bad date such as
    2023-02-30 is a row error with a line number, not a ValueError from inside PyYAML."""


_SeedYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_error_message(exc: yaml.YAMLError) -> str:
    """One line: PyYAML's own text spans several lines and names "<unicode string>"."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f" (column {mark.column + 1})" if mark is not None else ""
        return f"malformed YAML: {exc.problem}{where}"
    return "malformed YAML: " + " ".join(str(exc).split())


def _yaml_records(text: str, label: str, errors: Collector) -> list[tuple[int, dict[str, Any]]]:
    """The records of a YAML list, each with the line it starts on."""
    loader = _SeedYamlLoader(text)
    try:
        node = loader.get_single_node()
        loaded = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        errors.add(label, mark.line + 1 if mark else None, None, _yaml_error_message(exc))
        return []
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
        # PyYAML's constructors raise these for explicitly tagged scalars they cannot read
        # (`!!bool maybe`, `!!int x`, `!!float 1e999999`) and for absurdly deep nesting.
        errors.add(label, None, None, f"malformed YAML: cannot construct a value ({exc!r})")
        return []
    finally:
        loader.dispose()
    if not isinstance(node, yaml.SequenceNode) or not isinstance(loaded, list):
        errors.add(label, None, None, "expected a list of records")
        return []
    records: list[tuple[int, dict[str, Any]]] = []
    for item, record in zip(node.value, loaded, strict=True):
        line = item.start_mark.line + 1
        if not isinstance(record, dict):
            errors.add(label, line, None, "expected a mapping of field: value")
            continue
        records.append((line, {str(k): v for k, v in record.items()}))
    return records


def _resolve_country(
    row: CountrySeedRow, label: str, line: int, errors: Collector
) -> CountryRecord | None:
    if row.code in USER_ASSIGNED:
        if row.name is None or row.alpha3 is None:
            errors.add(label, line, "name", f"user-assigned code {row.code} needs name and alpha3")
            return None
        return CountryRecord(row.code, row.alpha3, row.numeric, row.name, None)
    iso = pycountry.countries.get(alpha_2=row.code)
    if iso is None:
        errors.add(label, line, "code", f"unknown country code {row.code!r} (not in ISO 3166-1)")
        return None
    if row.name or row.alpha3 or row.numeric:
        errors.add(
            label,
            line,
            "name",
            f"{row.code} is an ISO code: leave name, alpha3 and numeric empty (from ISO 3166)",
        )
        return None
    return CountryRecord(
        code=iso.alpha_2,
        alpha3=iso.alpha_3,
        numeric=iso.numeric,
        name=getattr(iso, "common_name", None) or iso.name,
        official_name=getattr(iso, "official_name", None),
    )


ASSESSMENT_COLUMNS = (
    "country",
    "category",
    "value",
    "source",
    "reported_via",
    "as_of",
    "evidence",
    "note",
)
REQUIRED_ASSESSMENT_COLUMNS = {"country", "category", "value", "source", "as_of", "evidence"}


def assessment_reference_problems(row: AssessmentSeedRow, seeds: SeedSet) -> list[tuple[str, str]]:
    """The API's reference checks, against what the seed files name. A file that could not be
    read names nothing, and is not blamed again for every row that cites it."""
    countries, sources = seeds.named_countries, seeds.named_sources
    problems = reference_problems(
        row,
        country_exists=lambda code: countries is None or code in countries,
        source_exists=lambda source_id: sources is None or source_id in sources,
    )
    where = {"country": COUNTRIES_FILE, "source": SOURCES_FILE, "reported_via": SOURCES_FILE}
    return [(field, f"{message} (not in {where[field]})") for field, message in problems]


def read_seeds(folder: Path, *, assessments: bool = True) -> SeedSet:
    """Parse and cross-check every seed file; raise SeedValidationError listing all errors.

    With `assessments=False` the (possibly huge) assessments file is left to the streaming
    bulk loader, which checks its rows against `named_countries` and `named_sources`.
    """
    errors = Collector()
    seeds = SeedSet()

    def label(name: str) -> str:
        return str(folder / name)

    text = _read_text(folder / COUNTRIES_FILE, label(COUNTRIES_FILE), errors)
    country_lines: dict[str, int] = {}
    alpha3_lines: dict[str, int] = {}
    # Codes and ids each file names, valid or not, for the cross-checks of assessments.csv;
    # None when the file could not be read at all. A row citing an invalid record, or a file
    # that is missing, is not reported again as "not in <file>" (that would be untrue).
    named_countries: set[str] | None = None
    named_sources: set[str] | None = None
    if text is not None:
        file = label(COUNTRIES_FILE)
        errors_before = len(errors.errors)
        rows = list(_csv_rows(text, file, ("code", "name", "alpha3", "numeric"), {"code"}, errors))
        if rows or len(errors.errors) == errors_before:
            named_countries = {data["code"].strip().upper() for _, data in rows}
        for line, data in rows:
            row = errors.validate(CountrySeedRow, data, file, line)
            if row is None:
                continue
            if row.code in country_lines:
                errors.add(
                    file,
                    line,
                    "code",
                    f"duplicate country {row.code} (first on line {country_lines[row.code]})",
                )
                continue
            country_lines[row.code] = line
            record = _resolve_country(row, file, line, errors)
            if record is None:
                continue
            # countries.alpha3 is unique: catch a clash here, not as an IntegrityError mid-load.
            if record.alpha3 in alpha3_lines:
                first = alpha3_lines[record.alpha3]
                errors.add(
                    file, line, "alpha3", f"duplicate alpha3 {record.alpha3} (also on line {first})"
                )
                continue
            alpha3_lines[record.alpha3] = line
            seeds.countries.append(record)

    text = _read_text(folder / CATEGORIES_FILE, label(CATEGORIES_FILE), errors)
    if text is not None:
        file = label(CATEGORIES_FILE)
        errors_before = len(errors.errors)
        for line, data in _yaml_records(text, file, errors):
            category = errors.validate(CategorySeedRow, data, file, line)
            if category is not None:
                seeds.categories.append(category)
        keys = [c.key for c in seeds.categories]
        if len(errors.errors) == errors_before and keys != list(CategoryKey):
            expected = ", ".join(k.value for k in CategoryKey)
            errors.add(file, None, "key", f"categories must be exactly, in order: {expected}")

    text = _read_text(folder / SOURCES_FILE, label(SOURCES_FILE), errors)
    source_ids: dict[str, int] = {}
    if text is not None:
        file = label(SOURCES_FILE)
        errors_before = len(errors.errors)
        records = _yaml_records(text, file, errors)
        if records or len(errors.errors) == errors_before:
            named_sources = {str(data.get("id", "")).strip() for _, data in records}
        for line, data in records:
            source = errors.validate(SourceSeedRow, data, file, line)
            if source is None:
                continue
            if source.id in source_ids:
                errors.add(
                    file,
                    line,
                    "id",
                    f"duplicate source {source.id!r} (first on line {source_ids[source.id]})",
                )
                continue
            source_ids[source.id] = line
            seeds.sources.append(source)

    seeds.named_countries, seeds.named_sources = named_countries, named_sources
    text = (
        _read_text(folder / ASSESSMENTS_FILE, label(ASSESSMENTS_FILE), errors)
        if assessments
        else None
    )
    if text is not None:
        file = label(ASSESSMENTS_FILE)
        columns = ASSESSMENT_COLUMNS
        seen: dict[tuple[str, str, str, date], int] = {}
        for line, data in _csv_rows(
            text,
            file,
            columns,
            REQUIRED_ASSESSMENT_COLUMNS,
            errors,
        ):
            assessment = errors.validate(AssessmentSeedRow, data, file, line)
            if assessment is None:
                continue
            ok = True
            for field_name, message in assessment_reference_problems(assessment, seeds):
                errors.add(file, line, field_name, message)
                ok = False
            key = (
                assessment.country,
                assessment.category.value,
                assessment.source,
                assessment.as_of,
            )
            if key in seen:
                errors.add(
                    file,
                    line,
                    None,
                    f"duplicate row: same country, category, source and as_of as line {seen[key]}",
                )
                ok = False
            else:
                seen[key] = line
            if ok:
                seeds.assessments.append(assessment)

    if errors.errors:
        raise SeedValidationError(errors.errors)
    return seeds
