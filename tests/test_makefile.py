"""The Makefile, the front door (issue 12): `make run` installs the runtime only, takes
PORT= and HOST=, says when the port is taken before it migrates; a Python older than 3.11
gets one line. Every run points VENV at a temporary folder: nothing is installed."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _needs_make() -> None:
    if shutil.which("make") is None:
        if os.environ.get("REQUIRE_MAKE") == "1":
            pytest.fail("make is not installed (REQUIRE_MAKE=1)")
        pytest.skip("make is not installed: the Makefile tests need it")


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_make_run_installs_the_runtime_and_checks_the_port_before_migrating(
    tmp_path: Path,
) -> None:
    venv = tmp_path / "venv"
    result = make(
        "-n", "run", "PORT=8080", "HOST=0.0.0.0", f"VENV={venv}", f"PYTHON={sys.executable}"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"{venv}/bin/python -m pip install --quiet -e ." in lines
    assert not [line for line in lines if "[dev]" in line]
    assert lines[-4:] == [
        f"{venv}/bin/country-positions serve --check-port --host 0.0.0.0 --port 8080",
        f"{venv}/bin/country-positions migrate",
        f"{venv}/bin/country-positions seed",
        f"{venv}/bin/country-positions serve --host 0.0.0.0 --port 8080",
    ]


def test_make_run_serves_on_127_0_0_1_8000_by_default(tmp_path: Path) -> None:
    result = make("-n", "run", f"VENV={tmp_path}", f"PYTHON={sys.executable}")
    assert result.stdout.splitlines()[-1] == (
        f"{tmp_path}/bin/country-positions serve --host 127.0.0.1 --port 8000"
    )


def test_make_test_installs_the_dev_tools(tmp_path: Path) -> None:
    for target in ("test", "check", "pytest"):
        result = make("-n", target, f"VENV={tmp_path}", f"PYTHON={sys.executable}")
        assert result.returncode == 0, result.stderr
        assert f"{tmp_path}/bin/python -m pip install --quiet -e '.[dev]'" in (
            result.stdout.splitlines()
        ), target


@pytest.fixture
def installed_venv(tmp_path: Path) -> Path:
    """A VENV the Makefile takes as installed, whose country-positions logs each command
    and runs this checkout's CLI."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    checksum = subprocess.run(
        ["cksum", "pyproject.toml"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()[0]
    (venv / f".runtime-{checksum}").touch()
    cli = venv / "bin" / "country-positions"
    cli.write_text(
        f'#!/bin/sh\necho "$*" >> {tmp_path / "commands.log"}\nexec {sys.executable} -m app "$@"\n'
    )
    cli.chmod(0o755)
    return venv


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_make_run_stops_before_migrating_when_the_port_is_taken(
    installed_venv: Path, taken_port: int, tmp_path: Path
) -> None:
    result = make(
        "run",
        f"PORT={taken_port}",
        f"VENV={installed_venv}",
        # Were the check to pass, migrate would touch this database, not ./var/.
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
    )
    assert result.returncode != 0
    assert (
        f"error: port {taken_port} on 127.0.0.1 is already in use; choose another with "
        "--port (make run PORT=8080)"
    ) in result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    log = (tmp_path / "commands.log").read_text().splitlines()
    assert log == [f"serve --check-port --host 127.0.0.1 --port {taken_port}"]
    assert not (tmp_path / "db.sqlite3").exists()


def test_make_refuses_python_older_than_3_11_in_one_line(tmp_path: Path) -> None:
    """The version check runs the Makefile's own code under a Python that says it is 3.10."""
    fake = tmp_path / "python3.10"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "sys.version_info = (3, 10, 14, 'final', 0)\n"
        "assert sys.argv[1] == '-c'\n"
        "exec(sys.argv[2])\n"
    )
    fake.chmod(0o755)
    venv = tmp_path / "venv"
    for target in ("run", "test"):
        result = make(target, f"PYTHON={fake}", f"VENV={venv}")
        assert result.returncode == 2, target
        assert result.stdout == ""
        assert re.fullmatch(
            rf"Makefile:\d+: \*\*\* Python 3\.11\+ is required, but {re.escape(str(fake))} is "
            r"3\.10: pass PYTHON=python3\.11 \(or newer\)\.  Stop\.\n",
            result.stderr,
        ), result.stderr
        assert not venv.exists()


def test_make_names_a_python_that_cannot_be_run(tmp_path: Path) -> None:
    result = make("run", f"PYTHON={tmp_path / 'no-python'}", f"VENV={tmp_path / 'venv'}")
    assert result.returncode == 2
    assert result.stderr.endswith(
        f"{tmp_path / 'no-python'} cannot be run: pass PYTHON=python3.11 (or newer).  Stop.\n"
    )
    assert result.stderr.count("\n") == 1
