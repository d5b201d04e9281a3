"""Hostile free text for the CSV tests: assessments (and a country's official name) that a
spreadsheet would run as formulas if the CSV wrote them as they are."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.assessments.models import Assessment
from app.countries.models import Country
from app.db import make_engine
from app.main import create_app
from app.settings import Settings
from app.vocabulary import KeyScope
from tests.factories import ARTICLE, bearer, make_key

HYPERLINK = '=HYPERLINK("http://evil","x")'
# Evidence written through the API, one assessment each (Serbia, `training`, one date each).
THROUGH_API = (
    HYPERLINK,
    "+1+2 says the chart",
    "-2+3 says the chart",
    "@SUM(1+1) says the chart",
)
# The API strips surrounding whitespace, so these are stored as a bulk load might store them.
IN_THE_DATABASE = ("\t=1+1 says the chart", "\r=1+1 says the chart")
NOTE = "=cmd|' /C calc'!A0"
OFFICIAL_NAME = "=1+1 Republic of Serbia"


@dataclass(frozen=True)
class Hostile:
    client: TestClient
    evidence: dict[int, str]  # assessment id -> its evidence, as stored
    noted: int  # the assessment whose note is NOTE


@pytest.fixture
def hostile(seeded_settings: Settings) -> Iterator[Hostile]:
    key = make_key(seeded_settings, "csv-hostile", KeyScope.write)
    evidence: dict[int, str] = {}
    with TestClient(create_app(seeded_settings)) as client:
        for day, text in enumerate(THROUGH_API + IN_THE_DATABASE, start=1):
            created = client.post(
                "/assessments",
                headers=bearer(key),
                json={
                    "country": "RS",
                    "category": "training",
                    "value": "no",
                    "source": ARTICLE,
                    "as_of": f"2023-05-{day:02d}",
                    "evidence": text.strip() or "placeholder",
                    **({"note": NOTE} if day == 1 else {}),
                },
            )
            assert created.status_code == 201, created.text
            evidence[created.json()["id"]] = text
        engine = make_engine(seeded_settings)
        try:
            with engine.begin() as connection:
                for id_, text in evidence.items():
                    if text != text.strip():
                        connection.execute(
                            update(Assessment).where(Assessment.id == id_).values(evidence=text)
                        )
                connection.execute(
                    update(Country).where(Country.code == "RS").values(official_name=OFFICIAL_NAME)
                )
        finally:
            engine.dispose()
        yield Hostile(client=client, evidence=evidence, noted=min(evidence))
