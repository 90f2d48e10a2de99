// Docked in JupyterLab's right sidebar (sidecar), the chat fills the panel's height: the output
// area that holds it has no height of its own, so the chat measures the panel and follows resizes.

const SIDEBAR = "#jp-right-stack, #jp-left-stack";

/**
 * @param {HTMLElement} root  the chat's outermost element
 * @returns {() => void} stop following
 */
export function fitToSidebar(root) {
  /** @type {ResizeObserver | null} */
  let observer = null;
  const fit = () => {
    const panel = root.closest(SIDEBAR);
    if (!panel) {
      root.style.height = "";
      return;
    }
    const bottom = panel.getBoundingClientRect().bottom;
    const height = Math.max(320, Math.floor(bottom - root.getBoundingClientRect().top - 4));
    root.style.height = `${height}px`;
    root.classList.add("qg-docked");
  };
  // the element is attached to the page after render() returns
  const attach = () => {
    const panel = root.closest(SIDEBAR);
    if (!panel) return;
    observer = new ResizeObserver(fit);
    observer.observe(panel);
    fit();
  };
  const timer = setTimeout(attach, 0);
  window.addEventListener("resize", fit);
  return () => {
    clearTimeout(timer);
    observer?.disconnect();
    window.removeEventListener("resize", fit);
  };
}
