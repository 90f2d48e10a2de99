// One turn of the conversation: the question, progress while it runs, then the answer, the SQL
// (with copy / insert / run), a table preview, the chart, an error with its next step, feedback,
// and — in the developer view — timings, tokens and attempts.
import { h } from "./dom.js";
import { highlightSql } from "./highlight.js";

// the kinds `%ask feedback` records (Session.feedback)
export const FEEDBACK = [
  { kind: "correct", label: "Correct", icon: "✓" },
  { kind: "partial", label: "Partly correct", icon: "≈" },
  { kind: "wrong", label: "Wrong", icon: "✗" },
  { kind: "suggestion", label: "Suggest…", icon: "✎" },
];

/**
 * @typedef {{stage: string, message: string, elapsed_ms: number}} TurnEvent
 * @typedef {{
 *   id: string, source: string, question: string, status: string, events: TurnEvent[], tokens: string,
 *   sql?: string, cell?: string, explanation?: string, model?: string, connection?: string, connection_note?: string,
 *   table?: {columns: string[], rows: any[][], row_count: number, truncated: boolean} | null,
 *   chart?: {svg: string, description: string, note: string, width?: number} | null, chart_note?: string,
 *   error?: {code: string, message: string, hint: string} | null,
 *   feedback?: {kind: string, text: string} | null, developer?: any
 * }} Turn
 * @typedef {{
 *   view: string,
 *   onCopy: (turn: Turn) => void, onInsert: (turn: Turn, run: boolean) => void,
 *   onFeedback: (turn: Turn, kind: string, text: string) => void,
 * }} TurnActions
 */

/** @param {Turn} turn @param {TurnActions} actions @returns {HTMLElement} */
export function renderTurn(turn, actions) {
  const developer = actions.view === "developer";
  const running = turn.status === "running" || turn.status === "stopping";
  return h("section", { class: `qg-turn qg-status-${turn.status}`, dataset: { turn: turn.id, status: turn.status } },
    h("div", { class: "qg-question" },
      turn.source === "notebook" ? h("span", { class: "qg-badge", title: "Asked in a %%ask cell" }, "cell") : null,
      turn.question || "(SQL)"),
    running || developer ? renderProgress(turn, developer) : null,
    running && turn.tokens ? h("pre", { class: "qg-tokens", "aria-live": "polite" }, turn.tokens) : null,
    turn.error ? renderError(turn.error) : null,
    !running && turn.explanation && !turn.error ? h("div", { class: "qg-explanation" }, turn.explanation) : null,
    turn.sql ? renderSql(turn, actions) : null,
    turn.chart ? renderChart(turn.chart) : turn.chart_note ? h("div", { class: "qg-meta qg-chart-note" }, turn.chart_note) : null,
    turn.table ? renderTable(turn.table) : null,
    !running && turn.connection ? renderConnection(turn) : null,
    developer && !running && turn.developer ? renderDeveloper(turn) : null,
    !running && !(turn.error && !turn.sql) ? renderFeedback(turn, actions) : null,
  );
}

/** @param {Turn} turn @param {boolean} developer */
function renderProgress(turn, developer) {
  const events = turn.events || [];
  if (!developer) {
    const last = events[events.length - 1];
    const text = turn.status === "stopping" ? "Stopping…" : last ? last.message : "Starting…";
    return h("div", { class: "qg-progress", "aria-live": "polite" },
      h("span", { class: "qg-spinner", "aria-hidden": "true" }),
      h("span", { class: "qg-event", dataset: { stage: last ? last.stage : "" } }, text));
  }
  return h("ol", { class: "qg-events" }, events.map((e) =>
    h("li", { class: "qg-event", dataset: { stage: e.stage } },
      h("span", { class: "qg-ms" }, `${e.elapsed_ms.toFixed(0)} ms`), " ", h("span", { class: "qg-stage" }, e.stage), " ", e.message)));
}

/** @param {{code: string, message: string, hint: string}} error */
function renderError(error) {
  return h("div", { class: "qg-error", role: "alert" },
    h("b", { class: "qg-error-code" }, error.code), " ", error.message,
    error.hint ? h("div", { class: "qg-hint" }, error.hint) : null);
}

/** @param {Turn} turn @param {TurnActions} actions */
function renderSql(turn, actions) {
  const canInsert = Boolean(turn.cell) && !turn.error;
  return h("div", { class: "qg-sql-block" },
    highlightSql(turn.sql || ""),
    h("div", { class: "qg-actions" },
      h("button", { class: "qg-btn qg-copy", title: "Copy the SQL", onclick: () => actions.onCopy(turn) }, "Copy"),
      canInsert ? h("button", { class: "qg-btn qg-insert", title: "Insert a %%ask --sql cell below the active cell",
        onclick: () => actions.onInsert(turn, false) }, "Insert cell") : null,
      canInsert ? h("button", { class: "qg-btn qg-run", title: "Insert the cell below the active cell and run it",
        onclick: () => actions.onInsert(turn, true) }, "Insert & run") : null));
}

/** @param {{svg: string, description: string, note: string, width?: number}} chart */
function renderChart(chart) {
  // an <img> of the kernel's SVG: drawn offline, and no markup from the kernel enters the page
  // drawn in the kernel for the width this view measured (chart_style): shown at its own size,
  // never scaled down, so its 10–11 px text stays that size
  const src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(chart.svg)}`;
  return h("figure", { class: "qg-chart", dataset: { width: String(chart.width || "") } },
    h("img", { src, alt: chart.description, title: chart.description }),
    chart.note ? h("figcaption", null, chart.note) : null);
}

/** @param {{columns: string[], rows: any[][], row_count: number, truncated: boolean}} table */
function renderTable(table) {
  const count = `${table.row_count.toLocaleString()} row${table.row_count === 1 ? "" : "s"}`
    + (table.truncated ? " (truncated at the row cap)" : table.row_count > table.rows.length ? `, first ${table.rows.length} shown` : "");
  return h("div", { class: "qg-table-wrap" },
    h("table", { class: "qg-table" },
      h("thead", null, h("tr", null, table.columns.map((c) => h("th", null, c)))),
      h("tbody", null, table.rows.map((row) => h("tr", null, row.map((v) => h("td", { class: typeof v === "number" ? "qg-num" : null }, formatCell(v))))))),
    h("div", { class: "qg-meta" }, count));
}

/** Which connection answered (every turn says so), and why when it was chosen among several. @param {Turn} turn */
function renderConnection(turn) {
  return h("div", { class: "qg-meta qg-connection-used", dataset: { connection: turn.connection || "" } },
    `Connection: ${turn.connection}`
    + (turn.connection_note ? ` — chosen automatically: ${turn.connection_note} (the Connection menu picks another)` : ""));
}

/** @param {any} v */
function formatCell(v) {
  if (v == null) return "∅";
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString() : v.toLocaleString(undefined, { maximumFractionDigits: 4 });
  return String(v);
}

/** @param {Turn} turn */
function renderDeveloper(turn) {
  const d = turn.developer;
  const timings = Object.entries(d.timings_ms || {});
  return h("details", { class: "qg-developer", open: true },
    h("summary", null, "Details"),
    h("div", { class: "qg-meta" },
      `model ${turn.model || "—"} · ${turn.connection || d.label || "—"} · ${d.dialect || "—"} · `
      + `${d.prompt_tokens} prompt + ${d.completion_tokens} completion tokens`
      + (d.cost_usd ? ` · $${d.cost_usd.toFixed(4)}` : "")),
    timings.length ? h("table", { class: "qg-timings" }, timings.map(([stage, ms]) =>
      h("tr", null, h("td", null, stage), h("td", { class: "qg-num" }, `${Number(ms).toFixed(1)} ms`)))) : null,
    (d.notes || []).map((/** @type {string} */ n) => h("div", { class: "qg-meta" }, n)),
    d.attempts && d.attempts.length > 1 ? h("ol", { class: "qg-attempts" }, d.attempts.map((/** @type {any} */ a) =>
      h("li", null, a.error ? `${a.error.code}: ${a.error.message}` : "accepted", highlightSql(a.sql || "(no SQL)")))) : null,
    d.executed_sql && d.executed_sql !== turn.sql ? h("div", null, h("div", { class: "qg-meta" }, "As executed (with the row cap):"),
      highlightSql(d.executed_sql)) : null);
}

/** @param {Turn} turn @param {TurnActions} actions */
function renderFeedback(turn, actions) {
  const given = turn.feedback;
  const box = h("div", { class: "qg-suggest", hidden: true },
    h("textarea", { class: "qg-suggest-text", rows: 2, placeholder: "What should it have done?" }),
    h("button", { class: "qg-btn qg-suggest-send", onclick: () => {
      const text = /** @type {HTMLTextAreaElement} */ (box.querySelector("textarea")).value.trim();
      if (text) actions.onFeedback(turn, "suggestion", text);
    } }, "Send"));
  return h("div", { class: "qg-feedback" },
    h("span", { class: "qg-meta" }, given ? `Feedback: ${label(given.kind)}${given.text ? ` — “${given.text}”` : ""}` : "Was this right?"),
    FEEDBACK.map((f) => h("button", {
      class: `qg-btn qg-fb qg-fb-${f.kind}${given && given.kind === f.kind ? " qg-selected" : ""}`,
      title: f.label, "aria-pressed": String(Boolean(given && given.kind === f.kind)), dataset: { kind: f.kind },
      onclick: () => {
        if (f.kind === "suggestion") {
          box.hidden = !box.hidden;
          if (!box.hidden) /** @type {HTMLElement} */ (box.querySelector("textarea")).focus();
        } else actions.onFeedback(turn, f.kind, "");
      },
    }, `${f.icon} ${f.label}`)),
    box);
}

/** @param {string} kind */
function label(kind) {
  const f = FEEDBACK.find((x) => x.kind === kind);
  return f ? f.label.replace("…", "") : kind;
}
