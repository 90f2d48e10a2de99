// The chat widget (anywidget entry): all state lives in the Python model's synced traits; this
// module wires the header, the conversation and the composer to them and to four messages
// (ask, stop, feedback, refresh). Turns are re-drawn only when their data changed.
import { createComposer, createHeader } from "./composer.js";
import { h } from "./dom.js";
import { followChartStyle } from "./chartstyle.js";
import { fitToSidebar } from "./layout.js";
import { copyText, insertCell } from "./notebook.js";
import { renderTurn } from "./turn.js";
import "./chat.css";

let instances = 0;

/** @param {{model: any, el: HTMLElement}} ctx */
function render({ model, el }) {
  const listId = `qg-models-${++instances}`;
  const set = (/** @type {string} */ name, /** @type {any} */ value) => {
    model.set(name, value);
    model.save_changes();
  };
  const header = createHeader({
    onRefresh: () => model.send({ type: "refresh" }),
    onModel: (name) => set("model_name", name),
    onConnection: (name) => set("connection", name),
    onView: (view) => set("view", view),
  });
  /** a question sent but not yet taken up by the kernel: drawn at once, replaced by `live` */
  let pending = null;
  let pendingBase = 0;   // how many turns there were when it was sent
  const composer = createComposer({
    onAsk: (text) => {
      status("");
      pendingBase = model.get("turns").length;
      pending = { id: "pending", source: "sidebar", question: text, status: "running", events: [], tokens: "" };
      drawTurns();
      model.send({ type: "ask", text });
    },
    onStop: () => model.send({ type: "stop" }),
  });
  const log = h("div", { class: "qg-log", role: "log", "aria-label": "Conversation" });
  const empty = h("div", { class: "qg-empty" },
    h("b", null, "Ask your data a question"),
    h("div", null, "e.g. “Average horsepower by origin”. The SQL comes back for review: insert it as a cell, run it, or copy it."));
  const notice = h("div", { class: "qg-notice", role: "status", hidden: true });
  const root = h("div", { class: "qg-chat" }, header.el, log, notice, composer.el);
  el.appendChild(root);

  /** @type {Map<string, {key: string, el: HTMLElement}>} */
  const drawn = new Map();
  const actions = {
    view: "user",
    onCopy: async (/** @type {any} */ turn) => status((await copyText(turn.sql)) ? "SQL copied." : "Could not copy: select the SQL by hand."),
    onInsert: async (/** @type {any} */ turn, /** @type {boolean} */ run) => {
      const result = await insertCell({ code: turn.cell, kernelId: model.get("kernel_id"), run });
      status(result.message, !result.ok);
    },
    onFeedback: (/** @type {any} */ turn, /** @type {string} */ kind, /** @type {string} */ text) =>
      model.send({ type: "feedback", id: turn.id, kind, text }),
  };

  /** @param {string} text @param {boolean} [problem] */
  function status(text, problem = false) {
    notice.textContent = text;
    notice.hidden = !text;
    notice.classList.toggle("qg-problem", problem);
  }

  function drawTurns() {
    actions.view = model.get("view");
    const turns = [...model.get("turns")];
    const live = model.get("live");
    if (pending && (live || turns.length !== pendingBase)) pending = null;
    if (live) turns.push(live);
    else if (pending) turns.push(pending);
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    const seen = new Set();
    /** @type {HTMLElement[]} */
    const elements = [];
    for (const turn of turns) {
      const key = `${actions.view}|${JSON.stringify(turn)}`;
      let entry = drawn.get(turn.id);
      if (!entry || entry.key !== key) {
        entry = { key, el: renderTurn(turn, actions) };
        drawn.set(turn.id, entry);
      }
      seen.add(turn.id);
      elements.push(entry.el);
    }
    for (const id of [...drawn.keys()]) if (!seen.has(id)) drawn.delete(id);
    if (!elements.length) elements.push(empty);
    // keep nodes that did not change in place (no flicker, no lost focus in a suggestion box)
    elements.forEach((child, i) => {
      if (log.children[i] !== child) log.insertBefore(child, log.children[i] || null);
    });
    while (log.children.length > elements.length) log.lastElementChild?.remove();
    if (nearBottom || live) log.scrollTop = log.scrollHeight;
  }

  function drawHeader() {
    header.update({
      model: model.get("model_name"), models: model.get("models"), connection: model.get("connection"),
      connections: model.get("connections"), view: model.get("view"), listId,
    });
    composer.setBusy(model.get("busy"));
    root.classList.toggle("qg-busy", model.get("busy"));
  }

  const onNotice = () => {
    if (!model.get("notice")) return;
    status(model.get("notice"), true);
    pending = null;   // the kernel refused the question
    drawTurns();
  };
  const handlers = [
    ["change:turns", drawTurns], ["change:live", drawTurns], ["change:view", () => { drawTurns(); drawHeader(); }],
    ["change:busy", drawHeader], ["change:models", drawHeader], ["change:model_name", drawHeader],
    ["change:connections", drawHeader], ["change:connection", drawHeader], ["change:notice", onNotice],
  ];
  for (const [event, fn] of handlers) model.on(event, fn);
  drawHeader();
  drawTurns();
  onNotice();
  const unfit = fitToSidebar(root);
  const unfollow = followChartStyle(model, root, log);
  return () => {
    unfit();
    unfollow();
    for (const [event, fn] of handlers) model.off(event, fn);
  };
}

export default { render };
