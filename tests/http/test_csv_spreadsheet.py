"""The proof that the leading `'` works: LibreOffice Calc opens the CSV export and the hostile
evidence is a text cell, not a formula.

Assessments whose evidence starts with `=`, `+`, `-`, `@`, a tab or a CR are written through
the API (tests/http/conftest.py), the CSV export is downloaded and converted headless to
xlsx (`soffice --convert-to xlsx`, the CSV import's defaults, which run formulas), and
openpyxl reads each cell's type. A control file holding the same evidence without the `'`
shows that Calc would otherwise make it a formula.

Needs `soffice` on PATH (Debian: `apt-get install libreoffice-calc`); skips loudly without
it, fails with REQUIRE_LIBREOFFICE=1 (set by .ci/run, which installs it). One conversion
costs about 1.5 s, so files are converted in one `soffice` run per call and each distinct
CSV once per test session (both backends export the same bytes).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from tests.http.conftest import HYPERLINK, NOTE, Hostile

CONVERT_SECONDS = 120


def soffice_binary() -> str:
    found = shutil.which("soffice")
    if found is None:
        reason = "LibreOffice is not installed (apt-get install -y libreoffice-calc)"
        if os.environ.get("REQUIRE_LIBREOFFICE") == "1":
            pytest.fail(f"{reason}; REQUIRE_LIBREOFFICE=1")
        pytest.skip(f"spreadsheet tests skipped: {reason}")
    return found


class Calc:
    """LibreOffice headless with a private profile (parallel runs never share one), which
    converts CSV bytes to worksheets, each distinct CSV once."""

    def __init__(self, soffice: str, workdir: Path) -> None:
        self.soffice = soffice
        self.workdir = workdir
        self.profile = (workdir / "profile").as_uri()
        self.sheets: dict[str, Worksheet] = {}
        self.timings: list[float] = []

    def open(self, *files: bytes) -> list[Worksheet]:
        names = [hashlib.sha256(body).hexdigest()[:16] for body in files]
        todo = [(n, b) for n, b in zip(names, files, strict=True) if n not in self.sheets]
        if todo:
            self._convert(todo)
        return [self.sheets[name] for name in names]

    def _convert(self, files: Sequence[tuple[str, bytes]]) -> None:
        paths = []
        for name, body in files:
            path = self.workdir / f"{name}.csv"
            path.write_bytes(body)
            paths.append(str(path))
        out = self.workdir / "xlsx"
        started = time.perf_counter()
        done = subprocess.run(
            [
                self.soffice,
                f"-env:UserInstallation={self.profile}",
                "--headless",
                "--norestore",
                "--convert-to",
                "xlsx",
                "--outdir",
                str(out),
                *paths,
            ],
            capture_output=True,
            text=True,
            timeout=CONVERT_SECONDS,
            check=False,
        )
        self.timings.append(time.perf_counter() - started)
        for name, _ in files:
            converted = out / f"{name}.xlsx"
            assert converted.exists(), (done.returncode, done.stdout, done.stderr)
            sheet = load_workbook(converted).active
            assert isinstance(sheet, Worksheet)
            self.sheets[name] = sheet


@pytest.fixture(scope="module")
def calc(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Calc]:
    """One converter for the module, so both backends share conversions; its timings
    are written to the terminal at the end."""
    converter = Calc(soffice_binary(), tmp_path_factory.mktemp("libreoffice"))
    yield converter
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if converter.timings and reporter is not None and capture is not None:
        seconds = ", ".join(f"{t:.2f} s" for t in converter.timings)
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nLibreOffice conversions (soffice runs): {seconds}")


def _control(evidence: Sequence[str]) -> bytes:
    """The same evidence written by a plain csv.writer, without the `'`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["evidence"])
    writer.writerows([e] for e in evidence)
    return buffer.getvalue().encode()


def _column(sheet: Worksheet, name: str) -> dict[int, tuple[str, object]]:
    """Row number -> (openpyxl data_type, value) of the column named `name`."""
    header = [cell.value for cell in sheet[1]]
    index = header.index(name) + 1
    return {
        row: (sheet.cell(row, index).data_type, sheet.cell(row, index).value)
        for row in range(2, sheet.max_row + 1)
    }


def test_calc_opens_hostile_evidence_as_text_not_formulas(hostile: Hostile, calc: Calc) -> None:
    response = hostile.client.get("/exports/countries/RS/assessments.csv")
    assert response.status_code == 200, response.text
    control, exported = calc.open(_control([HYPERLINK]), response.content)
    # Without the `'`, Calc makes the evidence a formula: the threat is real here.
    assert _column(control, "evidence")[2] == ("f", HYPERLINK)
    ids = {int(str(v)): row for row, (_, v) in _column(exported, "id").items() if v is not None}
    evidence = _column(exported, "evidence")
    for id_, text in hostile.evidence.items():
        data_type, value = evidence[ids[id_]]
        assert data_type == "s", (id_, text, data_type, value)
        # The text as written, behind the `'` (Calc keeps it visible; a CR reads as a LF).
        assert value == "'" + text.replace("\r", "\n"), (id_, value)
    data_type, value = _column(exported, "note")[ids[hostile.noted]]
    assert (data_type, value) == ("s", "'" + NOTE)
    # Ordinary evidence reads as written.
    hostile_rows = {ids[id_] for id_ in hostile.evidence}
    ordinary = [cell for row, cell in evidence.items() if row not in hostile_rows]
    assert ordinary and all(t == "s" and not str(v).startswith("'") for t, v in ordinary)
