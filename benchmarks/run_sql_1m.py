"""Figure: a 1M-row DuckDB query to a DataFrame through `run_sql(..., max_rows=2_000_000)`, as a
ratio to raw `duckdb … .df()` on the same file in the same run. Target: ≤ 1.3×."""
from __future__ import annotations

import os
import statistics
import tempfile
import time


def main(repeats: int = 7) -> None:
    import duckdb

    import querygpt_jupyter as qg

    work = tempfile.mkdtemp(prefix="qg-bench-")
    os.environ.setdefault("QUERYGPT_HOME", os.path.join(work, "home"))
    path = os.path.join(work, "big.duckdb")
    con = duckdb.connect(path)
    con.execute(
        "CREATE TABLE big AS SELECT i AS id, i % 1000 AS grp, random() AS x, random() * 100 AS y, "
        "'name_' || (i % 5000) AS label FROM range(1000000) t(i)"
    )
    con.close()
    sql = "SELECT id, grp, x, y, label FROM big"

    raw_con = duckdb.connect(path, read_only=True)

    def raw() -> int:
        return len(raw_con.execute(sql).df())

    def ours() -> int:
        answer = qg.run_sql(sql, db=path, max_rows=2_000_000)
        assert answer.error is None, answer.error
        return len(answer.df)

    assert raw() == ours() == 1_000_000  # warm both (file cache, imports, chart engine)
    timings: dict[str, list[float]] = {"raw": [], "ours": []}
    for _ in range(repeats):
        for name, fn in (("raw", raw), ("ours", ours)):
            t = time.perf_counter()
            fn()
            timings[name].append((time.perf_counter() - t) * 1000)
    raw_ms, ours_ms = statistics.median(timings["raw"]), statistics.median(timings["ours"])
    print(f"raw duckdb .df():  median {raw_ms:.1f} ms over {repeats} runs")
    print(f"run_sql(max_rows=2_000_000): median {ours_ms:.1f} ms over {repeats} runs")
    print(f"ratio run_sql / raw: {ours_ms / raw_ms:.2f}x (target <= 1.3x)")
    t = time.perf_counter()
    answer = qg.run_sql(sql, db=path, max_rows=2_000_000)
    spec = answer.chart_spec
    charted_ms = (time.perf_counter() - t) * 1000
    shipped = len(spec["data"]["values"]) if spec and "values" in spec.get("data", {}) else 0
    print(f"run_sql + chart (built on first access): {charted_ms:.1f} ms; rows sent to Vega-Lite: {shipped:,}"
          f" ({answer.chart_note or 'no reduction'})")


if __name__ == "__main__":
    main()
