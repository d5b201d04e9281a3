"""The URL map: every router, in one screen."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app import health
from app.api_keys.security import require_read_access
from app.assessments import csv_metadata_router, curation_router, export_router
from app.assessments import router as assessments
from app.categories import router as categories
from app.changes import router as changes
from app.countries import router as countries
from app.groups import router as groups
from app.http.deps import reject_unknown_query_params
from app.releases import router as releases
from app.sources import router as sources
from app.statements import router as statements

# CP_REQUIRE_KEY_FOR_READS makes every data route ask for a key; health probes never do.
data_router = APIRouter(
    dependencies=[Depends(reject_unknown_query_params), Depends(require_read_access)]
)
data_router.include_router(assessments.router)
data_router.include_router(export_router.router)
data_router.include_router(curation_router.router)
data_router.include_router(csv_metadata_router.router)
data_router.include_router(countries.router)
data_router.include_router(categories.router)
data_router.include_router(sources.router)
data_router.include_router(groups.router)
data_router.include_router(statements.router)
data_router.include_router(changes.router)
data_router.include_router(releases.router)

api_router = APIRouter()
api_router.include_router(data_router)
api_router.include_router(health.router)
