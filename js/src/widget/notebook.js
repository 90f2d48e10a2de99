// Reaching the notebook from the widget. An anywidget only sees its own element, so inserting a
// cell goes through the querygpt-jupyter JupyterLab extension: the widget dispatches a DOM event,
// the extension (if present) handles it and marks it handled. Without it, the SQL is copied.

export const INSERT_EVENT = "querygpt:insert-cell";

/**
 * Insert `code` as a new cell below the active cell of the notebook running `kernelId`.
 * @param {{code: string, kernelId: string, run?: boolean}} request
 * @returns {Promise<{ok: boolean, message: string}>}
 */
export async function insertCell({ code, kernelId, run = false }) {
  /** @type {{code: string, kernelId: string, run: boolean, handled: boolean, result?: Promise<any>}} */
  const detail = { code, kernelId, run, handled: false };
  document.dispatchEvent(new CustomEvent(INSERT_EVENT, { detail }));
  if (detail.handled) {
    try {
      return await detail.result;
    } catch (err) {
      return { ok: false, message: `Could not insert the cell: ${err}` };
    }
  }
  const copied = await copyText(code);
  return {
    ok: false,
    message: copied
      ? "Copied — paste it into a cell (the querygpt-jupyter JupyterLab extension, which inserts cells, is not active)."
      : "The querygpt-jupyter JupyterLab extension is not active: copy the SQL by hand.",
  };
}

/** @param {string} text @returns {Promise<boolean>} */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // clipboard API refused (no focus / permissions): the old way still works in most browsers
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}
