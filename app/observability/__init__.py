"""What an operator sees of each request: its id, one log line, metrics, Server-Timing, traces.

- request_ids.py: the per-request record (id, timings, cache outcome, key name), and the
  `X-Request-ID` a client may send;
- logging.py: JSON or text lines (CP_LOG_FORMAT), the request id on every one;
- request_log.py: the one line per request, formatted and written in batches;
- metrics.py: Prometheus metrics (prometheus-client; multiprocess-safe under `--workers N`);
- db_timing.py: the database time of a request (Server-Timing and the log line);
- middleware.py: the outermost layer, which ties them together and answers `/metrics`;
- tracing.py: OpenTelemetry, imported only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
"""
