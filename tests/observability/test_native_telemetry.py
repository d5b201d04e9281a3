"""FastAPI's own OpenTelemetry layer stays off: it asked the global providers on every
request (about a fifth of a cached read's CPU), and our spans come from
app.observability.tracing, so it would only double them."""

from __future__ import annotations

import pytest

from app.main import create_app
from app.settings import Settings


def test_fastapi_native_telemetry_is_off(settings: Settings) -> None:
    app = create_app(settings)
    config = getattr(app, "_telemetry", None)
    if config is None:
        pytest.skip("this FastAPI has no native telemetry to turn off")
    # All three off, so FastAPI's per-request check stops at the flags and never asks the
    # global providers (it answered False either way, at a cost, when none was configured).
    assert (config["tracing"], config["metrics"], config["logs"]) == (False, False, False)
