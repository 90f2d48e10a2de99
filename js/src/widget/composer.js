// The chat's controls: model and connection pickers and the view switch on top, the question box
// with send / stop at the bottom. Keyboard: Enter sends, Shift+Enter is a new line, Escape stops.
import { h } from "./dom.js";

/**
 * @typedef {{onRefresh: () => void, onModel: (name: string) => void, onConnection: (name: string) => void,
 *   onView: (view: string) => void}} HeaderActions
 * @typedef {{onAsk: (text: string) => void, onStop: () => void}} ComposerActions
 */

/** @param {HeaderActions} actions */
export function createHeader(actions) {
  const model = h("input", { class: "qg-model", list: "", placeholder: "model", title: "Model (a LiteLLM string, or querygpt/offline)",
    "aria-label": "Model", onchange: () => actions.onModel(model.value.trim()) });
  const models = h("datalist", null);
  const connection = h("select", { class: "qg-connection", title: "Connection", "aria-label": "Connection",
    onfocus: () => actions.onRefresh(), onchange: () => actions.onConnection(connection.value) });
  const view = h("button", { class: "qg-btn qg-view", title: "Switch between the user and developer views",
    onclick: () => actions.onView(view.dataset.view === "developer" ? "user" : "developer") });
  const el = h("header", { class: "qg-header" },
    h("label", null, h("span", null, "Model"), model, models),
    h("label", null, h("span", null, "Connection"), connection),
    view);
  return {
    el,
    /** @param {{model: string, models: string[], connection: string, connections: string[], view: string, listId: string}} s */
    update(s) {
      models.id = s.listId;
      model.setAttribute("list", s.listId);
      models.replaceChildren(...s.models.map((m) => h("option", { value: m })));
      if (document.activeElement !== model) model.value = s.model;
      const options = [["", "automatic"], ...s.connections.map((c) => [c, c])];
      connection.replaceChildren(...options.map(([value, text]) => h("option", { value, selected: value === s.connection }, text)));
      connection.value = s.connection;
      view.dataset.view = s.view;
      view.textContent = s.view === "developer" ? "Developer view" : "User view";
      view.setAttribute("aria-pressed", String(s.view === "developer"));
    },
  };
}

/** @param {ComposerActions} actions */
export function createComposer(actions) {
  const input = /** @type {HTMLTextAreaElement} */ (h("textarea", {
    class: "qg-input", rows: 2, placeholder: "Ask about your data…", title: "Enter sends · Shift+Enter new line · Escape stops",
    "aria-label": "Question",
  }));
  const send = h("button", { class: "qg-btn qg-send qg-primary", title: "Send (Enter)", onclick: () => submit() }, "Ask");
  const stop = h("button", { class: "qg-btn qg-stop", title: "Stop (Escape)", hidden: true, onclick: () => actions.onStop() }, "■ Stop");
  let busy = false;

  function submit() {
    const text = input.value.trim();
    if (!text || busy) return;
    actions.onAsk(text);
    input.value = "";
  }

  input.addEventListener("keydown", (event) => {
    // keep JupyterLab's own shortcuts (Shift+Enter runs a cell, Escape leaves edit mode) out of the chat
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      event.stopPropagation();
      submit();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      actions.onStop();
    } else if (event.key === "Enter") {
      event.stopPropagation();
    }
  });
  const el = h("footer", { class: "qg-composer" }, input, h("div", { class: "qg-composer-buttons" }, send, stop));
  return {
    el, input,
    /** @param {boolean} isBusy */
    setBusy(isBusy) {
      busy = isBusy;
      send.hidden = isBusy;
      stop.hidden = !isBusy;
    },
  };
}
