// What a user of an orval client (fetch) writes: Serbia, the chart, the counts and a 404,
// printed as one JSON object (tests/contract/generators/test_orval.py).
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
import { setBaseUrl } from "./base-url";

const values = (country: CountryPositions): string[] =>
  country.positions.map((position) => position.value);

const counts = (counted: ValueCounts): Record<string, number> => ({
  yes: counted.yes,
  no: counted.no,
  decreasing: counted.decreasing,
  unknown: counted.unknown,
});

// orval's fetch client returns every declared status as a value, `data` typed by `status`.
function ok<T extends { status: number }>(response: T, what: string): Extract<T, { status: 200 }> {
  if (response.status !== 200) throw new Error(`${what}: HTTP ${response.status}`);
  return response as Extract<T, { status: 200 }>;
}

async function main(base: string): Promise<void> {
  setBaseUrl(base);

  const serbia = ok(await listCountryPositions("RS"), "listCountryPositions").data;
  const chart = ok(await listPositions({ limit: 100 }), "listPositions").data;
  const stats = ok(await getStats(), "getStats").data;

  const missing = await getCountry("ZZ");
  if (missing.status !== 404) throw new Error(`GET /countries/ZZ: HTTP ${missing.status}`);
  const problem: Problem = missing.data;

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
        error: `response ${missing.status}`,
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
