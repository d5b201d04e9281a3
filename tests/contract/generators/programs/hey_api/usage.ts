// What a user of a @hey-api/openapi-ts client (fetch) writes: Serbia, the chart, the counts and
// a 404, printed as one JSON object (tests/contract/generators/test_hey_api.py).
// Argument: the server's base URL.
import {
  type CountryPositions,
  getCountry,
  getStats,
  listCountryPositions,
  listPositions,
  type Problem,
  type ValueCounts,
} from "./api";
import { client } from "./api/client.gen";

const values = (country: CountryPositions): string[] =>
  country.positions.map((position) => position.value);

const counts = (counted: ValueCounts): Record<string, number> => ({
  yes: counted.yes,
  no: counted.no,
  decreasing: counted.decreasing,
  unknown: counted.unknown,
});

async function main(base: string): Promise<void> {
  client.setConfig({ baseUrl: base });

  const { data: serbia } = await listCountryPositions({
    path: { code: "RS" },
    throwOnError: true,
  });
  const { data: chart } = await listPositions({ query: { limit: 100 }, throwOnError: true });
  const { data: stats } = await getStats({ throwOnError: true });

  // Without throwOnError an error status comes back as a value, typed by the declared responses.
  const missing = await getCountry({ path: { code: "ZZ" } });
  const problem: Problem | undefined = missing.error;
  if (problem === undefined) throw new Error("GET /countries/ZZ did not fail");

  console.log(
    JSON.stringify({
      serbia: {
        country: serbia.country.name,
        values: Object.fromEntries(serbia.positions.map((p) => [p.category, p.value])),
      },
      chart: { total: chart.total, rows: chart.items.map((row) => [row.country.code, values(row)]) },
      stats: {
        countries: stats.countries,
        counts: Object.fromEntries(stats.categories.map((c) => [c.category, counts(c.counts)])),
      },
      not_found: {
        error: `response ${missing.response.status}`,
        model: "Problem",
        status: problem.status,
        type: problem.type,
      },
    }),
  );
}

const base = process.argv[2];
if (base === undefined) throw new Error("usage: node usage.js BASE_URL");
main(base).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
