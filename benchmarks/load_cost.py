"""Figures: what `import querygpt_jupyter` pulls in, and what `%load_ext querygpt_jupyter` adds to
a fresh IPython (median of several fresh processes). Target: none of litellm/altair/duckdb; ≤ 150 ms."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys

PROBE = r"""
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
before = set(sys.modules)
t = time.perf_counter()
shell.run_line_magic("load_ext", "querygpt_jupyter")
load_ms = (time.perf_counter() - t) * 1000
heavy = sorted(m for m in ("litellm", "altair", "duckdb", "pandas", "sqlalchemy", "vl_convert") if m in sys.modules)
print(json.dumps({"load_ms": load_ms, "heavy_after_load": heavy}))
"""

IMPORT_PROBE = r"""
import json, sys
import querygpt_jupyter
print(json.dumps(sorted(m for m in ("litellm", "altair", "duckdb", "pandas", "sqlalchemy", "vl_convert") if m in sys.modules)))
"""


def main(runs: int = 7) -> None:
    heavy_on_import = json.loads(subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True).stdout)
    results = [json.loads(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
               for _ in range(runs)]
    loads = [r["load_ms"] for r in results]
    print(f"import querygpt_jupyter loads heavy modules: {heavy_on_import or 'none'}")
    print(f"%load_ext querygpt_jupyter: median {statistics.median(loads):.1f} ms (min {min(loads):.1f}, max {max(loads):.1f}, {runs} fresh processes); target <= 150 ms")
    print(f"heavy modules right after %load_ext: {results[0]['heavy_after_load'] or 'none'}")


if __name__ == "__main__":
    main()
