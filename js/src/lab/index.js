// JupyterLab extension of querygpt-jupyter. It does what neither an anywidget nor the kernel can:
// insert (and run) a cell in the notebook of the chat's kernel, open the chat from a command
// (View menu, notebook toolbar and context menu: see schema/plugin.json), and keep each notebook's
// conversation in its notebook-level `metadata.querygpt` (conversation.js). It imports nothing from
// JupyterLab, so the prebuilt bundle stays tiny: the app object passed to `activate` is enough.

import { keepConversations } from "./conversation.js";

const INSERT_EVENT = "querygpt:insert-cell";
const OPEN_CHAT = "querygpt:open-chat";

/** @param {any} widget @returns {boolean} a notebook panel (duck-typed: no @jupyterlab imports) */
function isNotebookPanel(widget) {
  return Boolean(widget && widget.sessionContext && widget.content && widget.content.model && "activeCellIndex" in widget.content);
}

/**
 * The notebook whose kernel is `kernelId`; the current one wins when several share the kernel.
 * @param {any} app @param {string} kernelId
 */
export function findNotebook(app, kernelId) {
  const current = app.shell.currentWidget;
  const panels = [...app.shell.widgets("main")].filter(isNotebookPanel);
  const owns = (/** @type {any} */ p) => !kernelId || p.sessionContext.session?.kernel?.id === kernelId;
  if (isNotebookPanel(current) && owns(current)) return current;
  return panels.find(owns) || null;
}

/** @param {any} app @param {any} panel @param {string} code @param {boolean} run */
async function insertBelow(app, panel, code, run) {
  app.shell.activateById(panel.id);
  const notebook = panel.content;
  const index = notebook.model.cells.length ? notebook.activeCellIndex + 1 : 0;
  notebook.model.sharedModel.insertCell(index, { cell_type: "code", source: code });
  notebook.deselectAll?.();
  notebook.activeCellIndex = index;
  if (run) await app.commands.execute("notebook:run-cell");
  return { ok: true, message: run ? "Inserted below the active cell and ran it." : "Inserted below the active cell." };
}

const plugin = {
  id: "querygpt-jupyter:plugin",
  description: "Insert the chat's SQL as notebook cells; open the QueryGPT chat; keep the conversation in the notebook's metadata.",
  autoStart: true,
  /** @param {any} app */
  activate(app) {
    document.addEventListener(INSERT_EVENT, (/** @type {any} */ event) => {
      const detail = event.detail;
      if (!detail || detail.handled) return;
      const panel = findNotebook(app, detail.kernelId);
      detail.handled = true;
      detail.result = panel
        ? insertBelow(app, panel, String(detail.code), Boolean(detail.run))
        : Promise.resolve({ ok: false, message: "No open notebook runs this chat's kernel." });
    });

    app.commands.addCommand(OPEN_CHAT, {
      label: (/** @type {any} */ args) => (args.toolbar ? "QueryGPT" : "Open QueryGPT Chat"),
      caption: "Open the QueryGPT chat of this notebook's kernel in the right sidebar",
      isEnabled: () => isNotebookPanel(app.shell.currentWidget),
      execute: async () => {
        const panel = app.shell.currentWidget;
        if (!isNotebookPanel(panel)) return;
        await panel.sessionContext.ready;
        const kernel = panel.sessionContext.session?.kernel;
        if (!kernel) return;
        // the same as `%ask chat`; run as a request of its own so no cell's output is touched
        kernel.requestExecute({ code: "import querygpt_jupyter as _qg\n_qg.chat(dock=True)", silent: false, store_history: false });
      },
    });
    keepConversations(app);
    // the widget can tell whether cells can be inserted
    document.documentElement.dataset.querygptLab = "1";
  },
};

export default plugin;
