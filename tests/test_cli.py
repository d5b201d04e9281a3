from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

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


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process (here, this one) is listening on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_serve_check_port_on_a_taken_port_is_one_line_exit_1(taken_port: int) -> None:
    """Issue 12: `make run` says the port is taken before it migrates (it runs this)."""
    for argv in (["serve", "--check-port"], ["serve"]):  # serve itself says so too
        result = subprocess.run(
            [sys.executable, "-m", "app", *argv, "--port", str(taken_port)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 1, argv
        assert result.stderr == (
            f"error: port {taken_port} on 127.0.0.1 is already in use; choose another with "
            "--port (make run PORT=8080)\n"
        ), argv
        assert result.stdout == ""


def test_serve_check_port_on_a_free_port_is_silent_exit_0(taken_port: int) -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        free = spare.getsockname()[1]  # not listening: bindable again with SO_REUSEADDR
    assert free != taken_port
    assert main(["serve", "--check-port", "--port", str(free)]) == 0


def test_serve_check_port_on_an_address_not_ours_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never an address of this machine.
    assert main(["serve", "--check-port", "--host", "192.0.2.1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot bind port 8000 on 192.0.2.1: "), err
    assert err.count("\n") == 1
