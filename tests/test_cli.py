from __future__ import annotations

import subprocess
import sys

import pytest

from app import __version__
from app.cli import main


def test_cli_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"country-positions {__version__}"
    with pytest.raises(SystemExit):
        main(["seed", "--help"])
    assert "--dry-run" in capsys.readouterr().out


def test_cli_without_command_is_usage_error_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "usage: country-positions" in result.stderr
