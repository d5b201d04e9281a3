"""A release's data package, built once and then served from storage (issue 20).

A release never changes, so neither does its package. Built per request, a package at
300k assessments outran the request's deadline: every download failed, none was kept, and
each kept burning CPU after its 503. So a package is built once per process storage and
key, off the request path:

- in one background thread (`PackageStore.ensure` is single-flight: concurrent callers
  share one build), through a frozen engine with no request deadline (`batch=True`);
- across worker processes on one host, under a file lock, so a second process waits for
  the first one's file instead of building its own;
- into CP_RELEASE_PACKAGES_DIR, under a name derived from everything the bytes depend on
  (the release's hash, version and creation time, CP_PUBLIC_URL in its citation, the
  database, the code version), written to a temporary file and renamed into place.

A request waits for a build while its CP_DB_DEADLINE budget lasts; past it, it gets a 503 saying the
package is being built, with `Retry-After`, and the build goes on for the next request.
`POST /releases` starts the build of the release it made. `datapackage.json` and
`data/*.csv` are read out of the stored zip, so all three always agree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import hashlib
import logging
import math
import os
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

from app import __version__
from app.db import make_sessionmaker
from app.db_deadline import budget_left
from app.errors import ServiceUnavailable
from app.releases import package
from app.releases.citation import citation
from app.releases.frozen import frozen_engine
from app.releases.models import Release
from app.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_DIRECTORY = Path(tempfile.gettempdir()) / "cp-release-packages"
BLOCK = 64 * 1024


def package_info(release: Release, settings: Settings) -> package.PackageInfo:
    """What the package states of `release`, its citation included."""
    info = package.PackageInfo(
        version=release.version,
        created=release.created_at,
        revision=release.revision,
        sha256=release.sha256,
    )
    url = f"{settings.public_url or ''}/releases/{release.version}"
    return dataclasses.replace(info, citation=citation(info, url)["text"])


class PackageBeingBuilt(ServiceUnavailable):
    """The package is not stored yet and its build did not end within the wait."""

    def __init__(self, version: str, retry_after: int) -> None:
        super().__init__(
            f"The data package of release {version!r} is being built (once: it is then "
            f"served as stored); retry in {retry_after} s."
        )
        self.headers = {"Retry-After": str(retry_after)}


@dataclasses.dataclass(frozen=True)
class _Job:
    key: str
    revision: int
    info: package.PackageInfo


class PackageStore:
    """Release packages as files, built at most once at a time per key (see the module)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directory = settings.release_packages_dir or DEFAULT_DIRECTORY
        self.builds = 0  # packages this process built (tests count them)
        self._building: dict[str, Future[Path]] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        # One build at a time per process: releases made in a row queue their builds
        # instead of competing with requests for the CPU.
        self._one_build = threading.Lock()

    def _job(self, release: Release) -> _Job:
        info = package_info(release, self.settings)
        facts = [
            __version__,
            self.settings.database_url,
            release.sha256,
            release.version,
            release.created_at.isoformat(),
            info.citation or "",
        ]
        digest = hashlib.blake2b("\n".join(facts).encode(), digest_size=16).hexdigest()
        return _Job(f"{release.version}-{digest}", release.revision, info)

    def path(self, release: Release) -> Path:
        return self.directory / f"{self._job(release).key}.zip"

    def ensure(self, release: Release) -> Future[Path]:
        """The stored package's path, now or once the (one) build in flight ends."""
        job = self._job(release)
        target = self.directory / f"{job.key}.zip"
        with self._lock:
            running = self._building.get(job.key)
            if running is not None:
                return running
            future: Future[Path] = Future()
            if target.exists():
                future.set_result(target)
                return future
            self._building[job.key] = future
        # A daemon thread: a shutdown does not wait for a build (its temporary file is
        # swept by the next one).
        thread = threading.Thread(
            target=self._run, args=(job, target, future), name="release-package", daemon=True
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return future

    def _run(self, job: _Job, target: Path, future: Future[Path]) -> None:
        try:
            with self._one_build:
                self._build(job, target)
        except Exception as exc:
            logger.exception("building the package of release %s failed", job.info.version)
            future.set_exception(exc)
        else:
            future.set_result(target)
        finally:
            with self._lock:
                self._building.pop(job.key, None)

    def _build(self, job: _Job, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with (target.parent / f"{job.key}.lock").open("w") as lock:
            # Another process building the same package: wait for its file.
            fcntl.flock(lock, fcntl.LOCK_EX)
            if target.exists():
                return
            for stale in target.parent.glob(f"{job.key}.*.tmp"):
                stale.unlink(missing_ok=True)
            partial = target.parent / f"{job.key}.{os.getpid()}.tmp"
            engine = frozen_engine(self.settings, job.revision, batch=True)
            try:
                with make_sessionmaker(engine)() as session, partial.open("wb") as out:
                    package.write_zip(session, job.info, out)
                os.replace(partial, target)
            finally:
                engine.dispose()
                partial.unlink(missing_ok=True)
            self.builds += 1
            logger.info("built the package of release %s: %s", job.info.version, target.name)

    async def stored(self, release: Release) -> Path:
        """The stored package, waiting for its build as long as the request's database
        budget lasts (CP_DB_DEADLINE from its arrival)."""
        future = self.ensure(release)
        if future.done():
            return future.result()
        left = budget_left()
        wait = self.settings.db_deadline if left is None else max(left, 0.0)
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), wait)
        except TimeoutError:
            retry_after = max(1, math.ceil(self.settings.request_deadline))
            raise PackageBeingBuilt(release.version, retry_after) from None

    def close(self, timeout: float = 5.0) -> None:
        """Give the builds in flight a moment to end (tests drop the database next)."""
        for thread in self._threads:
            thread.join(timeout)


def read_member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def member_chunks(path: Path, name: str) -> Iterator[bytes]:
    """One file of the stored zip, decompressed a block at a time."""
    with zipfile.ZipFile(path) as archive, archive.open(name) as member:
        while block := member.read(BLOCK):
            yield block
