// What the kernel needs to draw a chart that is readable where this view shows it: the width the
// chart gets (drawn at that size, never scaled down, so Vega's 10–11 px axis text stays 10–11 px)
// and the theme's colours (a Vega config is built from them in the kernel). Sent as the
// `chart_style` trait; the docked view speaks for the chat, an inline view only when none is docked.

const SIDEBAR = "#jp-right-stack, #jp-left-stack";
const STEP = 10;           // px: widths are rounded down to this, so small resizes redraw nothing
const SETTLE_MS = 250;     // a drag of the sidebar's edge redraws once, when it stops

/** @type {CanvasRenderingContext2D | null} */
let paint = null;

/** A theme colour as "#rrggbb" (or rgba(…) when translucent): plain values the kernel's Vega reads.
 * @param {HTMLElement} el @param {string} name */
function cssColor(el, name) {
  const value = getComputedStyle(el).getPropertyValue(name).trim();
  if (!value) return "";
  paint = paint || document.createElement("canvas").getContext("2d");
  if (!paint) return value;
  paint.fillStyle = "#000000";
  paint.fillStyle = value;
  return String(paint.fillStyle);
}

/**
 * @param {HTMLElement} log  the scrolling conversation (charts are drawn inside its padding)
 * @returns {{width: number, dark: boolean, foreground: string, muted: string, background: string, grid: string, font: string}}
 */
export function measureChartStyle(log) {
  const styles = getComputedStyle(log);
  const inner = log.clientWidth - parseFloat(styles.paddingLeft || "0") - parseFloat(styles.paddingRight || "0");
  const figurePadding = 12;   // .qg-chart padding, both sides
  const scrollbar = 16;       // room for a scrollbar that appears when the log grows
  const width = Math.max(0, Math.floor((inner - figurePadding - scrollbar) / STEP) * STEP);
  const root = /** @type {HTMLElement} */ (log.closest(".qg-chat") || document.body);
  return {
    width,
    dark: document.body.dataset.jpThemeLight === "false",
    foreground: cssColor(root, "--jp-ui-font-color1"),
    muted: cssColor(root, "--jp-ui-font-color2"),
    background: cssColor(root, "--jp-layout-color1"),
    grid: cssColor(root, "--jp-border-color2"),
    font: getComputedStyle(root).getPropertyValue("--jp-ui-font-family").split(",")[0].replace(/["']/g, "").trim(),
  };
}

/**
 * Keep `chart_style` in step with this view's width and the theme.
 * @param {any} model  the anywidget model
 * @param {HTMLElement} root  the chat's outermost element
 * @param {HTMLElement} log
 * @returns {() => void} stop following
 */
export function followChartStyle(model, root, log) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const send = () => {
    if (!root.isConnected || !log.clientWidth) return;
    const docked = Boolean(root.closest(SIDEBAR));
    const current = model.get("chart_style") || {};
    if (!docked && current.width && current.docked) return;   // the docked view decides
    const style = { ...measureChartStyle(log), docked };
    if (JSON.stringify(style) === JSON.stringify(current)) return;
    model.set("chart_style", style);
    model.save_changes();
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(send, SETTLE_MS);
  };
  const resize = new ResizeObserver(later);
  resize.observe(log);
  const theme = new MutationObserver(later);
  theme.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  setTimeout(send, 0);
  return () => {
    clearTimeout(timer);
    resize.disconnect();
    theme.disconnect();
  };
}
