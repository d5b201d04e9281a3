"""Where the workers of `serve --workers N` keep their metrics (PROMETHEUS_MULTIPROC_DIR).

prometheus-client picks where values live when it is first imported: in files under
PROMETHEUS_MULTIPROC_DIR if the variable is set by then, else in the process's memory. So
this module imports nothing of it, and `serve` calls `prepare` before anything that does
(issue 20: an import before the variable was set left a single worker's counts in memory
while `/metrics` summed the empty directory). app.observability.metrics also checks the
storage when it builds its metrics.

One worker process needs no files: it answers every scrape from its own memory. Several do:
each writes its own files, and whichever answers a scrape sums them. A directory `serve`
makes itself (`cp-metrics-<pid>-*` in the temp dir) is removed when it exits, SIGTERM
included; one left by a `serve` that could not clean up (SIGKILL, a crash) is removed by
the next `serve` that finds its owner's pid gone.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "cp-metrics-"
_OWNED = re.compile(re.escape(PREFIX) + r"(\d+)-")


@dataclass(frozen=True)
class MetricsDir:
    """The directory the workers share; `owned` if `serve` made it (and so removes it)."""

    path: Path
    owned: bool
    owner_pid: int

    def remove(self) -> None:
        # Only the `serve` process itself: Granian's workers are forked from it and inherit
        # its signal handlers until they set their own.
        if self.owned and os.getpid() == self.owner_pid:
            shutil.rmtree(self.path, ignore_errors=True)


def prepare(workers: int) -> MetricsDir | None:
    """Set PROMETHEUS_MULTIPROC_DIR before any worker starts, if there is to be one.

    A directory the environment names is used (emptied of a previous run's files) whatever
    the number of workers. Else stale directories are swept from the temp dir, and several
    workers get a new one there; a single worker gets none (its values stay in memory)."""
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return MetricsDir(path, owned=False, owner_pid=os.getpid())
    temp = Path(tempfile.gettempdir())
    sweep_stale(temp)
    if workers <= 1:
        return None
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=temp))
    os.environ[MULTIPROC_ENV] = str(path)
    return MetricsDir(path, owned=True, owner_pid=os.getpid())


def sweep_stale(temp: Path) -> list[Path]:
    """Remove `cp-metrics-<pid>-*` directories of ours whose `serve` is gone; what went."""
    removed = []
    for candidate in temp.glob(f"{PREFIX}*"):
        found = _OWNED.match(candidate.name)
        if found is None or _alive(int(found[1])):
            continue
        try:
            info = candidate.lstat()
        except OSError:
            continue
        # A shared temp dir: never follow a link, never touch another user's directory.
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        shutil.rmtree(candidate, ignore_errors=True)
        removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


@contextmanager
def removed_at_exit(metrics_dir: MetricsDir | None) -> Iterator[None]:
    """Remove an owned directory however the block ends, SIGTERM included.

    uvicorn (one worker) catches SIGTERM, shuts down, then raises the signal again with the
    previous handler in place, which by default ends the process before any `finally` runs.
    The handler set here removes the directory first, then lets the signal end the process
    as before. Servers that return normally (Granian, uvicorn's supervisor) reach `finally`.
    """
    if metrics_dir is None or not metrics_dir.owned:
        yield
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        metrics_dir.remove()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        metrics_dir.remove()
        signal.signal(signal.SIGTERM, previous)
