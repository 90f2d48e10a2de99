// Reaching the notebook from the widget. An anywidget only sees its own element, so inserting a
// cell goes through the querygpt-jupyter JupyterLab extension: the widget dispatches a DOM event,
// the extension (if present) handles it and marks it handled. Without it, the SQL is copied.

export const INSERT_EVENT = "querygpt:insert-cell";

/** What to do when the lab has no querygpt-jupyter extension (only it can reach the notebook). */
export const MISSING_EXTENSION =
  "Cells cannot be inserted: this JupyterLab has no querygpt-jupyter extension. " +
  "Install querygpt-jupyter with pip into the environment that runs `jupyter lab` " +
  "(in a checkout: bash scripts/setup), check with `jupyter labextension list`, then restart JupyterLab.";

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
    message: (copied ? "Copied the cell instead — paste it below. " : "Copy the SQL by hand. ") + MISSING_EXTENSION,
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
