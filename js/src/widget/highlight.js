// SQL syntax highlighting as DOM spans (no innerHTML), coloured with JupyterLab's editor
// variables so it follows the light and dark themes.
import { h } from "./dom.js";

const KEYWORDS = new Set(`select from where group by order having limit offset as and or not in is null
join left right full inner outer cross on using union all intersect except distinct case when then else
end with asc desc between like ilike exists over partition window filter within cast true false
interval nulls first last qualify values lateral natural recursive`.split(/\s+/));

// one alternation, tried left to right: comments, strings, quoted names, numbers, words, the rest
const TOKEN = /(--[^\n]*|\/\*[\s\S]*?\*\/)|('(?:[^']|'')*'?)|("(?:[^"]|"")*"?|`[^`]*`?)|(\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)(\s*\()?|(\s+|.)/gy;

/**
 * Split SQL into [kind, text] tokens; kinds: comment, string, name, number, keyword, function, plain.
 * @param {string} sql
 * @returns {Array<[string, string]>}
 */
export function tokenize(sql) {
  /** @type {Array<[string, string]>} */
  const out = [];
  TOKEN.lastIndex = 0;
  let m;
  while (TOKEN.lastIndex < sql.length && (m = TOKEN.exec(sql))) {
    if (m[1]) out.push(["comment", m[1]]);
    else if (m[2]) out.push(["string", m[2]]);
    else if (m[3]) out.push(["name", m[3]]);
    else if (m[4]) out.push(["number", m[4]]);
    else if (m[5]) {
      const kind = KEYWORDS.has(m[5].toLowerCase()) ? "keyword" : m[6] ? "function" : "plain";
      out.push([kind, m[5]]);
      if (m[6]) out.push(["plain", m[6]]);
    } else out.push(["plain", m[7]]);
  }
  return out;
}

/**
 * A <pre> with one span per coloured token. Lines wrap only between tokens (at spaces, or at a
 * <wbr> where two tokens touch, as in `AVG("x")`), never inside a name or a string.
 * @param {string} sql @returns {HTMLElement}
 */
export function highlightSql(sql) {
  const tokens = tokenize(sql);
  /** @type {any[]} */
  const parts = [];
  tokens.forEach(([kind, text], i) => {
    if (i > 0 && !/\s$/.test(tokens[i - 1][1]) && !/^\s/.test(text)) parts.push(h("wbr", null));
    parts.push(kind === "plain" ? text : h("span", { class: `qg-tok-${kind}` }, text));
  });
  return h("pre", { class: "qg-sql" }, h("code", null, parts));
}
