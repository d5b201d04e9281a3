"""Check many cases in one test and report every failing one, not only the first."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def describe(response: httpx.Response) -> str:
    request = response.request
    return f"{request.method} {request.url} -> {response.status_code} {response.text[:300]!r}"


class Failures:
    def __init__(self) -> None:
        self.items: list[str] = []

    @contextmanager
    def case(self, label: str) -> Iterator[None]:
        """Record an AssertionError raised in the block under `label`, and carry on."""
        try:
            yield
        except AssertionError as exc:
            self.items.append(f"{label}\n    {exc!s}".rstrip())

    def check(self) -> None:
        count = len(self.items)
        assert not self.items, f"{count} failing case(s):\n" + "\n".join(self.items)
