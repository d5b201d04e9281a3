"""Positions of one dataset revision, derived once and kept as rendered JSON.

A cache miss used to cost 3.5-8 ms of Python per request (ORM entities, Pydantic
validation, three thread hops) while the SQL took 0.5 ms (issue 10). Two facts make most
misses cheap:

- A position can only change on a date some assessment of that country has. So an `as_of`
  maps to its *canonical date*, the latest assessment date of the country on or before it,
  and every `as_of` between two such dates reads the same positions. Entries are keyed
  (country, canonical date, source): a crawler walking every day of a decade costs one
  derivation per date that matters, not per URL.
- Everything here belongs to one dataset revision (every write bumps it), so nothing is
  ever invalidated piecemeal: a new revision starts an empty view.

`peek_*` look only in memory (for the event loop, given a revision the tracker vouches
for); the other methods read the database in the caller's session, reading the revision
first, so what they store is never older than the revision it is filed under.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assessments.models import Assessment
from app.assessments.positions import Position
from app.assessments.schemas import AssessmentRead, PositionRead, PositionSource
from app.assessments.service import positions_for
from app.countries import service as countries_service
from app.countries.schemas import CountryRead
from app.groups import service as groups_service
from app.groups.models import GroupMembership
from app.revisions.models import current_revision
from app.sources import service as sources_service
from app.sources.models import Source
from app.statements.schemas import ClaimRead, DenialRead
from app.statements.service import CountryStatements, statement_dates, statements_for
from app.vocabulary import Coverage, PositionValue, VerificationStatus

_POSITIONS_JSON = TypeAdapter(list[PositionRead])
_CLAIMS_JSON = TypeAdapter(list[ClaimRead])
# Canonical date of an `as_of` before a country's first assessment: nothing counts yet.
BEFORE_ANY = date.min


def canonical_date(dates: Sequence[date], as_of: date | None) -> date:
    """The latest of a country's assessment `dates` (sorted) on or before `as_of` (None:
    the latest of all), or BEFORE_ANY: the date whose positions `as_of` reads."""
    if as_of is None:
        return dates[-1] if dates else BEFORE_ANY
    at = bisect.bisect_right(dates, as_of)
    return dates[at - 1] if at else BEFORE_ANY


@dataclass(frozen=True)
class CountryEntry:
    code: str
    alpha3: str
    numeric: str | None
    name: str
    official_name: str | None
    json: bytes


@dataclass(frozen=True)
class Rendered:
    """A country's four positions: values and flags for filters, CSV and stats, the sources
    behind each (id and verification status, for the CSV), plus JSON."""

    values: tuple[PositionValue, ...]
    disputed: tuple[bool, ...]
    sources: tuple[tuple[tuple[str, VerificationStatus], ...], ...]
    json: bytes
    # Whether a source is known to have assessed the country (a row of the chart), and its
    # lumped claims as JSON (`CountryPositions.claims`).
    covered: bool = False
    claims_json: bytes = b"[]"

    @property
    def size(self) -> int:
        return len(self.json) + len(self.claims_json) + 200

    @property
    def coverage(self) -> Coverage:
        """The country's coverage: `reported` when any category has a value."""
        if any(v is not PositionValue.unknown for v in self.values):
            return Coverage.reported
        return coverage_of(PositionValue.unknown, self.covered)

    @property
    def coverages(self) -> list[Coverage]:
        """The country's coverage, then each category's (the positions CSV's columns)."""
        return [self.coverage, *(coverage_of(v, self.covered) for v in self.values)]


def coverage_of(value: PositionValue, covered: bool) -> Coverage:
    """A cell's coverage: reported, or else whether a source is known to have assessed it."""
    if value is not PositionValue.unknown:
        return Coverage.reported
    return Coverage.covered_not_reported if covered else Coverage.not_known_covered


def render(
    positions: Sequence[Position],
    statements: CountryStatements | None = None,
    *,
    covered: bool = False,
) -> Rendered:
    """A country's positions as served: each cell with its coverage, the claims relayed
    about it and the denials beside it; the country's lumped claims apart."""
    statements = statements or CountryStatements()
    reads = [
        PositionRead(
            category=p.category,
            value=p.value,
            disputed=p.disputed,
            as_of=p.as_of,
            source_ids=p.source_ids,
            sources=[PositionSource.model_validate(s) for s in p.sources],
            assessments=[AssessmentRead.model_validate(a) for a in p.assessments],
            coverage=coverage_of(p.value, covered),
            claims=[ClaimRead.model_validate(c) for c in statements.cells.get(p.category, ())],
            denials=[DenialRead.model_validate(d) for d in statements.denials.get(p.category, ())],
        )
        for p in positions
    ]
    return Rendered(
        values=tuple(p.value for p in positions),
        disputed=tuple(p.disputed for p in positions),
        sources=tuple(
            tuple((source.id, source.verification_status) for source in p.sources)
            for p in positions
        ),
        json=_POSITIONS_JSON.dump_json(reads),
        covered=covered,
        claims_json=_CLAIMS_JSON.dump_json(
            [ClaimRead.model_validate(c) for c in statements.lumped]
        ),
    )


def country_positions_json(
    country: CountryEntry, as_of: bytes, source: bytes, rendered: Rendered
) -> bytes:
    """The `CountryPositions` document, assembled from its rendered parts; `as_of` and
    `source` come JSON-encoded (see `encode_request`), once for a whole chart."""
    return b"".join(
        (
            b'{"country":',
            country.json,
            b',"as_of":',
            as_of,
            b',"source":',
            source,
            b',"positions":',
            rendered.json,
            b',"coverage":"',
            rendered.coverage.value.encode(),
            b'","claims":',
            rendered.claims_json,
            b"}",
        )
    )


def encode_request(as_of: date | None, source: str | None) -> tuple[bytes, bytes]:
    """The JSON of a request's `as_of` and `source`, as the documents echo them."""
    as_of_json = b"null" if as_of is None else b'"' + as_of.isoformat().encode() + b'"'
    return as_of_json, json.dumps(source).encode()


Key = tuple[str, date, str | None]
# A group's membership spans: (country code, joined, left).
Spans = tuple[tuple[str, date, date | None], ...]


class RevisionView:
    """What is known of one revision: the catalogue, the sources, assessment dates per
    country, and rendered positions (LRU, bounded by entries and bytes)."""

    def __init__(self, revision: int, *, max_entries: int, max_bytes: int) -> None:
        self.revision = revision
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.by_code: dict[str, CountryEntry] | None = None
        self.ordered: tuple[CountryEntry, ...] = ()
        self.source_ids: frozenset[str] | None = None
        self.groups: dict[str, Spans] | None = None
        self.dates: dict[str, list[date]] = {}
        # Which (unretracted) sources are known to have assessed each country (coverage).
        self.covered_by: dict[str, frozenset[str]] = {}
        self._positions: OrderedDict[Key, Rendered] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    # -- memory only

    def find_country(self, code: str) -> CountryEntry | None:
        return None if self.by_code is None else self.by_code.get(code.upper())

    def knows_source(self, source: str | None) -> bool:
        return source is None or (self.source_ids is not None and source in self.source_ids)

    def knows_group(self, group: str | None) -> bool:
        return group is None or (self.groups is not None and group in self.groups)

    def in_group(
        self, entries: Sequence[CountryEntry], group: str | None, as_of: date | None
    ) -> list[CountryEntry]:
        """The `entries` that are members of `group` on `as_of` (today, UTC, if None);
        all of them without a group. The group must be known (`knows_group`)."""
        if group is None:
            return list(entries)
        assert self.groups is not None
        members = groups_service.members_on(
            self.groups[group], groups_service.membership_date(as_of)
        )
        return [e for e in entries if e.code in members]

    def covers(self, code: str, source: str | None) -> bool:
        """Whether a source (any, or `source`) is known to have assessed the country."""
        by = self.covered_by.get(code, frozenset())
        return bool(by) if source is None else source in by

    def canonical(self, code: str, as_of: date | None) -> date | None:
        """The canonical date of `as_of` for `code`, or None if its dates are not loaded."""
        dates = self.dates.get(code)
        return None if dates is None else canonical_date(dates, as_of)

    def cached(self, code: str, as_of: date | None, source: str | None) -> Rendered | None:
        canonical = self.canonical(code, as_of)
        if canonical is None:
            return None
        key = (code, canonical, source)
        with self._lock:
            rendered = self._positions.get(key)
            if rendered is not None:
                self._positions.move_to_end(key)
        return rendered

    def store(self, key: Key, rendered: Rendered) -> None:
        with self._lock:
            previous = self._positions.pop(key, None)
            if previous is not None:
                self._bytes -= previous.size
            self._positions[key] = rendered
            self._bytes += rendered.size
            while len(self._positions) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._positions.popitem(last=False)
                self._bytes -= evicted.size

    # -- from the database

    def load_catalogue(self, session: Session) -> None:
        if self.by_code is not None:
            return
        entries = tuple(
            CountryEntry(
                code=c.code,
                alpha3=c.alpha3,
                numeric=c.numeric,
                name=c.name,
                official_name=c.official_name,
                json=CountryRead.model_validate(c).model_dump_json().encode(),
            )
            for c in countries_service.all_countries(session)
        )
        self.source_ids = frozenset(session.scalars(select(Source.id)))
        covering: dict[str, set[str]] = {}
        for source_id, coverage in session.execute(
            select(Source.id, Source.coverage).where(Source.retracted_at.is_(None))
        ):
            for code in (coverage or {}).get("known", ()):
                covering.setdefault(code, set()).add(source_id)
        self.covered_by = {code: frozenset(ids) for code, ids in covering.items()}
        groups: dict[str, list[tuple[str, date, date | None]]] = {
            group.key: [] for group in groups_service.list_groups(session)
        }
        spans = select(
            GroupMembership.group_key,
            GroupMembership.country_code,
            GroupMembership.joined,
            GroupMembership.left,
        )
        for key, code, joined, left in session.execute(spans):
            groups[key].append((code, joined, left))
        self.groups = {key: tuple(found) for key, found in groups.items()}
        self.ordered = entries
        self.by_code = {e.code: e for e in entries} | {e.alpha3: e for e in entries}

    def load_dates(self, session: Session, codes: Sequence[str]) -> None:
        missing = [code for code in codes if code not in self.dates]
        if not missing:
            return
        found: dict[str, list[date]] = {code: [] for code in missing}
        query = (
            select(Assessment.country_code, Assessment.as_of)
            .distinct()
            .where(Assessment.country_code.in_(missing))
        )
        for code, as_of in session.execute(query):
            found[code].append(as_of)
        # Claims and denials follow `as_of` too: their dates change a country's document.
        for code, stated in statement_dates(session, missing).items():
            found[code].extend(stated)
        for code, dates in found.items():
            self.dates[code] = sorted(set(dates))

    def derive(
        self,
        session: Session,
        codes: Sequence[str],
        as_of: date | None,
        source: str | None,
    ) -> dict[str, Rendered]:
        """Rendered positions of `codes`, deriving (in one set-based pass) those not held."""
        self.load_dates(session, codes)
        out: dict[str, Rendered] = {}
        todo: list[str] = []
        for code in codes:
            rendered = self.cached(code, as_of, source)
            if rendered is None:
                todo.append(code)
            else:
                out[code] = rendered
        if todo:
            derived = positions_for(session, country_codes=todo, as_of=as_of, source_id=source)
            said = statements_for(session, country_codes=todo, as_of=as_of, source_id=source)
            for code in todo:
                rendered = render(derived[code], said[code], covered=self.covers(code, source))
                canonical = self.canonical(code, as_of)
                assert canonical is not None  # loaded above
                self.store((code, canonical, source), rendered)
                out[code] = rendered
        return out


class PositionSnapshots:
    """The current revision's view, replaced whenever a newer revision is seen."""

    def __init__(self, *, max_entries: int = 20_000, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._view = self._new(-1)
        self._lock = threading.Lock()

    def _new(self, revision: int) -> RevisionView:
        return RevisionView(revision, max_entries=self.max_entries, max_bytes=self.max_bytes)

    def view(self, revision: int) -> RevisionView:
        """The view of `revision`. An older revision (a reader that started before the
        latest commit) gets a private view, so it never replaces a newer one."""
        view = self._view
        if view.revision == revision:
            return view
        if revision < view.revision:
            return self._new(revision)
        with self._lock:
            if self._view.revision < revision:
                self._view = self._new(revision)
            return self._view

    def current(self, revision: int | None) -> RevisionView | None:
        """The view of a vouched revision if it is the one held (memory only)."""
        view = self._view
        return view if revision is not None and view.revision == revision else None

    # -- one country

    def peek_country(
        self, revision: int | None, code: str, as_of: date | None, source: str | None
    ) -> bytes | None:
        view = self.current(revision)
        if view is None or not view.knows_source(source):
            return None
        country = view.find_country(code)
        if country is None:
            return None
        rendered = view.cached(country.code, as_of, source)
        if rendered is None:
            return None
        return country_positions_json(country, *encode_request(as_of, source), rendered)

    def country(
        self, session: Session, code: str, as_of: date | None, source: str | None
    ) -> tuple[int, bytes]:
        """(revision, document) for one country; NotFound for an unknown country or source."""
        revision = current_revision(session)
        view = self.view(revision)
        view.load_catalogue(session)
        country = view.find_country(code)
        if country is None:
            countries_service.get_country(session, code=code)  # raises NotFound
            raise AssertionError("unreachable: the catalogue holds every country")
        self._check_source(session, view, source)
        rendered = view.derive(session, [country.code], as_of, source)[country.code]
        return revision, country_positions_json(country, *encode_request(as_of, source), rendered)

    # -- every country

    def peek_chart(
        self,
        revision: int | None,
        as_of: date | None,
        source: str | None,
        group: str | None = None,
    ) -> list[tuple[CountryEntry, Rendered]] | None:
        view = self.current(revision)
        if (
            view is None
            or view.by_code is None
            or not view.knows_source(source)
            or not view.knows_group(group)
        ):
            return None
        rows: list[tuple[CountryEntry, Rendered]] = []
        for country in view.in_group(view.ordered, group, as_of):
            rendered = view.cached(country.code, as_of, source)
            if rendered is None:
                return None
            rows.append((country, rendered))
        return rows

    def chart(
        self,
        session: Session,
        as_of: date | None,
        source: str | None,
        group: str | None = None,
    ) -> tuple[int, list[tuple[CountryEntry, Rendered]]]:
        """(revision, every country ordered by name with its positions; with `group`, only
        its members on `as_of`, or today). NotFound for an unknown source or group."""
        revision = current_revision(session)
        view = self.view(revision)
        view.load_catalogue(session)
        self._check_source(session, view, source)
        if not view.knows_group(group):
            assert group is not None
            groups_service.get_group(session, key=group)  # raises NotFound
        countries = view.in_group(view.ordered, group, as_of)
        rendered = view.derive(session, [c.code for c in countries], as_of, source)
        return revision, [(c, rendered[c.code]) for c in countries]

    @staticmethod
    def _check_source(session: Session, view: RevisionView, source: str | None) -> None:
        if not view.knows_source(source):
            assert source is not None
            sources_service.get_source(session, source_id=source)  # raises NotFound
