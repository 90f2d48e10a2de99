"""Figure: peak memory (RSS) of the worst resource cases through `run_sql`, each in a fresh
process: huge cells (30 x 50 MB strings) and an exponential recursive CTE, on DuckDB and SQLite.
Prints, per case, the outcome (rows kept / error code), the time and the child's peak RSS.

    .venv/bin/python benchmarks/memory_caps.py [--pg URL]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

CASES = {
    "duckdb: 30 x 50 MB strings": ("duckdb", "SELECT repeat('x', 50000000) AS s FROM range(30)"),
    "duckdb: 3000 x 1 MB strings": ("duckdb", "SELECT i, repeat('y', 1000000) AS s FROM range(3000) t(i)"),
    "duckdb: exponential recursive CTE": ("duckdb", (
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t, range(2) r WHERE n < 40) "
        "SELECT count(*) AS c FROM t")),
    "duckdb: doubling string CTE": ("duckdb", (
        "WITH RECURSIVE t(n, s) AS (SELECT 1, 'x' UNION ALL SELECT n + 1, s || s FROM t WHERE n < 34) "
        "SELECT n, length(s) AS l FROM t")),
    "sqlite: 30 x 50 MB strings": ("sqlite", (
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 30) "
        "SELECT printf('%.*c', 50000000, 'x') AS s FROM r")),
    "sqlite: exponential recursive CTE": ("sqlite", (
        "WITH RECURSIVE t(n, s) AS (SELECT 1, 'x' UNION ALL SELECT n + 1, s || s FROM t WHERE n < 34) "
        "SELECT n, length(s) AS l FROM t ORDER BY l DESC")),
}

CHILD = r"""
import json, resource, sys, time
import querygpt_jupyter as qg
db, sql = sys.argv[1], sys.argv[2]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
answer = qg.run_sql(sql, db=db, chart=False, timeout_s=120)
elapsed = time.perf_counter() - t
json.loads(json.dumps(answer.to_dict()))  # the --json shape must serialise too
print(json.dumps({
    "elapsed_s": round(elapsed, 2),
    "error": None if answer.error is None else answer.error.code,
    "message": None if answer.error is None else str(answer.error)[:120],
    "rows": answer.row_count, "truncated": answer.truncated,
    "notes": answer.notes,
    "base_mb": base // 1024,
}))
"""


def make_databases(work: str) -> dict[str, str]:
    import sqlite3

    import duckdb

    duck = os.path.join(work, "empty.duckdb")
    duckdb.connect(duck).execute("CREATE TABLE one AS SELECT 1 AS x").close()
    lite = os.path.join(work, "empty.sqlite")
    con = sqlite3.connect(lite)
    con.execute("CREATE TABLE one (x INTEGER)")
    con.commit()
    con.close()
    return {"duckdb": duck, "sqlite": lite}


def run_case(db: str, sql: str, env: dict) -> dict:
    """One case in a fresh process; its own peak RSS comes from wait4 (even when it dies)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, db, sql], stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    try:
        outcome = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (stderr.strip().splitlines() or ["?"])[-1]
        outcome = {"error": f"process failed (exit {proc.returncode}): {tail[:120]}"}
    outcome["peak_rss_mb"] = usage.ru_maxrss // 1024
    outcome["wall_s"] = round(time.perf_counter() - started, 2)
    return outcome


def main(argv: list[str]) -> None:
    work = tempfile.mkdtemp(prefix="qg-mem-")
    env = {**os.environ, "QUERYGPT_HOME": os.path.join(work, "home")}
    dbs = make_databases(work)
    cases = dict(CASES)
    if "--pg" in argv:
        url = argv[argv.index("--pg") + 1]
        dbs["postgres"] = url
        cases["postgres: 30 x 50 MB strings"] = ("postgres", "SELECT repeat('x', 50000000) AS s FROM generate_series(1, 30)")
    print(f"{'case':<38} {'peak RSS':>9} {'time':>7}  outcome")
    for name, (engine, sql) in cases.items():
        out = run_case(dbs[engine], sql, env)
        peak = f"{out['peak_rss_mb']} MB" if out.get("peak_rss_mb") else "?"
        what = (f"{out['error']}: {out.get('message') or ''}" if out.get("error")
                else f"{out['rows']} rows{' (truncated)' if out['truncated'] else ''}")
        print(f"{name:<38} {peak:>9} {out.get('elapsed_s', out['wall_s']):>6}s  {what}")
        for note in out.get("notes") or ():
            print(f"{'':<58}{note}")


if __name__ == "__main__":
    main(sys.argv[1:])
