// Chart page for country-positions: a small dashboard client of the public API.
// Plain browser JavaScript (no framework, no build step, no external requests).
// Data from the API is only ever put in the page with textContent/attributes, never innerHTML.
(function () {
  "use strict";

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

  function showAll() {
    const checked = controls.form.querySelector('input[name="show"]:checked');
    return Boolean(checked && checked.value === "all");
  }

  function currentFilters() {
    return {
      category: controls.category.value,
      value: controls.value.value,
      source: controls.source.value,
      as_of: controls.asOf.value,
      show: showAll() ? "all" : "",
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
    const all = controls.form.querySelector('input[name="show"][value="all"]');
    all.checked = params.get("show") === "all";
    if (!all.checked) controls.form.querySelector('input[name="show"][value=""]').checked = true;
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
    const scope = filters.show || whose ? "" : " with a reported value";
    let text = `Showing ${count} ${noun}${scope}${whose}; ${parts.join("; ")}.`;
    if (!filters.show && !whose && state.stats) {
      text += ` ${state.stats.countries - count} more read Unknown in every category: choose “All in the catalogue” to list them.`;
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
    $("summary-lede").textContent = stats
      ? `${plural(reported.length, "government")} of the ${stats.countries} we list ` +
        `${reported.length === 1 ? "has" : "have"} a reported value in this view` +
        `${names.length ? ` (${names.join(", ")})` : ""}. For the other ` +
        `${stats.countries - reported.length}, no source we hold reports any value: Unknown.`
      : "";
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

  /** What a screen reader says for a cell: "Serbia, lethal aid: yes, 2 sources". */
  function cellName(item, position) {
    const count = position.source_ids.length;
    const value = valueLabel(position.value).toLowerCase();
    const sources = count ? plural(count, "source") : "no source reports a value";
    const disputed = position.disputed ? ", disputed" : "";
    return `${item.country.name}, ${categoryLabel(position.category).toLowerCase()}: ${value}${disputed}, ${sources}`;
  }

  function cellLink(item, position) {
    const value = VALUES.includes(position.value) ? position.value : "unknown";
    return el(
      "a",
      {
        href: cellHref(item.country.code, position.category),
        className: `cell value-${value}${position.disputed ? " is-disputed" : ""}`,
        tabindex: "-1",
        "aria-label": cellName(item, position),
        "aria-haspopup": "dialog",
        "data-country": item.country.code,
        "data-category": position.category,
        "data-value": position.value,
        "data-disputed": position.disputed ? "true" : "false",
      },
      [
        el("span", { className: "cell-category", text: categoryLabel(position.category) }),
        el("span", { className: "cell-value" }, [
          el("span", { className: "glyph", "aria-hidden": "true", text: VALUE_GLYPHS[value] }),
          " ",
          el("span", { className: "value-label", text: valueLabel(position.value) }),
        ]),
        position.disputed ? disputedMark() : null,
      ],
    );
  }

  function unknownPosition(key) {
    return { category: key, value: "unknown", disputed: false, as_of: null, source_ids: [], assessments: [] };
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
      ...field("Evidence", assessment.evidence || none()),
      ...field("Note", assessment.note || none()),
      ...field("Reported via", reportedVia),
      ...field("Verification status", status),
    ];
    return el("article", { className: "assessment", "data-source-id": assessment.source_id }, [
      el("h3", { text: sourceTitle(assessment.source_id) }),
      el("dl", null, rows),
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
    if (position.assessments.length === 0) {
      parts.push(
        el("p", {
          className: "unknown-explainer",
          text:
            `No source we hold reports a value for ${item.country.name} in this category in this view. ` +
            "Unknown means not reported; it is not the same as No, and the chart may not have " +
            "assessed this government at all.",
        }),
      );
    } else {
      const count = position.assessments.length;
      parts.push(el("h3", { text: `${plural(count, "assessment")} behind this position, newest first` }));
      for (const assessment of position.assessments) parts.push(assessmentArticle(assessment));
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
      const view = viewParams(filters);
      view.set("reported", "true");
      const statsQuery = viewParams(filters).toString();
      const [items, reported, stats] = await Promise.all([
        allPositions(positionsUrl(filters), controller.signal),
        allPositions(`/positions?${view}`, controller.signal),
        getJSON(`/stats${statsQuery ? "?" + statsQuery : ""}`, controller.signal),
      ]);
      if (controller !== state.controller) return;
      state.items = items;
      state.reported = reported;
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
