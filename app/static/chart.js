// Chart page for country-positions: a small dashboard client of the public API.
// Plain browser JavaScript (no framework, no build step, no external requests).
// Data from the API is only ever put in the page with textContent/attributes, never innerHTML.
(function () {
  "use strict";

  const CHART_ROWS = 38; // the leaked chart assessed 38 governments (which 38 is not public)
  const PAGE_SIZE = 500; // the API's maximum page size; we page until `total` is reached
  const VALUES = ["yes", "no", "decreasing", "unknown"];
  const VALUE_LABELS = { yes: "Yes", no: "No", decreasing: "Decreasing", unknown: "Unknown" };
  const VALUE_GLYPHS = { yes: "✓", no: "✕", decreasing: "↘", unknown: "?" };
  const VERIFICATION_LABELS = {
    verified: "verified",
    unverified: "unverified",
    disputed: "disputed",
    not_applicable: "not applicable",
  };
  const KIND_LABELS = {
    leaked_document: "leaked document",
    news_report: "news report",
    official_statement: "official statement",
    online_posting: "online posting",
    analysis: "analysis",
    other: "other",
  };
  // Languages of sources and of the evidence we quote (ISO 639-1); unknown codes show as-is.
  const LANGUAGE_NAMES = {
    en: "English",
    sl: "Slovenian",
    ru: "Russian",
    sr: "Serbian",
    pl: "Polish",
    hr: "Croatian",
    bg: "Bulgarian",
    de: "German",
    fr: "French",
    el: "Greek",
    uk: "Ukrainian",
  };
  // Whether the chart is known to have a row for a government, and a value in a cell.
  const COVERAGE_LABELS = {
    reported: "reported",
    covered_not_reported: "on the chart, not reported",
    not_known_covered: "not known to be on the chart",
  };
  // The page URL: the filters, and the cell whose provenance is open (`country` + `category`).
  // The value filter has its own names so that `category` can name the open cell.
  const FILTER_PARAMS = ["filter_category", "filter_value", "source", "as_of", "show"];

  const state = {
    categories: [],
    categoryByKey: new Map(),
    sources: new Map(),
    asserting: new Set(), // ids of sources with assessments of their own
    relaying: new Set(), // ids of sources that only relay others' values (`reported_via`)
    items: [],
    inView: [], // every country of the view, whatever the "Governments" choice (for the summary)
    reported: [], // the view's countries with at least one value (for the summary)
    stats: null,
    controller: null,
    active: null, // { country, category } of the grid's one tab stop
    lastTrigger: null,
    notice: "",
  };

  const $ = (id) => document.getElementById(id);
  const controls = {
    form: $("controls"),
    category: $("filter-category"),
    value: $("filter-value"),
    source: $("filter-source"),
    asOf: $("filter-as-of"),
    download: $("download-csv"),
  };

  // -- DOM helpers ------------------------------------------------------------------------

  /** Create an element; `text` goes in via textContent, so data is never parsed as HTML. */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (name === "text") node.textContent = String(value);
        else if (name === "className") node.className = value;
        else node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    for (const child of children || []) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function valueLabel(value) {
    return VALUE_LABELS[value] || String(value);
  }

  /** A coloured badge that also says its value in words (colour is never the only cue). */
  function valueBadge(value, extraClass) {
    const known = VALUES.includes(value) ? value : "unknown";
    return el("span", { className: `swatch value-${known}${extraClass ? " " + extraClass : ""}` }, [
      el("span", { className: "glyph", "aria-hidden": "true", text: VALUE_GLYPHS[known] }),
      " ",
      el("span", { className: "value-label", text: valueLabel(value) }),
    ]);
  }

  function languageName(code) {
    if (!code) return "language unknown";
    return LANGUAGE_NAMES[code] || code;
  }

  /** "2023-04-16", "on or after 2023-04-16", or "date unknown". */
  function dateText(date, qualifier) {
    if (!date) return "date unknown";
    return qualifier === "on_or_after" ? `on or after ${date}` : date;
  }

  /** Only http(s) addresses become links (never `javascript:` or the like from data). */
  function webUrl(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url);
  }

  function coverageLabel(coverage) {
    return COVERAGE_LABELS[coverage] || COVERAGE_LABELS.not_known_covered;
  }

  /** "(Slovenian report; English wording ours)" for a translated summary, else "". */
  function languageNote(language, translated, noun) {
    if (!translated) return "";
    return ` (${languageName(language)} ${noun || "report"}; English wording ours)`;
  }

  function disputedMark() {
    return el("span", { className: "disputed-mark" }, [
      el("span", { className: "glyph", "aria-hidden": "true", text: "⚠" }),
      el("span", { text: "disputed" }),
    ]);
  }

  // -- API --------------------------------------------------------------------------------

  /** GET a JSON resource; on a non-2xx answer throw an Error carrying the problem's `detail`. */
  async function getJSON(url, signal) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" }, signal });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new Error(`Could not reach the API (${url}). Check the connection and try again.`);
    }
    if (!response.ok) throw await problemError(response);
    return response.json();
  }

  // Errors are RFC 9457 problem+json: `detail` is written for the person using the page.
  async function problemError(response) {
    let message = `The API answered ${response.status} ${response.statusText}.`.replace(" .", ".");
    const type = response.headers.get("content-type") || "";
    if (type.includes("json")) {
      try {
        const problem = await response.json();
        if (problem && typeof problem.detail === "string" && problem.detail) {
          message = problem.detail;
        } else if (problem && typeof problem.title === "string" && problem.title) {
          message = problem.title;
        }
      } catch (_ignored) {
        // Not JSON after all: keep the status line as the message.
      }
    }
    const error = new Error(message);
    error.status = response.status;
    return error;
  }

  // -- filters, URL state, CSV link ------------------------------------------------------

  /** Which governments the grid lists: "" (with a value), "chart" (known chart rows), "all". */
  function showChoice() {
    const checked = controls.form.querySelector('input[name="show"]:checked');
    return checked && ["all", "chart"].includes(checked.value) ? checked.value : "";
  }

  /** The chart is known to have a row for this government (with or without a value). */
  function onChart(item) {
    return item.coverage === "reported" || item.coverage === "covered_not_reported";
  }

  function currentFilters() {
    return {
      category: controls.category.value,
      value: controls.value.value,
      source: controls.source.value,
      as_of: controls.asOf.value,
      show: showChoice(),
    };
  }

  /** The API query for the filters. `category` and `value` only make sense together. */
  function apiParams(filters) {
    const params = new URLSearchParams();
    if (filters.category && filters.value) {
      params.set("category", filters.category);
      params.set("value", filters.value);
    }
    if (filters.source) params.set("source", filters.source);
    if (filters.as_of) params.set("as_of", filters.as_of);
    return params;
  }

  /** The same view with no value filter: what the summary and a single country read. */
  function viewParams(filters) {
    return apiParams({ ...filters, category: "", value: "" });
  }

  function positionsUrl(filters, extra) {
    const params = new URLSearchParams(extra);
    for (const [name, value] of apiParams(filters)) params.set(name, value);
    // "Reported only" asks the API for countries with at least one value. With a value filter
    // the API already says which countries match; `unknown` must still list the unreported.
    if (!filters.show && !(filters.category && filters.value)) params.set("reported", "true");
    return `/positions?${params}`;
  }

  function updateDownloadLink(filters) {
    // No limit: the CSV export holds every matching country unless a limit is given.
    controls.download.href = positionsUrl(filters, { format: "csv" });
  }

  function pageQuery(filters, cell) {
    const params = new URLSearchParams();
    const names = { filter_category: "category", filter_value: "value" };
    for (const name of FILTER_PARAMS) {
      const value = filters[names[name] || name];
      if (value) params.set(name, value);
    }
    if (cell) {
      params.set("country", cell.country);
      params.set("category", cell.category);
    }
    return params.toString();
  }

  /** The link a cell carries: this view with that cell's provenance open. */
  function cellHref(code, key) {
    return `/?${pageQuery(currentFilters(), { country: code, category: key })}`;
  }

  /** Keep the page URL in step with the controls and the open dialog (shareable links). */
  function syncPageUrl() {
    const dialog = $("provenance");
    const query = pageQuery(currentFilters(), dialog.open ? state.lastTrigger : null);
    const url = `${window.location.pathname}${query ? "?" + query : ""}`;
    if (url !== `${window.location.pathname}${window.location.search}`) {
      window.history.replaceState(null, "", url);
    }
  }

  function setSelect(select, value) {
    if (value && Array.from(select.options).some((option) => option.value === value)) {
      select.value = value;
      return true;
    }
    return false;
  }

  /** Apply the page URL to the controls; return the cell to open, if the URL names one. */
  function applyPageUrl() {
    const params = new URLSearchParams(window.location.search);
    setSelect(controls.category, params.get("filter_category"));
    setSelect(controls.value, params.get("filter_value"));
    const source = params.get("source");
    if (source && !setSelect(controls.source, source)) {
      state.notice = state.relaying.has(source)
        ? `“${sourceTitle(source)}” relays other sources' values and asserts none of its own, ` +
          "so a view of it alone would read Unknown everywhere. Showing all sources; each " +
          "cell's sources say what it relayed."
        : `No source “${source}” asserts values here. Showing all sources.`;
    }
    const asOf = params.get("as_of");
    if (asOf && /^\d{4}-\d{2}-\d{2}$/.test(asOf)) controls.asOf.value = asOf;
    const show = ["all", "chart"].includes(params.get("show")) ? params.get("show") : "";
    controls.form.querySelector(`input[name="show"][value="${show}"]`).checked = true;
    const country = (params.get("country") || "").toUpperCase();
    const category = params.get("category");
    if (/^[A-Z]{2}$/.test(country) && state.categoryByKey.has(category)) {
      return { country, category };
    }
    return null;
  }

  // -- status and errors ------------------------------------------------------------------

  function setStatus(text) {
    $("status").textContent = text;
  }

  function showError(message) {
    const box = $("error");
    box.replaceChildren(el("strong", { text: "Error: " }), message);
    box.hidden = false;
  }

  function clearError() {
    const box = $("error");
    box.hidden = true;
    box.replaceChildren();
  }

  function describeView(filters) {
    const parts = [];
    if (filters.category && filters.value) {
      const category = state.categoryByKey.get(filters.category);
      const label = category ? category.label : filters.category;
      parts.push(`whose ${label} position reads ${valueLabel(filters.value)}`);
    }
    parts.push(filters.as_of ? `as of ${filters.as_of}` : "latest assessments");
    if (filters.source) {
      const source = state.sources.get(filters.source);
      parts.push(`source: ${source ? source.title : filters.source}`);
    } else {
      parts.push("all sources");
    }
    return parts;
  }

  function statusText(filters) {
    const count = state.items.length;
    const noun = count === 1 ? "government" : "governments";
    const parts = describeView(filters);
    const whose = parts[0].startsWith("whose ") ? ` ${parts.shift()}` : "";
    let scope = " with a reported value";
    if (filters.show === "chart") scope = " known to be on the chart";
    if (filters.show === "all" || (whose && filters.show !== "chart")) scope = "";
    let text = `Showing ${count} ${noun}${scope}${whose}; ${parts.join("; ")}.`;
    if (!filters.show && !whose && state.stats) {
      const onChartOnly = state.inView.filter((item) => onChart(item) && !hasValue(item)).length;
      const chartNote = onChartOnly ? ` (${onChartOnly} of them on the chart, not reported)` : "";
      text +=
        ` ${state.stats.countries - count} more read Unknown in every category${chartNote}: ` +
        "choose “On the chart” or “All in the catalogue” to list them.";
    }
    if (Boolean(filters.category) !== Boolean(filters.value)) {
      text += " Choose both a category and a value to filter by value.";
    }
    if (state.notice) text += ` ${state.notice}`;
    return text;
  }

  // -- rendering --------------------------------------------------------------------------

  function categoryLabel(key) {
    const category = state.categoryByKey.get(key);
    return category ? category.label : key;
  }

  function renderCategories() {
    const head = $("positions-head");
    // Explicit roles: the narrow layout changes the table's display, which may drop its semantics.
    head.replaceChildren(
      el("th", { scope: "col", role: "columnheader", className: "country-col", text: "Government" }),
    );
    const definitions = $("category-definitions");
    definitions.replaceChildren();
    const summaryHead = $("summary-head");
    for (const category of state.categories) {
      const definitionId = `definition-${category.key}`;
      head.append(
        el("th", { scope: "col", role: "columnheader", "data-category": category.key, "aria-describedby": definitionId }, [
          el("span", { className: "category-label", title: category.definition, text: category.label }),
        ]),
      );
      definitions.append(
        el("dt", { text: category.label }),
        el("dd", { id: definitionId, text: category.definition }),
      );
      controls.category.append(el("option", { value: category.key, text: category.label }));
    }
    for (const value of VALUES) summaryHead.append(el("th", { scope: "col", text: valueLabel(value) }));
  }

  /** Which sources assert values (they have assessments) and which only relay them. */
  function classifySources(items) {
    for (const item of items) {
      for (const position of item.positions) {
        for (const assessment of position.assessments) {
          state.asserting.add(assessment.source_id);
          if (assessment.reported_via_id) state.relaying.add(assessment.reported_via_id);
        }
      }
    }
    for (const id of state.asserting) state.relaying.delete(id);
  }

  function renderSources() {
    for (const source of state.sources.values()) {
      if (!state.asserting.has(source.id)) continue;
      const status = VERIFICATION_LABELS[source.verification_status] || source.verification_status;
      controls.source.append(el("option", { value: source.id, text: `${source.title} (${status})` }));
    }
    const relaying = Array.from(state.relaying, (id) => sourceTitle(id));
    $("relaying-sources").textContent = relaying.length
      ? `Not offered, because it relays other sources' values and asserts none itself: ${relaying.map((t) => `“${t}”`).join(", ")}.`
      : "";
    // The caveat names the leaked document(s) and their status as /sources reports it.
    const leaked = Array.from(state.sources.values()).filter((s) => s.kind === "leaked_document");
    const line = $("caveat-status");
    line.replaceChildren();
    for (const source of leaked) {
      const status = VERIFICATION_LABELS[source.verification_status] || source.verification_status;
      line.append(
        "Verification status of ",
        el("cite", { text: source.title }),
        " (",
        el("code", { text: source.id }),
        "): ",
        el("strong", { className: `verification-${source.verification_status}`, text: status }),
        ". ",
      );
    }
    line.hidden = leaked.length === 0;
  }

  function hasValue(item) {
    return item.positions.some((p) => p.value !== "unknown");
  }

  function plural(count, noun) {
    return `${count} ${noun}${count === 1 ? "" : "s"}`;
  }

  /** Lead with what is known: who reported what, and the counts of /stats. */
  function renderSummary() {
    const stats = state.stats;
    const reported = state.reported.filter(hasValue);
    const names = reported.map((item) => item.country.name);
    const chartRows = state.inView.filter(onChart);
    const noValue = chartRows.filter((item) => !hasValue(item)).map((item) => item.country.name);
    $("summary-lede").textContent = stats
      ? `${plural(reported.length, "government")} of the ${stats.countries} we list ` +
        `${reported.length === 1 ? "has" : "have"} a reported value in this view` +
        `${names.length ? ` (${names.join(", ")})` : ""}. For the other ` +
        `${stats.countries - reported.length}, no source we hold reports any value: Unknown.`
      : "";
    $("summary-chart").textContent = stats
      ? `Chart rows: the chart assessed ${CHART_ROWS} governments, and which ones is not public. ` +
        `We know ${chartRows.length} of its ${CHART_ROWS} rows` +
        (noValue.length
          ? `: the ${reported.length} with a value, and ${noValue.join(", ")} on the chart, not reported.`
          : ".") +
        ` The other ${stats.countries - chartRows.length} governments we list are not known to be on the chart.`
      : "";
    renderLumpedClaims($("summary-claims"), state.inView, null);
    $("summary-claims-block").hidden = $("summary-claims").childElementCount === 0;
    $("country-count").textContent = stats ? String(stats.countries) : "every government in our catalogue";

    const body = $("summary-body");
    body.replaceChildren();
    for (const entry of stats ? stats.categories : []) {
      body.append(
        el("tr", { "data-category": entry.category }, [
          el("th", { scope: "row", text: categoryLabel(entry.category) }),
          ...VALUES.map((value) => el("td", { "data-value": value, text: String(entry.counts[value]) })),
        ]),
      );
    }
    $("summary-table").hidden = !stats;

    // Who reported what: per source, how many values it asserts (or that it only relays).
    const bySource = new Map();
    for (const item of reported) {
      for (const position of item.positions) {
        for (const assessment of position.assessments) {
          const entry = bySource.get(assessment.source_id) || { values: 0, countries: new Set() };
          entry.values += 1;
          entry.countries.add(item.country.name);
          bySource.set(assessment.source_id, entry);
        }
      }
    }
    const list = $("summary-sources");
    list.replaceChildren();
    for (const [id, entry] of bySource) {
      list.append(
        el("li", { "data-source-id": id }, [
          el("cite", { text: sourceTitle(id) }),
          `: ${plural(entry.values, "value")} for ${Array.from(entry.countries).join(", ")}.`,
        ]),
      );
    }
    for (const id of state.relaying) {
      list.append(
        el("li", { "data-source-id": id }, [
          el("cite", { text: sourceTitle(id) }),
          ": relays other sources' values; asserts none of its own.",
        ]),
      );
    }
  }

  /**
   * The claims that name governments without a column (`kind: lumped`), one entry per claim,
   * into `list`. With `only` (a country item), just the claims naming that country.
   */
  function renderLumpedClaims(list, items, only) {
    const names = new Map(items.map((item) => [item.country.code, item]));
    const claims = new Map();
    for (const item of only ? [only] : items) {
      for (const claim of item.claims || []) claims.set(claim.id, claim);
    }
    list.replaceChildren();
    for (const claim of claims.values()) {
      const named = claim.countries.map((code) => {
        const item = names.get(code) || (only && only.country.code === code ? only : null);
        const name = item ? item.country.name : code;
        if (item && !hasValue(item) && !only) {
          // No value for this government: the claim is all we hold, so link to its sources.
          const first = state.categories.length ? state.categories[0].key : "";
          return el("span", null, [
            el("a", { href: cellHref(code, first), className: "claim-country", "data-country": code, text: name }),
            " (no value: these reports are all we hold)",
          ]);
        }
        return name;
      });
      const countries = el("span", { className: "claim-countries" }, ["Names: "]);
      named.forEach((name, index) => countries.append(index ? ", " : "", name));
      list.append(
        el("li", { className: "claim claim-lumped", "data-claim-id": claim.id, "data-source-id": claim.source_id }, [
          sourceRef(claim.source_id),
          `, ${dateText(claim.stated_on, claim.stated_on_qualifier)}: `,
          claim.summary,
          el("span", { className: "language-note", text: languageNote(claim.language, claim.translated) }),
          " ",
          countries,
          ".",
          claim.note ? el("span", { className: "claim-note", text: ` ${claim.note}` }) : null,
        ]),
      );
    }
  }

  /** A source by publisher and title, the title linked when the source has a URL. */
  function sourceRef(id) {
    const source = state.sources.get(id);
    if (!source) return el("code", { text: id });
    const title = webUrl(source.url)
      ? el("a", { href: source.url, rel: "noopener noreferrer", className: "source-link" }, [el("cite", { text: source.title })])
      : el("cite", { text: source.title });
    const publisher = source.publisher ? `${source.publisher}: ` : "";
    return el("span", { className: "source-ref", "data-source-id": id }, [publisher, title]);
  }

  /** What a screen reader says for a cell: "Serbia, lethal aid: yes, 2 sources". */
  function cellName(item, position) {
    const count = position.source_ids.length;
    const value = valueLabel(position.value).toLowerCase();
    const sources = count ? plural(count, "source") : coverageLabel(position.coverage);
    const disputed = position.disputed ? ", disputed" : "";
    const denials = (position.denials || []).length;
    const denied = denials ? `, ${plural(denials, "statement")} contradicting it` : "";
    return `${item.country.name}, ${categoryLabel(position.category).toLowerCase()}: ${value}${disputed}, ${sources}${denied}`;
  }

  function cellLink(item, position) {
    const value = VALUES.includes(position.value) ? position.value : "unknown";
    const coverage = COVERAGE_LABELS[position.coverage] ? position.coverage : "not_known_covered";
    const denials = (position.denials || []).length;
    return el(
      "a",
      {
        href: cellHref(item.country.code, position.category),
        className: `cell value-${value} coverage-${coverage}${position.disputed ? " is-disputed" : ""}`,
        tabindex: "-1",
        "aria-label": cellName(item, position),
        "aria-describedby": (item.claims || []).length ? claimsNoteId(item) : null,
        "aria-haspopup": "dialog",
        "data-country": item.country.code,
        "data-category": position.category,
        "data-value": position.value,
        "data-disputed": position.disputed ? "true" : "false",
        "data-coverage": coverage,
      },
      [
        el("span", { className: "cell-category", text: categoryLabel(position.category) }),
        el("span", { className: "cell-value" }, [
          el("span", { className: "glyph", "aria-hidden": "true", text: VALUE_GLYPHS[value] }),
          " ",
          el("span", { className: "value-label", text: valueLabel(position.value) }),
        ]),
        position.disputed ? disputedMark() : null,
        // Text-node spaces keep the words apart in the cell's text (the notes are blocks).
        value === "unknown" ? " " : null,
        value === "unknown" ? el("span", { className: "cell-note cell-coverage", text: coverageLabel(coverage) }) : null,
        denials ? " " : null,
        denials ? el("span", { className: "cell-note cell-denials", text: plural(denials, "denial") }) : null,
      ],
    );
  }

  function claimsNoteId(item) {
    return `claims-note-${item.country.code}`;
  }

  function unknownPosition(key) {
    return {
      category: key,
      value: "unknown",
      disputed: false,
      as_of: null,
      source_ids: [],
      assessments: [],
      coverage: "not_known_covered",
      claims: [],
      denials: [],
    };
  }

  function positionOf(item, key) {
    return item.positions.find((p) => p.category === key) || unknownPosition(key);
  }

  function renderRows() {
    const body = $("positions-body");
    body.replaceChildren();
    if (state.items.length === 0) {
      body.append(
        el("tr", { className: "empty-row", role: "row" }, [
          el("td", { role: "gridcell", colspan: state.categories.length + 1, text: "No government matches these filters." }),
        ]),
      );
      return;
    }
    for (const item of state.items) {
      const row = el("tr", { role: "row", "data-country": item.country.code }, [
        el("th", { scope: "row", role: "rowheader", title: item.country.official_name || item.country.name }, [
          el("span", { className: "country-name", text: item.country.name }),
          el("span", { className: "code", text: item.country.code }),
          (item.claims || []).length ? " " : null,
          (item.claims || []).length
            ? el("span", {
                className: "row-note",
                id: claimsNoteId(item),
                text: `${plural(item.claims.length, "report")} name it without a column`,
              })
            : null,
        ]),
      ]);
      for (const category of state.categories) {
        row.append(el("td", { role: "gridcell" }, [cellLink(item, positionOf(item, category.key))]));
      }
      body.append(row);
    }
    const active = state.active && cellAt(state.active.country, state.active.category);
    setActive(active || body.querySelector("a.cell"));
  }

  // -- the grid: one tab stop, arrow keys inside (WAI-ARIA APG grid pattern) --------------

  function cellAt(country, category) {
    return document.querySelector(
      `#positions-body a.cell[data-country="${CSS.escape(country)}"][data-category="${CSS.escape(category)}"]`,
    );
  }

  function setActive(cell) {
    if (!cell) return;
    for (const other of document.querySelectorAll('#positions-body a.cell[tabindex="0"]')) {
      if (other !== cell) other.setAttribute("tabindex", "-1");
    }
    cell.setAttribute("tabindex", "0");
    state.active = { country: cell.dataset.country, category: cell.dataset.category };
  }

  function moveFocus(cell, event) {
    const rows = Array.from(document.querySelectorAll("#positions-body tr[data-country]"));
    const row = cell.closest("tr");
    const cells = Array.from(row.querySelectorAll("a.cell"));
    const column = cells.indexOf(cell);
    let rowIndex = rows.indexOf(row);
    let columnIndex = column;
    switch (event.key) {
      case "ArrowRight":
        columnIndex = Math.min(column + 1, cells.length - 1);
        break;
      case "ArrowLeft":
        columnIndex = Math.max(column - 1, 0);
        break;
      case "ArrowDown":
        rowIndex = Math.min(rowIndex + 1, rows.length - 1);
        break;
      case "ArrowUp":
        rowIndex = Math.max(rowIndex - 1, 0);
        break;
      case "PageDown":
        rowIndex = Math.min(rowIndex + 5, rows.length - 1);
        break;
      case "PageUp":
        rowIndex = Math.max(rowIndex - 5, 0);
        break;
      case "Home":
        columnIndex = 0;
        if (event.ctrlKey) rowIndex = 0;
        break;
      case "End":
        columnIndex = cells.length - 1;
        if (event.ctrlKey) rowIndex = rows.length - 1;
        break;
      default:
        return false;
    }
    const target = rows[rowIndex].querySelectorAll("a.cell")[columnIndex];
    if (target) {
      setActive(target);
      target.focus();
    }
    return true;
  }

  // -- provenance dialog ------------------------------------------------------------------

  function sourceTitle(id) {
    const source = state.sources.get(id);
    return source ? source.title : id;
  }

  function field(term, ...description) {
    return [el("dt", { text: term }), el("dd", null, description)];
  }

  function none(text) {
    return el("span", { className: "none", text: text || "none" });
  }

  function assessmentArticle(assessment) {
    const source = state.sources.get(assessment.source_id);
    const via = assessment.reported_via_id ? state.sources.get(assessment.reported_via_id) : null;
    const status = source
      ? el("span", null, [
          el("strong", {
            className: `verification-${source.verification_status}`,
            text: VERIFICATION_LABELS[source.verification_status] || source.verification_status,
          }),
          source.verification_note ? ` — ${source.verification_note}` : "",
        ])
      : none("not listed in /sources");
    const reportedVia = assessment.reported_via_id
      ? el("span", null, [
          sourceTitle(assessment.reported_via_id),
          " (",
          el("code", { text: assessment.reported_via_id }),
          ")",
          via ? `, ${VERIFICATION_LABELS[via.verification_status] || via.verification_status}` : "",
        ])
      : none("first-hand (not relayed)");
    const rows = [
      ...field("Source", source ? el("cite", { text: source.title }) : assessment.source_id),
      ...field("Source id", el("code", { text: assessment.source_id })),
      ...(source ? field("Kind", KIND_LABELS[source.kind] || source.kind) : []),
      ...(source && source.classification ? field("Classification", source.classification) : []),
      ...(source && source.document_date ? field("Document date", source.document_date) : []),
      ...field("Value", valueBadge(assessment.value)),
      ...field("As of", el("time", { datetime: assessment.as_of, text: assessment.as_of })),
      ...field(
        "Evidence",
        assessment.evidence || none(),
        el("span", {
          className: "language-note",
          text: assessment.evidence ? languageNote(assessment.evidence_language, assessment.evidence_translated) : "",
        }),
      ),
      ...field("Note", assessment.note || none()),
      ...field("Relay chain", relayChain(assessment.relay_chain) || reportedVia),
      ...field("Verification status", status),
    ];
    return el("article", { className: "assessment", "data-source-id": assessment.source_id }, [
      el("h3", { text: sourceTitle(assessment.source_id) }),
      el("dl", null, rows),
    ]);
  }

  /** The hops a value came through, in order (the chart first, the report we read last). */
  function relayChain(hops) {
    if (!hops || hops.length < 2) return null;
    const list = el("ol", { className: "relay-chain", "aria-label": "Relay chain, from the source to the report we read" });
    for (const hop of hops) {
      const title = webUrl(hop.url)
        ? el("a", { href: hop.url, rel: "noopener noreferrer", className: "source-link" }, [el("cite", { text: hop.title })])
        : el("cite", { text: hop.title });
      const status = VERIFICATION_LABELS[hop.verification_status] || hop.verification_status;
      list.append(
        el("li", { className: "relay-hop", "data-source-id": hop.id }, [
          el("strong", { className: "hop-publisher", text: hop.publisher || hop.id }),
          ": ",
          title,
          el("span", {
            className: "hop-details",
            text:
              ` — ${dateText(hop.published_on, hop.published_on_qualifier)}; ${languageName(hop.language)}; ` +
              `${KIND_LABELS[hop.kind] || hop.kind}; ${status}`,
          }),
        ]),
      );
    }
    return list;
  }

  /** Statements that contradict a cell's value. They are shown apart and never change it. */
  function denialsSection(position) {
    const denials = position.denials || [];
    if (!denials.length) return null;
    const list = el("ul", { className: "denial-list" });
    for (const denial of denials) {
      const reportedIn = el("span", { className: "reported-in" }, ["Reported in: "]);
      denial.reported_in.forEach((id, index) => reportedIn.append(index ? "; " : "", sourceRef(id)));
      list.append(
        el("li", { className: "denial", "data-denial-id": denial.id }, [
          el("strong", { className: "denial-speaker", text: denial.speaker }),
          denial.speaker_role ? `, ${denial.speaker_role}` : "",
          ", ",
          el("time", { datetime: denial.stated_on, text: dateText(denial.stated_on, "exact") }),
          ": ",
          denial.summary,
          el("br"),
          reportedIn,
          ".",
          denial.note ? el("span", { className: "denial-note", text: ` ${denial.note}` }) : null,
        ]),
      );
    }
    return el("section", { className: "denials", "aria-labelledby": "denials-title" }, [
      el("h3", { id: "denials-title", text: `Statements that contradict this value (${denials.length})` }),
      el("p", {
        className: "hint",
        text:
          `They do not change the value above, which is what the sources report the chart says (${valueLabel(position.value)}). ` +
          "They are what was said in reply; we record them without judging which is true.",
      }),
      list,
    ]);
  }

  /** Other reports of the same cell: corroborations ("also reported by") and misreports. */
  function claimsSection(position) {
    const claims = position.claims || [];
    if (!claims.length) return null;
    const claimItem = (claim) =>
      el("li", { className: `claim claim-${claim.rank}`, "data-claim-id": claim.id, "data-source-id": claim.source_id }, [
        claim.rank === "deprecated" ? el("strong", { className: "misreport-label", text: "Misreport: " }) : null,
        sourceRef(claim.source_id),
        `, ${dateText(claim.stated_on, claim.stated_on_qualifier)}`,
        claim.value ? [" (reads ", valueBadge(claim.value, "badge-inline"), ")"] : null,
        `: ${claim.summary}`,
        el("span", { className: "language-note", text: languageNote(claim.language, claim.translated) }),
        claim.rank === "deprecated" && claim.rank_reason
          ? el("span", { className: "rank-reason" }, [el("br"), el("strong", { text: "Why it is set aside: " }), claim.rank_reason])
          : null,
      ].flat());
    const normal = claims.filter((c) => c.rank !== "deprecated");
    const deprecated = claims.filter((c) => c.rank === "deprecated");
    const parts = [];
    if (normal.length) {
      parts.push(
        el("h3", { text: `Also reported by (${normal.length})` }),
        el("ul", { className: "claim-list claims-normal" }, normal.map(claimItem)),
      );
    }
    if (deprecated.length) {
      parts.push(
        el("h3", { text: `Misreports, not counted (${deprecated.length})` }),
        el("ul", { className: "claim-list claims-deprecated" }, deprecated.map(claimItem)),
      );
    }
    return el("section", { className: "claims" }, parts);
  }

  /** The country's claims that name no column (for Greece, all that we hold). */
  function countryClaimsSection(item) {
    if (!(item.claims || []).length) return null;
    const list = el("ul", { className: "claim-list claims-lumped" });
    renderLumpedClaims(list, state.inView.length ? state.inView : [item], item);
    return el("section", { className: "claims country-claims" }, [
      el("h3", { text: `Reports that name ${item.country.name} without a column (${item.claims.length})` }),
      el("p", {
        className: "hint",
        text: hasValue(item)
          ? "They set no value in any cell; the values come from the sources above."
          : `They set no value in any cell: ${item.country.name} reads Unknown everywhere.`,
      }),
      list,
    ]);
  }

  /** The item for a country in this view: from the grid, else from the API. */
  async function countryItem(code) {
    const held = state.items.find((i) => i.country.code === code);
    if (held) return held;
    const params = viewParams(currentFilters());
    const query = params.toString();
    return getJSON(`/countries/${encodeURIComponent(code)}/positions${query ? "?" + query : ""}`);
  }

  async function openProvenance(code, key) {
    let item;
    try {
      item = await countryItem(code);
    } catch (error) {
      showError(error.message);
      return;
    }
    const position = positionOf(item, key);
    const category = state.categoryByKey.get(key);
    const label = categoryLabel(key);
    const filters = currentFilters();

    $("provenance-title").textContent = `${item.country.name} — ${label}`;
    const summary = el("p", { className: "provenance-summary" }, [
      "Position: ",
      valueBadge(position.value),
      position.as_of ? ` as of ${position.as_of}` : "",
      position.disputed ? disputedMark() : null,
      position.value === "unknown"
        ? el("span", { className: "coverage-note", text: `(${coverageLabel(position.coverage)})` })
        : null,
    ]);
    const view = el("p", { className: "hint", text: `View: ${describeView({ ...filters, category: "", value: "" }).join("; ")}.` });
    const parts = [summary];
    if (category) parts.push(el("p", { className: "hint", text: `${label}: ${category.definition}` }));
    parts.push(view);
    if (position.disputed) {
      parts.push(
        el("p", {
          text: "Disputed: the latest assessments of different sources disagree. The position shows the most recent one.",
        }),
      );
    }
    // Statements contradicting the value come first, boxed apart from it.
    const denials = denialsSection(position);
    if (denials) parts.push(denials);
    if (position.assessments.length === 0) {
      parts.push(
        el("p", {
          className: "unknown-explainer",
          text:
            position.coverage === "covered_not_reported"
              ? `The chart is known to have a row for ${item.country.name}, but no source we hold ` +
                "reports its value in this category in this view. Unknown means not reported; it is " +
                "not the same as No."
              : `No source we hold reports a value for ${item.country.name} in this category in this view. ` +
                "Unknown means not reported; it is not the same as No, and the chart may not have " +
                "assessed this government at all.",
        }),
      );
    } else {
      const count = position.assessments.length;
      parts.push(el("h3", { text: `${plural(count, "assessment")} behind this position, newest first` }));
      for (const assessment of position.assessments) parts.push(assessmentArticle(assessment));
    }
    for (const section of [claimsSection(position), countryClaimsSection(item)]) {
      if (section) parts.push(section);
    }
    const link = cellHref(item.country.code, key);
    parts.push(
      el("p", { className: "hint" }, [
        "Link to this value: ",
        el("a", { href: link, className: "permalink", text: new URL(link, window.location.href).href }),
      ]),
    );
    $("provenance-body").replaceChildren(...parts);

    state.lastTrigger = { country: item.country.code, category: key };
    const dialog = $("provenance");
    if (!dialog.open) dialog.showModal();
    syncPageUrl();
    $("provenance-close").focus();
  }

  function restoreFocus() {
    syncPageUrl();
    const trigger = state.lastTrigger;
    if (!trigger) return;
    // "close" is dispatched as a task after the dialog has closed: if focus has moved on to
    // something else by then (a quick Tab, a script), leave it there.
    const active = document.activeElement;
    if (active && active !== document.body && !$("provenance").contains(active)) {
      if (!active.matches("a.cell")) return;
      if (active.dataset.country !== trigger.country || active.dataset.category !== trigger.category) return;
    }
    // A shared link may name a cell this view does not show: go back to the grid's tab stop.
    const cell = cellAt(trigger.country, trigger.category) || document.querySelector('#positions-body a.cell[tabindex="0"]');
    if (cell) {
      setActive(cell);
      cell.focus();
    }
  }

  // -- loading ----------------------------------------------------------------------------

  async function allPositions(url, signal) {
    const items = [];
    for (let offset = 0; ; offset += PAGE_SIZE) {
      const page = await getJSON(`${url}&limit=${PAGE_SIZE}&offset=${offset}`, signal);
      items.push(...page.items);
      if (page.items.length === 0 || items.length >= page.total) return items;
    }
  }

  async function loadPositions() {
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    const filters = currentFilters();
    updateDownloadLink(filters);
    syncPageUrl();
    const table = $("positions-table");
    table.setAttribute("aria-busy", "true");
    setStatus("Loading positions…");
    try {
      const statsQuery = viewParams(filters).toString();
      const [items, inView, stats] = await Promise.all([
        allPositions(positionsUrl(filters), controller.signal),
        allPositions(`/positions?${statsQuery}`, controller.signal),
        getJSON(`/stats${statsQuery ? "?" + statsQuery : ""}`, controller.signal),
      ]);
      if (controller !== state.controller) return;
      state.items = filters.show === "chart" ? items.filter(onChart) : items;
      state.inView = inView;
      state.reported = inView.filter(hasValue);
      state.stats = stats;
      clearError();
      renderRows();
      renderSummary();
      setStatus(statusText(filters));
    } catch (error) {
      if (error.name === "AbortError" || controller !== state.controller) return;
      state.items = [];
      renderRows();
      showError(error.message);
      setStatus("Positions could not be loaded.");
    } finally {
      if (controller === state.controller) table.removeAttribute("aria-busy");
    }
  }

  async function start() {
    try {
      const [categories, sources, reported] = await Promise.all([
        getJSON("/categories"),
        getJSON("/sources"),
        allPositions("/positions?reported=true"),
      ]);
      state.categories = categories.slice().sort((a, b) => a.position - b.position);
      state.categoryByKey = new Map(state.categories.map((c) => [c.key, c]));
      state.sources = new Map(sources.map((s) => [s.id, s]));
      classifySources(reported);
    } catch (error) {
      showError(error.message);
      setStatus("The chart could not be loaded.");
      return;
    }
    renderCategories();
    renderSources();
    const linked = applyPageUrl();
    if (linked) state.active = linked;
    await loadPositions();
    if (linked) await openProvenance(linked.country, linked.category);
  }

  // -- wiring -----------------------------------------------------------------------------

  controls.form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadPositions();
  });
  for (const control of controls.form.querySelectorAll("select, input")) {
    control.addEventListener("change", () => {
      state.notice = "";
      loadPositions();
    });
  }
  // The reset event fires before the fields are reset: reload on the next turn.
  controls.form.addEventListener("reset", () => window.setTimeout(loadPositions, 0));

  const grid = $("positions-body");
  // A cell is a link (shareable); a plain click opens the dialog in place instead.
  grid.addEventListener("click", (event) => {
    const cell = event.target.closest("a.cell");
    if (!cell || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    setActive(cell);
    openProvenance(cell.dataset.country, cell.dataset.category);
  });
  grid.addEventListener("keydown", (event) => {
    const cell = event.target.closest("a.cell");
    if (!cell || event.altKey) return;
    if (event.key === " ") {
      event.preventDefault();
      setActive(cell);
      openProvenance(cell.dataset.country, cell.dataset.category);
    } else if (moveFocus(cell, event)) {
      event.preventDefault();
    }
  });
  grid.addEventListener("focusin", (event) => {
    const cell = event.target.closest("a.cell");
    if (cell) setActive(cell);
  });
  $("provenance-close").addEventListener("click", () => $("provenance").close());
  $("provenance").addEventListener("close", restoreFocus);
  // A click on the backdrop (outside the dialog box) closes it too.
  $("provenance").addEventListener("click", (event) => {
    const dialog = event.currentTarget;
    if (event.target !== dialog) return;
    const box = dialog.getBoundingClientRect();
    const inside =
      event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) dialog.close();
  });

  start();
})();
