// Compact, frameable view for articles: one country's four values (`/embed?country=RS`) or
// the summary counts (`/embed`). Same rules as chart.js: no external requests, text only.
(function () {
  "use strict";

  const VALUE_LABELS = { yes: "Yes", no: "No", decreasing: "Decreasing", unknown: "Unknown" };
  const VALUE_GLYPHS = { yes: "✓", no: "✕", decreasing: "↘", unknown: "?" };
  const VALUES = Object.keys(VALUE_LABELS);
  // As on the chart page: whether the chart is known to have the row, for unknown cells.
  const COVERAGE_LABELS = {
    reported: "reported",
    covered_not_reported: "on the chart, not reported",
    not_known_covered: "not known to be on the chart",
  };
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (name === "text") node.textContent = String(value);
      else if (name === "className") node.className = value;
      else node.setAttribute(name, String(value));
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) {
      let detail = `The API answered ${response.status}.`;
      try {
        const problem = await response.json();
        if (problem && problem.detail) detail = problem.detail;
      } catch (_ignored) {
        // keep the status line
      }
      throw new Error(detail);
    }
    return response.json();
  }

  /** A link out of the frame to the full page with this cell's provenance open. */
  function cellLink(code, position, label, countryName) {
    const value = VALUES.includes(position.value) ? position.value : "unknown";
    const count = position.source_ids.length;
    const coverage = COVERAGE_LABELS[position.coverage] ? position.coverage : "not_known_covered";
    const sources = count ? `${count} source${count === 1 ? "" : "s"}` : COVERAGE_LABELS[coverage];
    const denials = (position.denials || []).length;
    const denied = denials ? `, ${denials} statement${denials === 1 ? "" : "s"} contradicting it` : "";
    const query = new URLSearchParams({ country: code, category: position.category });
    return el(
      "a",
      {
        className: `cell value-${value} coverage-${coverage}`,
        href: `/?${query}`,
        target: "_blank",
        rel: "noopener",
        "aria-label": `${countryName}, ${label.toLowerCase()}: ${VALUE_LABELS[value].toLowerCase()}, ${sources}${denied}`,
        "data-category": position.category,
        "data-value": value,
        "data-coverage": coverage,
      },
      [
        el("span", { className: "cell-category", text: label }),
        el("span", { className: "cell-value" }, [
          el("span", { className: "glyph", "aria-hidden": "true", text: VALUE_GLYPHS[value] }),
          el("span", { text: ` ${VALUE_LABELS[value]}` }),
        ]),
        value === "unknown" ? document.createTextNode(" ") : null,
        value === "unknown" ? el("span", { className: "cell-note", text: COVERAGE_LABELS[coverage] }) : null,
        denials ? document.createTextNode(" ") : null,
        denials ? el("span", { className: "cell-note cell-denials", text: `${denials} denial${denials === 1 ? "" : "s"}` }) : null,
      ],
    );
  }

  async function showCountry(code, labels) {
    const item = await getJSON(`/countries/${encodeURIComponent(code)}/positions`);
    $("embed-title").textContent = `${item.country.name}: assessed positions`;
    const list = el("ul", { className: "embed-cells", "aria-label": item.country.name });
    for (const position of item.positions) {
      const label = labels.get(position.category) || position.category;
      list.append(el("li", null, [cellLink(item.country.code, position, label, item.country.name)]));
    }
    const claims = (item.claims || []).length;
    const note = claims
      ? el("p", {
          className: "embed-claims",
          text: `${claims} report${claims === 1 ? "" : "s"} name ${item.country.name} without a column: they set no value.`,
        })
      : null;
    $("embed-body").replaceChildren(...[list, note].filter(Boolean));
    $("embed-more").href = `/?${new URLSearchParams({ show: "all" })}`;
    $("embed-status").textContent = "";
  }

  async function showSummary(labels) {
    const stats = await getJSON("/stats");
    const table = el("table", { className: "summary-table" }, [
      el("caption", { text: `Governments per value, of the ${stats.countries} we list` }),
      el("thead", null, [
        el("tr", null, [
          el("th", { scope: "col", text: "Category" }),
          ...VALUES.map((v) => el("th", { scope: "col", text: VALUE_LABELS[v] })),
        ]),
      ]),
      el(
        "tbody",
        null,
        stats.categories.map((entry) =>
          el("tr", { "data-category": entry.category }, [
            el("th", { scope: "row", text: labels.get(entry.category) || entry.category }),
            ...VALUES.map((v) => el("td", { "data-value": v, text: String(entry.counts[v]) })),
          ]),
        ),
      ),
    ]);
    $("embed-body").replaceChildren(table);
    $("embed-status").textContent = "";
  }

  async function start() {
    const code = (new URLSearchParams(window.location.search).get("country") || "").toUpperCase();
    try {
      const categories = await getJSON("/categories");
      const labels = new Map(categories.map((c) => [c.key, c.label]));
      if (code) await showCountry(code, labels);
      else await showSummary(labels);
    } catch (error) {
      $("embed-error").textContent = error.message;
      $("embed-error").hidden = false;
      $("embed-status").textContent = "Could not be loaded.";
    }
  }

  start();
})();
