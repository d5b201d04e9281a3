"""DATABASE_READ_URL: reads come from the replica, writes go to the primary."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import migrating
from app.assessments.models import Assessment
from app.db import make_engine
from app.main import create_app
from app.settings import Settings
from app.vocabulary import KeyScope
from tests.factories import ARTICLE, SEED_ASSESSMENTS, SEEDS, bearer, load_seed_folder, make_key


def _count_assessments(settings: Settings) -> int:
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(Assessment)) or 0
    finally:
        engine.dispose()


def test_reads_use_the_replica_and_writes_the_primary(
    seeded_settings: Settings, fresh_database_url: str, tmp_path: Path
) -> None:
    replica = Settings(database_url=fresh_database_url)
    migrating.upgrade(replica)
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    csv = folder / "assessments.csv"
    csv.write_text(csv.read_text().replace("Malta No", "Malta (replica) No"))
    load_seed_folder(replica, folder)
    key = make_key(seeded_settings, "curator", KeyScope.write)

    settings = seeded_settings.model_copy(update={"database_read_url": fresh_database_url})
    with TestClient(create_app(settings)) as client:
        assert "Malta (replica) No" in client.get("/countries/MT/positions").text
        response = client.post(
            "/assessments",
            headers=bearer(key),
            json={
                "country": "MT",
                "category": "training",
                "value": "yes",
                "source": ARTICLE,
                "as_of": "2023-07-01",
                "evidence": "Written to the primary.",
            },
        )
        assert response.status_code == 201, response.text
    assert _count_assessments(seeded_settings) == SEED_ASSESSMENTS + 1
    assert _count_assessments(replica) == SEED_ASSESSMENTS
