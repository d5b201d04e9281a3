// What a TypeScript consumer writes against the types openapi-typescript generates from
// docs/openapi.json. It is only type-checked (tsc --noEmit): if the contract drifts so that
// these usages no longer fit (a renamed field, an enum widened to `string`, a Problem served
// under another media type), the check fails. The `@ts-expect-error` lines prove the types
// have teeth: were anything `any`, those directives would be unused, which is an error too.
import type { components, paths } from "country-positions-api";

type Schemas = components["schemas"];
export type PositionValue = Schemas["PositionValue"];
export type CategoryKey = Schemas["CategoryKey"];
export type Problem = Schemas["Problem"];
export type CountryPage = Schemas["CountryPage"];

// Exact type equality, so a widened or narrowed enum is a compile error here.
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export const positionValuesAreClosed: Equal<PositionValue, "yes" | "no" | "decreasing" | "unknown"> =
  true;
export const categoriesAreClosed: Equal<
  CategoryKey,
  "training" | "lethal_aid" | "future_capability" | "future_will"
> = true;

type PositionsGet = paths["/countries/{code}/positions"]["get"];
type PositionsQuery = NonNullable<PositionsGet["parameters"]["query"]>;
type CountryPositions = PositionsGet["responses"][200]["content"]["application/json"];
// Errors are Problems, served as application/problem+json (not application/json).
type PositionsNotFound = PositionsGet["responses"][404]["content"]["application/problem+json"];

type CountriesGet = paths["/countries"]["get"];
type CountriesQuery = NonNullable<CountriesGet["parameters"]["query"]>;

export type Result<T> = { ok: true; body: T } | { ok: false; problem: Problem };

function withQuery(url: URL, query: Record<string, string | number | boolean | null | undefined>): URL {
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined) url.searchParams.set(name, String(value));
  }
  return url;
}

/** A typed fetch of GET /countries/{code}/positions. */
export async function getCountryPositions(
  base: string,
  code: PositionsGet["parameters"]["path"]["code"],
  query: PositionsQuery = {},
): Promise<Result<CountryPositions>> {
  const url = withQuery(new URL(`/countries/${encodeURIComponent(code)}/positions`, base), query);
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (response.ok) return { ok: true, body: (await response.json()) as CountryPositions };
  const problem: PositionsNotFound = (await response.json()) as PositionsNotFound;
  return { ok: false, problem };
}

/** Every PositionValue is handled; a new value would make `unreachable` fail to type-check. */
export function describe(value: PositionValue): string {
  switch (value) {
    case "yes":
      return "provides";
    case "no":
      return "refuses";
    case "decreasing":
      return "provides less than before";
    case "unknown":
      return "not reported (never the same as no)";
    default: {
      const unreachable: never = value;
      return unreachable;
    }
  }
}

/** Serbia's first position, read as the PositionValue union. */
export async function serbiaTraining(base: string): Promise<PositionValue | Problem> {
  const result = await getCountryPositions(base, "RS", { as_of: "2023-03-02" });
  if (!result.ok) return result.problem;
  const first = result.body.positions[0];
  if (first === undefined) throw new Error("a country always has four positions");
  const value: PositionValue = first.value;
  const category: CategoryKey = first.category;
  const disputed: boolean = first.disputed;
  const sources: string[] = first.source_ids;
  console.log(category, disputed, sources.join(", "), result.body.country.name);
  return value;
}

/** A Problem's fields, including the per-field errors a 422 carries. */
export function explain(problem: Problem): string {
  const fields = (problem.errors ?? []).map(
    (issue) => `${issue.loc.map(String).join(".")}: ${issue.msg} (${issue.type})`,
  );
  const status: number = problem.status;
  return [`${status} ${problem.title} at ${problem.instance}`, problem.detail, ...fields].join("\n");
}

/** A typed page of countries, filtered the way the API filters. */
export async function countriesRefusingTraining(base: string): Promise<CountryPage> {
  const query: CountriesQuery = { category: "training", value: "no", limit: 50 };
  const response = await fetch(withQuery(new URL("/countries", base), query));
  const page = (await response.json()) as CountryPage;
  const names: string[] = page.items.map((country) => country.name);
  const total: number = page.total;
  console.log(`${names.length} of ${total}`);
  return page;
}

// The types reject what the API would refuse.
// @ts-expect-error "maybe" is not a PositionValue
export const notAValue: PositionValue = "maybe";
// @ts-expect-error category keys are snake_case
export const misspeltCategory: CountriesQuery = { category: "lethal-aid" };
// @ts-expect-error a Problem always carries its status
export const statuslessProblem: Problem = { type: "about:blank", title: "t", detail: "d", instance: "/" };
