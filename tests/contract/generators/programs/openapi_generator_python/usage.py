"""What a user of openapi-generator's `python` client writes: Serbia, the chart, the
counts and a 404, printed as one JSON object (tests/contract/generators/test_openapi_generator.py).

Argument: the server's base URL. Type-checked with mypy --strict against the generated package.
"""

from __future__ import annotations

import json
import sys

from country_positions_client import (
    ApiClient,
    Configuration,
    CountriesApi,
    CountryPositions,
    CountryPositionsPage,
    PositionsApi,
    PositionStats,
    Problem,
    ValueCounts,
)
from country_positions_client.exceptions import NotFoundException


def values(country: CountryPositions) -> dict[str, str]:
    return {position.category.value: position.value.value for position in country.positions}


def counts(counted: ValueCounts) -> dict[str, int]:
    return {
        "yes": counted.yes,
        "no": counted.no,
        "decreasing": counted.decreasing,
        "unknown": counted.unknown,
    }


with ApiClient(Configuration(host=sys.argv[1])) as api:
    positions = PositionsApi(api)
    serbia: CountryPositions = positions.list_country_positions("RS")
    chart: CountryPositionsPage = positions.list_positions(limit=100)
    stats: PositionStats = positions.get_stats()
    try:
        CountriesApi(api).get_country("ZZ")
        raise SystemExit("GET /countries/ZZ did not fail")
    except NotFoundException as error:
        problem = error.data
        assert isinstance(problem, Problem), repr(error.data)
        not_found = {
            "error": type(error).__name__,
            "model": type(problem).__name__,
            "status": problem.status,
            "type": problem.type,
        }

print(
    json.dumps(
        {
            "serbia": {"country": serbia.country.name, "values": values(serbia)},
            "chart": {
                "total": chart.total,
                "rows": [[row.country.code, list(values(row).values())] for row in chart.items],
            },
            "stats": {
                "countries": stats.countries,
                "counts": {
                    entry.category.value: counts(entry.counts) for entry in stats.categories
                },
            },
            "not_found": not_found,
        }
    )
)
