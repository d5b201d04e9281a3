"""Read and validate seed files, collecting every error before anything is written."""

from __future__ import annotations

import csv
import io
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.seeding.kinds import (
    ASSESSMENTS,
    KINDS,
    SOURCES,
    STREAMED,
    RowError,
    SeedKind,
)
from app.seeding.kinds import USER_ASSIGNED as USER_ASSIGNED  # re-exported (bench/generate.py)
from app.seeding.rows import AssessmentSeedRow

MAX_FIELD_CHARS = 100_000

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


@dataclass
class SeedSet:
    """Everything the seed folder says, validated and cross-checked."""

    # Each kind's records, in file order (its file unread: none).
    records: dict[str, list[Any]] = field(default_factory=lambda: {k.name: [] for k in KINDS})
    # Keys each file names, valid or not, for cross-checks (None: the file could not be read).
    named: dict[str, set[str] | None] = field(
        default_factory=lambda: {k.name: None for k in KINDS if k.named is not None}
    )
    # Each valid source's upstream hops, for the relay chains of later kinds.
    relays: dict[str, list[str]] = field(default_factory=dict)


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
                if loc is not None and not loc.isprintable():
                    # A YAML key is the file's text: one error stays one line, escaped.
                    loc = repr(loc)
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
    try:
        # The reader checks every character up front: a control character fails here.
        loader = _SeedYamlLoader(text)
    except yaml.YAMLError as exc:
        errors.add(label, None, None, _yaml_error_message(exc))
        return []
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


ASSESSMENT_COLUMNS = ASSESSMENTS.columns  # the header bench/generate.py writes


def assessment_reference_problems(row: AssessmentSeedRow, seeds: SeedSet) -> list[tuple[str, str]]:
    """The API's reference checks, against what the seed files name (see kinds.py)."""
    assert ASSESSMENTS.references is not None
    return ASSESSMENTS.references(row, seeds)


def _records(
    kind: SeedKind, text: str, file: str, errors: Collector
) -> list[tuple[int, dict[str, Any]]]:
    if kind.columns is None:
        return _yaml_records(text, file, errors)
    return list(_csv_rows(text, file, kind.columns, set(kind.required), errors))


def _read_kind(kind: SeedKind, folder: Path, seeds: SeedSet, errors: Collector) -> None:
    """Read, validate and cross-check one seed file into `seeds`; every error to `errors`.

    Each row is validated by the kind's row model, then checked for references to what
    earlier files name, for a key an earlier line had, and resolved into its record.
    A row citing an invalid record, or a file that is missing, is not reported again as
    "not in <file>" (that would be untrue): what a file names counts its invalid records,
    and is None when the file could not be read at all.
    """
    file = str(folder / kind.file)
    text = _read_text(folder / kind.file, file, errors)
    if text is None:
        return
    errors_before = len(errors.errors)
    records = _records(kind, text, file, errors)
    if kind.named is not None and (records or len(errors.errors) == errors_before):
        seeds.named[kind.name] = {kind.named(data) for _, data in records}
    resolve = kind.resolver() if kind.resolver is not None else None
    first_lines: dict[Hashable, int] = {}
    accepted = seeds.records[kind.name]
    lines: list[int] = []
    for line, data in records:
        row = errors.validate(kind.row, data, file, line)
        if row is None:
            continue
        ok = True
        if kind.references is not None:
            for field_name, message in kind.references(row, seeds):
                errors.add(file, line, field_name, message)
                ok = False
        if kind.duplicate is not None:
            key = kind.key(row)
            if key in first_lines:
                error = kind.duplicate(row, first_lines[key])
                errors.add(file, line, error.field, error.message)
                continue
            first_lines[key] = line
        if not ok:
            continue
        record = row if resolve is None else resolve(row, line)
        if isinstance(record, RowError):
            errors.add(file, line, record.field, record.message)
            continue
        accepted.append(record)
        lines.append(line)
    if kind is SOURCES:
        seeds.relays = {source.id: list(source.relays or ()) for source in accepted}
    if kind.whole_file is not None and len(errors.errors) == errors_before:
        refused = kind.whole_file(list(zip(lines, accepted, strict=True)))
        if refused is not None:
            errors.add(file, refused.line, refused.field, refused.message)


def read_seeds(folder: Path, *, assessments: bool = True) -> SeedSet:
    """Parse and cross-check every seed file; raise SeedValidationError listing all errors.

    With `assessments=False` the (possibly huge) assessments file is left to the streaming
    bulk loader, which checks its rows against what the other files name (`seeds.named`).
    """
    errors = Collector()
    seeds = SeedSet()
    for kind in KINDS:
        if assessments or kind is not STREAMED:
            _read_kind(kind, folder, seeds, errors)
    if errors.errors:
        raise SeedValidationError(errors.errors)
    return seeds
