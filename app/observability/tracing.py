"""OpenTelemetry traces of requests and SQL, only when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Nothing here is imported otherwise (app.main imports this module only then), so an instance
without a collector loads no OpenTelemetry beyond the API package FastAPI itself imports.
The packages are the `tracing` extra (`pip install 'country-positions[tracing]'`): the
FastAPI and SQLAlchemy instrumentations, the SDK and the OTLP/HTTP exporter. Requests are
sampled at CP_TRACE_SAMPLE_RATIO, parent-based (a sampled caller's `traceparent` is
followed); probes and `/metrics` are not traced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from sqlalchemy.engine import Engine

from app import __version__
from app.settings import Settings

SERVICE_NAME = "country-positions"
EXCLUDED_URLS = "healthz,readyz,metrics"


def otlp_exporter(endpoint: str) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")


def install_tracing(
    app: FastAPI,
    engines: Sequence[Engine],
    settings: Settings,
    *,
    processor: SpanProcessor | None = None,
) -> Callable[[], None]:
    """Trace `app`'s requests and `engines`' statements; returns what undoes it (at shutdown).

    `processor`: where spans go (tests pass an in-memory exporter's); by default a batch
    processor exporting to OTEL_EXPORTER_OTLP_ENDPOINT.
    """
    provider = TracerProvider(
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
        resource=Resource.create({"service.name": SERVICE_NAME, "service.version": __version__}),
    )
    if processor is None:
        assert settings.otel_exporter_otlp_endpoint
        processor = BatchSpanProcessor(otlp_exporter(settings.otel_exporter_otlp_endpoint))
    provider.add_span_processor(processor)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
    sql = SQLAlchemyInstrumentor()
    # The instrumentation declares SQLAlchemy < 2.1; it works with the 2.1 we run (tested in
    # tests/observability/test_tracing.py), so its version check is skipped.
    sql.instrument(engines=list(engines), tracer_provider=provider, skip_dep_check=True)

    def uninstall() -> None:
        sql.uninstrument()
        FastAPIInstrumentor.uninstrument_app(app)
        provider.shutdown()

    return uninstall
