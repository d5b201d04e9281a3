// Where the orval client sends requests: the harness's orval config sets
// `output.baseUrl.runtime` to `baseUrl()`, imported from here.
let current = "";

export function setBaseUrl(url: string): void {
  current = url.replace(/\/$/, "");
}

export function baseUrl(): string {
  return current;
}
