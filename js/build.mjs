// Builds the front end into the Python package (committed, so `pip install` needs no npm):
//   querygpt_jupyter/static/chat.js + chat.css   the anywidget ESM (esbuild; everything bundled)
//   querygpt_jupyter/static/labextension/         the prebuilt JupyterLab extension (jupyter-builder, what `jupyter labextension build` runs)
// `node build.mjs` builds both; --widget or --lab builds one. JUPYTER_BUILDER=path picks the builder CLI.
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const staticDir = join(here, "..", "querygpt_jupyter", "static");
const only = process.argv.slice(2);
const want = (/** @type {string} */ part) => !only.length || only.includes(`--${part}`);

if (want("widget")) {
  await esbuild.build({
    entryPoints: { chat: join(here, "src", "widget", "index.js") },
    outdir: staticDir,
    bundle: true,
    format: "esm",
    minify: true,
    target: ["es2020"],
    legalComments: "none",
    logLevel: "warning",
  });
  for (const name of ["chat.js", "chat.css"]) console.log(`${name}: ${statSync(join(staticDir, name)).size} bytes`);
}

if (want("lab")) {
  const builder = process.env.JUPYTER_BUILDER || join(here, "..", ".venv", "bin", "jupyter-builder");
  execFileSync(builder, ["build", here], { stdio: "inherit" });
}
