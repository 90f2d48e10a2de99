// The notebook carries its conversation in its own metadata. The kernel writes each turn's record
// (docs/history.md, format 1) into the `metadata.querygpt` of the `%%ask` output, and `%ask
// feedback` adds an output with `metadata.querygpt_feedback = {turn, kind, text}`; a kernel cannot
// write notebook-level metadata, so this front-end piece copies them into the notebook model:
//   metadata.querygpt = {"format": 1, "turns": [record, ...]}
// ordered by created_at, one entry per id, feedback merged into its record, the newest 500 kept.
// "Clear outputs" then loses nothing. Duck-typed against JupyterLab 4's models: no imports.

export const KEY = "querygpt";
export const FEEDBACK_KEY = "querygpt_feedback";
export const FORMAT = 1;
export const MAX_TURNS = 500;
const DELAY_MS = 50;   // coalesces the bursts of output events of one execution into one write

/** @param {any} value @returns {boolean} a turn record (as history/notebook.py `_parse` accepts) */
export function isRecord(value) {
  return Boolean(value) && typeof value === "object" && !Array.isArray(value) && typeof value.id === "string"
    && "question" in value;
}

/**
 * Adds what one output's metadata carries to `found`.
 * @param {any} metadata @param {{records: Map<string, any>, feedback: Map<string, any>}} found
 */
export function collect(metadata, found) {
  if (!metadata || typeof metadata !== "object") return false;
  let any = false;
  const record = metadata[KEY];
  if (isRecord(record)) {
    found.records.set(record.id, record);
    any = true;
  }
  const given = metadata[FEEDBACK_KEY];
  if (given && typeof given === "object" && typeof given.turn === "string" && given.turn) {
    found.feedback.set(given.turn, { kind: given.kind ?? null, text: given.text ?? null });
    any = true;
  }
  return any;
}

/**
 * The notebook-level value: `current` (what the notebook has) with `records` upserted and
 * `feedback` merged. Feedback for a turn the notebook does not carry (a sidebar turn) is dropped.
 * @param {any} current @param {Iterable<any>} records @param {Iterable<[string, any]>} feedback
 * @param {number} [max]
 */
export function merge(current, records, feedback, max = MAX_TURNS) {
  const base = current && typeof current === "object" && !Array.isArray(current) ? current : {};
  const byId = new Map();
  for (const turn of Array.isArray(base.turns) ? base.turns : []) if (isRecord(turn)) byId.set(turn.id, turn);
  for (const record of records) {
    const old = byId.get(record.id);
    // the output's record is the kernel's; feedback given since lives only here
    byId.set(record.id, old && old.feedback != null && record.feedback == null ? { ...record, feedback: old.feedback } : record);
  }
  for (const [turn, given] of feedback) {
    const record = byId.get(turn);
    if (record) byId.set(turn, { ...record, feedback: given });
  }
  const time = (/** @type {any} */ r) => (Number.isFinite(Number(r.created_at)) ? Number(r.created_at) : 0);
  const turns = [...byId.values()].sort((a, b) => time(a) - time(b)).slice(-max);
  return { ...base, format: FORMAT, turns };
}

/** @param {any} value @returns {string} JSON with sorted keys, to compare values */
function canonical(value) {
  return JSON.stringify(value, (_, v) => (v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v));
}

/** @param {any} model */
function readMetadata(model) {
  if (typeof model.getMetadata === "function") return model.getMetadata(KEY);
  return model.sharedModel?.getMetadata?.(KEY);
}

/** @param {any} model @param {any} value */
function writeMetadata(model, value) {
  if (typeof model.setMetadata === "function") model.setMetadata(KEY, value);
  else model.sharedModel.setMetadata(KEY, value);
}

/** Keeps one notebook model's `metadata.querygpt` current with the records its outputs gain. */
export class ConversationKeeper {
  /** @param {any} model a JupyterLab 4 notebook model, already loaded */
  constructor(model) {
    this.model = model;
    this.pending = { records: new Map(), feedback: new Map() };
    this.timer = 0;
    /** @type {WeakSet<any>} */
    this.cells = new WeakSet();
    // What the outputs carry when the notebook opens (e.g. run by nbconvert) is remembered, not
    // written: opening a notebook must not modify it. The next output change writes it too, so
    // clearing the outputs keeps those turns.
    for (let i = 0; i < model.cells.length; i++) this.watchCell(model.cells.get(i), false);
    model.cells.changed.connect(this.onCellsChanged, this);
  }

  /** @param {any} cell @param {boolean} schedule */
  watchCell(cell, schedule) {
    const outputs = cell && cell.outputs;
    if (!outputs || !outputs.changed || this.cells.has(cell)) return;
    this.cells.add(cell);
    let any = false;
    for (let i = 0; i < outputs.length; i++) any = collect(outputs.get(i).metadata, this.pending) || any;
    outputs.changed.connect(this.onOutputsChanged, this);
    if (schedule && any) this.schedule();
  }

  /** @param {any} _list @param {any} change */
  onCellsChanged(_list, change) {
    if (change.type === "add" || change.type === "set") for (const cell of change.newValues || []) this.watchCell(cell, true);
  }

  /** @param {any} _outputs @param {any} change */
  onOutputsChanged(_outputs, change) {
    if (change.type === "add" || change.type === "set") {
      for (const output of change.newValues || []) collect(output.metadata, this.pending);
    }
    if (this.pending.records.size || this.pending.feedback.size) this.schedule();
  }

  schedule() {
    if (!this.timer) this.timer = window.setTimeout(() => this.flush(), DELAY_MS);
  }

  flush() {
    this.timer = 0;
    const model = this.model;
    const { records, feedback } = this.pending;
    this.pending = { records: new Map(), feedback: new Map() };
    if (model.isDisposed || (!records.size && !feedback.size)) return;
    const current = readMetadata(model);
    if (current && Number(current.format) > FORMAT) return;     // a newer querygpt wrote it: leave it alone
    const next = merge(current, records.values(), feedback);
    if (!next.turns.length && !current) return;
    if (canonical(next) !== canonical(current)) writeMetadata(model, next);
  }
}

/** @param {any} widget @returns {boolean} a notebook panel (duck-typed) */
function isNotebookWidget(widget) {
  return Boolean(widget && widget.context && widget.context.ready && widget.content && "activeCellIndex" in widget.content);
}

/**
 * Keeps the conversation of every notebook opened in `app`: notebooks are found as the notebook
 * widget factory creates them, and by scanning the main area (for those open before this runs).
 * @param {any} app
 */
export function keepConversations(app) {
  /** @type {WeakSet<any>} */
  const seen = new WeakSet();
  const watch = (/** @type {any} */ widget) => {
    if (!isNotebookWidget(widget) || seen.has(widget)) return;
    seen.add(widget);
    widget.context.ready.then(() => {
      const model = widget.context.model;
      if (!widget.isDisposed && model && model.cells && !model.isDisposed) new ConversationKeeper(model);
    }, () => {});
  };
  const scan = () => {
    for (const widget of app.shell.widgets("main")) watch(widget);
  };
  let hooked = false;
  const hook = () => {
    const factory = hooked ? null : app.docRegistry?.getWidgetFactory?.("Notebook");
    if (!factory || !factory.widgetCreated) return;
    factory.widgetCreated.connect((/** @type {any} */ _, /** @type {any} */ widget) => watch(widget));
    hooked = true;
  };
  hook();
  scan();
  app.shell.layoutModified?.connect(scan);
  for (const phase of [app.started, app.restored]) phase?.then(() => { hook(); scan(); });
}
