// What a user of openapi-generator's `typescript-fetch` client writes: Serbia, the chart, the
// counts and a 404, printed as one JSON object (tests/contract/generators/test_openapi_generator.py).
// Argument: the server's base URL.
import {
  Configuration,
  CountriesApi,
  type CountryPositions,
  PositionsApi,
  type Problem,
  ProblemFromJSON,
  ResponseError,
  type ValueCounts,
} from "./api";

const values = (country: CountryPositions): string[] =>
  country.positions.map((position) => position.value);

const counts = (counted: ValueCounts): Record<string, number> => ({
  yes: counted.yes,
  no: counted.no,
  decreasing: counted.decreasing,
  unknown: counted.unknown,
});

async function main(base: string): Promise<void> {
  const config = new Configuration({ basePath: base });
  const positions = new PositionsApi(config);

  const serbia = await positions.listCountryPositions({ code: "RS" });
  const chart = await positions.listPositions({ limit: 100 });
  const stats = await positions.getStats();

  let notFound: Record<string, unknown> | undefined;
  try {
    await new CountriesApi(config).getCountry({ code: "ZZ" });
  } catch (error) {
    if (!(error instanceof ResponseError)) throw error;
    const problem: Problem = ProblemFromJSON(await error.response.json());
    notFound = { error: error.name, model: "Problem", status: problem.status, type: problem.type };
  }
  if (notFound === undefined) throw new Error("GET /countries/ZZ did not fail");

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
      not_found: notFound,
    }),
  );
}

const base = process.argv[2];
if (base === undefined) throw new Error("usage: node usage.js BASE_URL");
main(base).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
