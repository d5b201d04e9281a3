"""Render the OpenAPI document exactly as served, for `docs/openapi.json` (`make openapi`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.main import create_app
from app.settings import Settings

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def render() -> str:
    # No database is touched: building the app and its schema needs none.
    app = create_app(Settings(database_url="sqlite://"))
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    COMMITTED.parent.mkdir(parents=True, exist_ok=True)
    COMMITTED.write_text(render(), encoding="utf-8")
    sys.stderr.write(f"wrote {COMMITTED}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
