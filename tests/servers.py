"""Run the real service in a subprocess on a free loopback port (datasette-style)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(
    database_url: str,
    command: Sequence[str] | None = None,
    *,
    ready_path: str = "/readyz",
    timeout: float = 30.0,
    extra_env: dict[str, str] | None = None,
    unset_env: Sequence[str] = (),
    log_path: Path | None = None,
) -> Iterator[str]:
    """Start `country-positions serve` (or `command` + host/port args); yield its base URL.
    It is stopped with SIGTERM, as Docker and orchestrators stop it.

    `unset_env`: variables of this process kept out of the server's environment.
    `log_path`: where its output goes (to read its log lines); a temporary file otherwise."""
    port = free_port()
    argv = list(command or [sys.executable, "-m", "app", "serve"])
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **(extra_env or {}),
    }
    for name in unset_env:
        env.pop(name, None)
    # Output goes to a file, not a pipe nobody reads (a full pipe would stall the server).
    opened = log_path.open("w+") if log_path else tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  # closed by the with below
    with opened as log:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"server exited with {process.returncode}:\n{log.read()}")
                try:
                    if httpx.get(base + ready_path, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"server not ready on {base} after {timeout}s")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
