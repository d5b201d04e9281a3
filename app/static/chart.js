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
  const FILTER_PARAMS = ["category", "value", "source", "as_of"];

  const state = {
    categories: [],
    categoryByKey: new Map(),
    sources: new Map(),
    items: [],
    total: 0,
    controller: null,
    lastTrigger: null,
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

  function currentFilters() {
    return {
      category: controls.category.value,
      value: controls.value.value,
      source: controls.source.value,
      as_of: controls.asOf.value,
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

  function positionsUrl(filters, extra) {
    const params = new URLSearchParams(extra);
    for (const [name, value] of apiParams(filters)) params.set(name, value);
    return `/positions?${params}`;
  }

  function updateDownloadLink(filters) {
    // No limit: the CSV export holds every matching country unless a limit is given.
    controls.download.href = positionsUrl(filters, { format: "csv" });
  }

  /** Keep the page URL in step with the controls, so a view can be bookmarked or shared. */
  function syncPageUrl(filters) {
    const params = new URLSearchParams();
    for (const name of FILTER_PARAMS) if (filters[name]) params.set(name, filters[name]);
    const query = params.toString();
    const url = `${window.location.pathname}${query ? "?" + query : ""}`;
    if (url !== `${window.location.pathname}${window.location.search}`) {
      window.history.replaceState(null, "", url);
    }
  }

  function setSelect(select, value) {
    if (value && Array.from(select.options).some((option) => option.value === value)) {
      select.value = value;
    }
  }

  function applyPageUrl() {
    const params = new URLSearchParams(window.location.search);
    setSelect(controls.category, params.get("category"));
    setSelect(controls.value, params.get("value"));
    setSelect(controls.source, params.get("source"));
    const asOf = params.get("as_of");
    if (asOf && /^\d{4}-\d{2}-\d{2}$/.test(asOf)) controls.asOf.value = asOf;
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
    let text = `Showing ${count} ${noun}${whose}; ${parts.join("; ")}.`;
    if (Boolean(filters.category) !== Boolean(filters.value)) {
      text += " Choose both a category and a value to filter by value.";
    }
    return text;
  }

  // -- rendering --------------------------------------------------------------------------

  function renderCategories() {
    const head = $("positions-head");
    head.replaceChildren(el("th", { scope: "col", className: "country-col", text: "Government" }));
    const definitions = $("category-definitions");
    definitions.replaceChildren();
    for (const category of state.categories) {
      const definitionId = `definition-${category.key}`;
      head.append(
        el("th", { scope: "col", "data-category": category.key, "aria-describedby": definitionId }, [
          el("span", { className: "category-label", title: category.definition, text: category.label }),
        ]),
      );
      definitions.append(
        el("dt", { text: category.label }),
        el("dd", { id: definitionId, text: category.definition }),
      );
      controls.category.append(el("option", { value: category.key, text: category.label }));
    }
  }

  function renderSources() {
    for (const source of state.sources.values()) {
      const status = VERIFICATION_LABELS[source.verification_status] || source.verification_status;
      controls.source.append(el("option", { value: source.id, text: `${source.title} (${status})` }));
    }
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

  function cellButton(item, position) {
    const value = VALUES.includes(position.value) ? position.value : "unknown";
    const category = state.categoryByKey.get(position.category);
    const button = el(
      "button",
      {
        type: "button",
        className: `cell value-${value}${position.disputed ? " is-disputed" : ""}`,
        "data-category": position.category,
        "data-value": position.value,
        "data-disputed": position.disputed ? "true" : "false",
        "aria-haspopup": "dialog",
        "aria-controls": "provenance",
        title: `${item.country.name}, ${category ? category.label : position.category}: show sources`,
      },
      [
        el("span", { className: "cell-value" }, [
          el("span", { className: "glyph", "aria-hidden": "true", text: VALUE_GLYPHS[value] }),
          " ",
          el("span", { className: "value-label", text: valueLabel(position.value) }),
        ]),
        position.disputed ? disputedMark() : null,
      ],
    );
    return button;
  }

  function unknownPosition(key) {
    return { category: key, value: "unknown", disputed: false, as_of: null, source_ids: [], assessments: [] };
  }

  function renderRows() {
    const body = $("positions-body");
    body.replaceChildren();
    if (state.items.length === 0) {
      body.append(
        el("tr", { className: "empty-row" }, [
          el("td", { colspan: state.categories.length + 1, text: "No government matches these filters." }),
        ]),
      );
      return;
    }
    for (const item of state.items) {
      const byCategory = new Map(item.positions.map((p) => [p.category, p]));
      const row = el("tr", { "data-country": item.country.code }, [
        el("th", { scope: "row", title: item.country.official_name || item.country.name }, [
          el("span", { className: "country-name", text: item.country.name }),
          el("span", { className: "code", text: item.country.code }),
        ]),
      ]);
      for (const category of state.categories) {
        const position = byCategory.get(category.key) || unknownPosition(category.key);
        row.append(el("td", null, [cellButton(item, position)]));
      }
      body.append(row);
    }
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

  function openProvenance(button) {
    const row = button.closest("tr");
    const code = row ? row.dataset.country : null;
    const item = state.items.find((i) => i.country.code === code);
    if (!item) return;
    const key = button.dataset.category;
    const position = item.positions.find((p) => p.category === key) || unknownPosition(key);
    const category = state.categoryByKey.get(key);
    const label = category ? category.label : key;
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
            `No source reports a value for ${item.country.name} in this category in this view. ` +
            "Unknown means not reported; it is not the same as No.",
        }),
      );
    } else {
      const count = position.assessments.length;
      parts.push(el("h3", { text: `${count} assessment${count === 1 ? "" : "s"} behind this position, newest first` }));
      for (const assessment of position.assessments) parts.push(assessmentArticle(assessment));
    }
    $("provenance-body").replaceChildren(...parts);

    state.lastTrigger = { country: code, category: key };
    const dialog = $("provenance");
    if (!dialog.open) dialog.showModal();
    $("provenance-close").focus();
  }

  function restoreFocus() {
    const trigger = state.lastTrigger;
    if (!trigger) return;
    // "close" is dispatched as a task after the dialog has closed: if focus has moved on to
    // something else by then (a quick Tab, a script), leave it there.
    const active = document.activeElement;
    if (active && active !== document.body && !$("provenance").contains(active)) {
      if (!active.matches("button.cell")) return;
      const row = active.closest("tr");
      if (!row || row.dataset.country !== trigger.country || active.dataset.category !== trigger.category) return;
    }
    const selector = `tr[data-country="${CSS.escape(trigger.country)}"] button[data-category="${CSS.escape(trigger.category)}"]`;
    const button = document.querySelector(selector);
    if (button) button.focus();
  }

  // -- loading ----------------------------------------------------------------------------

  async function loadPositions() {
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    const filters = currentFilters();
    updateDownloadLink(filters);
    syncPageUrl(filters);
    const table = $("positions-table");
    table.setAttribute("aria-busy", "true");
    setStatus("Loading positions…");
    try {
      const items = [];
      let total = 0;
      for (let offset = 0; ; offset += PAGE_SIZE) {
        const page = await getJSON(positionsUrl(filters, { limit: PAGE_SIZE, offset }), controller.signal);
        items.push(...page.items);
        total = page.total;
        if (page.items.length === 0 || items.length >= total) break;
      }
      if (controller !== state.controller) return;
      state.items = items;
      state.total = total;
      clearError();
      renderRows();
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
      const [categories, sources] = await Promise.all([getJSON("/categories"), getJSON("/sources")]);
      state.categories = categories.slice().sort((a, b) => a.position - b.position);
      state.categoryByKey = new Map(state.categories.map((c) => [c.key, c]));
      state.sources = new Map(sources.map((s) => [s.id, s]));
    } catch (error) {
      showError(error.message);
      setStatus("The chart could not be loaded.");
      return;
    }
    renderCategories();
    renderSources();
    applyPageUrl();
    await loadPositions();
  }

  // -- wiring -----------------------------------------------------------------------------

  controls.form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadPositions();
  });
  for (const control of [controls.category, controls.value, controls.source, controls.asOf]) {
    control.addEventListener("change", () => loadPositions());
  }
  // The reset event fires before the fields are reset: reload on the next turn.
  controls.form.addEventListener("reset", () => window.setTimeout(loadPositions, 0));

  // Buttons already turn Enter and Space into clicks, so one listener serves mouse and keyboard.
  $("positions-body").addEventListener("click", (event) => {
    const button = event.target.closest("button.cell");
    if (button) openProvenance(button);
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
