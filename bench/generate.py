"""Write a synthetic catalogue in the format of `seeds/`, streamed to disk.

    .venv/bin/python -m bench.generate --assessments 1000000 --out /tmp/cat-1m

Countries are real ISO 3166-1 alpha-2 codes (from pycountry; the loader validates codes
against ISO 3166 and the user-assigned range), then, past those, the user-assigned codes
AA, QM-QZ, XA-XZ and ZZ with synthetic names. That caps a catalogue at
len(ISO) + 42 countries (291 with the current pycountry). Assessments enumerate
(country, category, source) combinations, country fastest, then repeat them over
successive dates, so every combination gets a history of about
assessments / (countries * 4 * sources) dates; values are drawn from `--seed`.
Nothing is built in memory: each row is written as it is generated.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pycountry

from app.seeding import reading

CATEGORIES_YAML = """\
# Synthetic catalogue: the four categories, in chart order (same keys as seeds/).
- key: training
  label: Training
  definition: Synthetic definition of training.
- key: lethal_aid
  label: Lethal aid
  definition: Synthetic definition of lethal aid.
- key: future_capability
  label: Future capability
  definition: Synthetic definition of future capability.
- key: future_will
  label: Future will
  definition: Synthetic definition of future will.
"""
CATEGORY_KEYS = ("training", "lethal_aid", "future_capability", "future_will")
VALUES = ("yes", "no", "decreasing")
USER_ASSIGNED = sorted(reading.USER_ASSIGNED)
FIRST_DATE = date(2000, 1, 3)
DAYS_PER_STEP = 7  # each step of a combination's history is a week; a day of jitter within it
# A concentrated country's history is daily and ends before FIRST_DATE (no clash, no future).
CONCENTRATED_FIRST_DATE = date(1900, 1, 1)
# The loader's header, in its order (assessments are a CSV kind: it has columns).
assert reading.ASSESSMENT_COLUMNS is not None
ASSESSMENT_COLUMNS: tuple[str, ...] = tuple(reading.ASSESSMENT_COLUMNS)


@dataclass(frozen=True)
class Country:
    code: str
    name: str = ""
    alpha3: str = ""
    numeric: str = ""


def available_countries() -> list[Country]:
    """Every code the seed loader accepts: ISO codes first, then user-assigned ones."""
    iso = sorted(c.alpha_2 for c in pycountry.countries)
    iso_alpha3 = {c.alpha_3 for c in pycountry.countries}
    countries = [Country(code) for code in iso]
    for code in USER_ASSIGNED:
        if code in iso:
            continue
        alpha3 = f"X{code}" if f"X{code}" not in iso_alpha3 else f"Q{code}"
        countries.append(Country(code, f"Synthetic country {code}", alpha3, ""))
    return countries


def max_countries() -> int:
    return len(available_countries())


def pick_countries(n: int) -> list[Country]:
    pool = available_countries()
    if n > len(pool):
        raise ValueError(
            f"at most {len(pool)} countries: the loader accepts ISO 3166-1 alpha-2 codes "
            f"({len(pool) - len(USER_ASSIGNED)} in pycountry) plus {len(USER_ASSIGNED)} "
            "user-assigned codes"
        )
    return pool[:n]


def source_ids(n: int) -> list[str]:
    return [f"synthetic-source-{i:04d}" for i in range(1, n + 1)]


def _write_countries(path: Path, countries: Sequence[Country]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "alpha3", "numeric"])
        for c in countries:
            writer.writerow([c.code, c.name, c.alpha3, c.numeric])


def _write_sources(path: Path, ids: Sequence[str]) -> None:
    kinds = ("news_report", "analysis", "official_statement", "leaked_document")
    with path.open("w", encoding="utf-8") as handle:
        handle.write("# Synthetic sources.\n")
        for i, source_id in enumerate(ids):
            handle.write(
                f"- id: {source_id}\n"
                f"  title: Synthetic source {i + 1}\n"
                f"  kind: {kinds[i % len(kinds)]}\n"
                f"  publisher: Synthetic publisher {i % 7 + 1}\n"
                f"  url: https://example.org/sources/{source_id}\n"
                f"  published_on: 2023-01-{i % 28 + 1:02d}\n"
                "  verification_status: unverified\n"
                "  verification_note: Generated for benchmarks; not real data.\n"
            )


def _write_groups(folder: Path, countries: Sequence[Country], ids: Sequence[str]) -> None:
    """One synthetic group (the seed loader requires both group files), every 10th country
    a member since FIRST_DATE."""
    (folder / "groups.yaml").write_text(
        "# Synthetic group.\n"
        "- key: synthetic\n"
        "  name: Synthetic group\n"
        "  description: Every tenth synthetic country; generated for benchmarks.\n"
        f"  source: {ids[0]}\n",
        encoding="utf-8",
    )
    with (folder / "group_memberships.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["group", "country_code", "joined", "left", "source_id", "note"])
        for c in countries[::10]:
            writer.writerow(["synthetic", c.code, FIRST_DATE.isoformat(), "", ids[0], ""])


def assessment_rows(
    countries: Sequence[Country], sources: Sequence[str], total: int, seed: int
) -> Iterator[list[str]]:
    """`total` unique rows: combination `i % combos` at history step `i // combos`."""
    rng = random.Random(seed)
    combos = len(countries) * len(CATEGORY_KEYS) * len(sources)
    for i in range(total):
        step, combo = divmod(i, combos)
        country = countries[combo % len(countries)]
        rest = combo // len(countries)
        category = CATEGORY_KEYS[rest % len(CATEGORY_KEYS)]
        source = sources[rest // len(CATEGORY_KEYS)]
        as_of = FIRST_DATE + timedelta(days=step * DAYS_PER_STEP + rng.randrange(DAYS_PER_STEP))
        value = VALUES[rng.randrange(len(VALUES))]
        reported_via = sources[(rest + 1) % len(sources)] if rng.random() < 0.3 else ""
        yield [
            country.code,
            category,
            value,
            source,
            reported_via if reported_via != source else "",
            "",
            as_of.isoformat(),
            f"Synthetic evidence #{i}: {source} reads {value} for {country.code} {category}.",
            "",
            "",
        ]


def concentrated_rows(
    country: Country, sources: Sequence[str], total: int, seed: int
) -> Iterator[list[str]]:
    """`total` rows for one country: a daily history of every (category, source) pair, up
    to the day before FIRST_DATE (so never clashing with `assessment_rows`)."""
    rng = random.Random(seed + 1)
    combos = len(CATEGORY_KEYS) * len(sources)
    if CONCENTRATED_FIRST_DATE + timedelta(days=-(-total // combos)) >= FIRST_DATE:
        raise ValueError(
            f"{total:,} assessments on one country need more than {combos} (category, source) "
            "pairs a day from 1900 to 2000: give more --sources"
        )
    for i in range(total):
        step, combo = divmod(i, combos)
        category = CATEGORY_KEYS[combo % len(CATEGORY_KEYS)]
        source = sources[combo // len(CATEGORY_KEYS)]
        value = VALUES[rng.randrange(len(VALUES))]
        yield [
            country.code,
            category,
            value,
            source,
            "",
            "",
            (CONCENTRATED_FIRST_DATE + timedelta(days=step)).isoformat(),
            f"Synthetic evidence #c{i}: {source} reads {value} for {country.code} {category}.",
            "",
            "",
        ]


def generate(
    out: Path,
    *,
    countries: int,
    sources: int,
    assessments: int,
    seed: int,
    export_country_rows: int = 0,
) -> Path:
    """Write countries.csv, categories.yaml, sources.yaml, groups.yaml,
    group_memberships.csv, assessments.csv and (empty) claims.yaml and denials.yaml into
    `out`.

    `export_country_rows` of the `assessments` go to the first country alone (one big
    export, for bench.scale's export figures); the rest are spread as usual."""
    chosen = pick_countries(countries)
    ids = source_ids(sources)
    if not 0 <= export_country_rows <= assessments:
        raise ValueError("export_country_rows must be between 0 and the number of assessments")
    out.mkdir(parents=True, exist_ok=True)
    _write_countries(out / "countries.csv", chosen)
    (out / "categories.yaml").write_text(CATEGORIES_YAML, encoding="utf-8")
    _write_sources(out / "sources.yaml", ids)
    _write_groups(out, chosen, ids)
    # No claims nor denials: the files are required, and an empty list is a valid one.
    for empty in ("claims.yaml", "denials.yaml"):
        (out / empty).write_text("[]\n", encoding="utf-8")
    with (out / "assessments.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ASSESSMENT_COLUMNS)
        writer.writerows(concentrated_rows(chosen[0], ids, export_country_rows, seed))
        writer.writerows(assessment_rows(chosen, ids, assessments - export_country_rows, seed))
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description="Write a synthetic seed catalogue (same format as seeds/), streamed to disk.",
    )
    parser.add_argument(
        "--countries",
        type=int,
        default=249,
        help="number of countries; ISO codes first, then user-assigned ones "
        f"(at most {max_countries()}; default: %(default)s)",
    )
    parser.add_argument("--sources", type=int, default=10, help="sources (default: %(default)s)")
    parser.add_argument(
        "--assessments", type=int, default=1000, help="assessment rows (default: %(default)s)"
    )
    parser.add_argument(
        "--export-country-rows",
        type=int,
        default=0,
        help="of the assessments, how many go to the first country alone: one export of "
        "that size (default: %(default)s)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.countries < 1 or args.sources < 1 or args.assessments < 0:
        print("error: --countries and --sources must be >= 1, --assessments >= 0", file=sys.stderr)
        return 2
    try:
        generate(
            args.out,
            countries=args.countries,
            sources=args.sources,
            assessments=args.assessments,
            seed=args.seed,
            export_country_rows=args.export_country_rows,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    combos = args.countries * len(CATEGORY_KEYS) * args.sources
    print(
        f"wrote {args.out}: {args.countries} countries, {args.sources} sources, "
        f"{args.assessments} assessments (~{args.assessments / combos:.1f} dates per "
        "country, category and source)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
