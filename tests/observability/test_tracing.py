"""OpenTelemetry: spans for requests and SQL when a collector is configured, and nothing of
it loaded when none is."""

from __future__ import annotations

import json
import subprocess
import sys

from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.main import create_app
from app.observability.tracing import install_tracing
from app.settings import Settings
from tests.servers import ROOT


def test_requests_and_sql_are_traced(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(update={"trace_sample_ratio": 1.0})
    app = create_app(settings)
    exporter = InMemorySpanExporter()
    uninstall = install_tracing(
        app,
        [app.state.engine],
        settings,
        processor=SimpleSpanProcessor(exporter),
    )
    try:
        with TestClient(app) as client:
            assert client.get("/countries/RS/assessments").status_code == 200
            assert client.get("/healthz").status_code == 200
    finally:
        uninstall()
    spans = exporter.get_finished_spans()
    names = [span.name for span in spans]
    assert "GET /countries/{code}/assessments" in names
    assert not any("/healthz" in name for name in names)
    sql = [span for span in spans if span.attributes and "db.statement" in span.attributes]
    sql += [span for span in spans if span.attributes and "db.query.text" in span.attributes]
    assert sql, names
    request = next(s for s in spans if s.name == "GET /countries/{code}/assessments")
    # The request's statements are in its trace (the revision listener's are in their own).
    assert any(s.context.trace_id == request.context.trace_id for s in sql), names


def test_nothing_samples_at_ratio_zero(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(update={"trace_sample_ratio": 0.0})
    app = create_app(settings)
    exporter = InMemorySpanExporter()
    uninstall = install_tracing(
        app, [app.state.engine], settings, processor=SimpleSpanProcessor(exporter)
    )
    try:
        with TestClient(app) as client:
            client.get("/countries/RS/assessments")
    finally:
        uninstall()
    assert exporter.get_finished_spans() == ()


PROBE = """
import json, sys
import fastapi, redis  # each imports parts of OpenTelemetry itself (redis: its SDK, if installed)
before = {m for m in sys.modules if m.startswith("opentelemetry")}
from app.main import create_app
from app.settings import Settings
from fastapi.testclient import TestClient
with TestClient(create_app(Settings(database_url=sys.argv[1]))) as client:
    client.get("/countries")
after = {m for m in sys.modules if m.startswith("opentelemetry")}
print(json.dumps(sorted(after - before)))
"""


def test_without_an_endpoint_no_opentelemetry_is_loaded(settings: Settings) -> None:
    """FastAPI and redis import parts of OpenTelemetry themselves; the app adds nothing."""
    env = {"PATH": "/usr/bin:/bin", "CP_RATE_LIMIT_ENABLED": "false"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, settings.database_url],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    assert json.loads(result.stdout.splitlines()[-1]) == []
