"""The loader refuses a bad public-record field with its file and line, writing nothing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from app.seeding.reading import SeedValidationError
from app.settings import Settings
from tests.factories import SEEDS, dump_database, load_seed_folder


def _replace(folder: Path, file: str, old: str, new: str) -> None:
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(folder: Path, file: str, needle: str) -> int:
    lines = (folder / file).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


BREAKAGES: dict[str, tuple[Callable[[Path], None], str, str, str]] = {
    # name: (break the folder, file blamed, text on the blamed line, words of the message)
    "bad language code": (
        lambda d: _replace(d, "sources.yaml", "  language: sl\n", "  language: xx\n"),
        "sources.yaml",
        "- id: delo-pentagon-slovenia-political-will-2023",
        "no ISO 639-1 language code",
    ),
    "bad evidence language": (
        lambda d: _replace(d, "assessments.csv", ",sl,", ",slovenian,"),
        "assessments.csv",
        ",slovenian,",
        "evidence_language",
    ),
    "relay cycle": (
        lambda d: _replace(
            d,
            "sources.yaml",
            "  relays: [us-europe-response-chart-2023]\n\n- id: reuters",
            "  relays: [delo-pentagon-slovenia-political-will-2023]\n\n- id: reuters",
        ),
        "sources.yaml",
        "- id: newsweek-leaked-europe-chart-2023",
        "cycle",
    ),
    "missing hop": (
        lambda d: _replace(
            d, "assessments.csv", ",newsweek-leaked-europe-chart-2023,2023-03-02,", ",,2023-03-02,"
        ),
        "assessments.csv",
        "delo-pentagon-slovenia-political-will-2023,,2023-03-02",
        "missing hop",
    ),
    "denial naming no assessment": (
        lambda d: _replace(
            d,
            "denials.yaml",
            "  source: us-europe-response-chart-2023\n",
            "  source: tass-serbia-may-deliver-arms-2023\n",
        ),
        "denials.yaml",
        "- id: rs-defence-minister-vucevic-2023-04-12",
        "names no assessment",
    ),
    "lumped claim naming a column": (
        lambda d: _replace(
            d, "claims.yaml", "  kind: lumped\n", "  kind: lumped\n  category: future_will\n"
        ),
        "claims.yaml",
        "- id: inosmi-ten-declining-will-and-capabilities",
        "names no column",
    ),
}


@pytest.mark.parametrize("name", BREAKAGES)
def test_a_bad_public_record_field_is_refused_with_file_and_line_and_nothing_is_written(
    name: str, seeded_settings: Settings, tmp_path: Path
) -> None:
    breaks, file, blamed, words = BREAKAGES[name]
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    before = dump_database(seeded_settings)
    _replace(folder, "assessments.csv", "Malta No in all four", "Malta no in all four")
    breaks(folder)
    with pytest.raises(SeedValidationError) as raised:
        load_seed_folder(seeded_settings, folder)
    line = _line_of(folder, file, blamed)
    errors = [e for e in raised.value.errors if e.file.endswith(file)]
    assert [(e.line, words in str(e)) for e in errors] == [(line, True)], raised.value.errors
    assert dump_database(seeded_settings) == before  # the valid change was not written either
