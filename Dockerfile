# The API image: the same `migrate`, `seed` and `serve` commands the tests run.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv
RUN useradd --system --create-home --home-dir /home/app app

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY seeds ./seeds
COPY scripts/entrypoint.sh ./scripts/entrypoint.sh
# Editable install: Alembic finds migrations/ beside the app package (app/migrating.py).
RUN pip install -e . && mkdir -p var && chown app:app var

USER app
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)" || exit 1
ENTRYPOINT ["./scripts/entrypoint.sh"]
# uvicorn, not Granian: Granian is faster on cached reads (bench/README.md) but enforces fewer
# of the limits (no 503 over CP_MAX_CONNECTIONS, no 408, an empty 431), and only uvicorn's
# behaviour under a cache-busting burst is measured. `--server granian` switches.
CMD ["--server", "uvicorn", "--host", "0.0.0.0", "--port", "8000"]
