"""Figure: peak RSS of the big-strings query (30 values of 50 MB; 10 MB on MariaDB, whose default
max_allowed_packet is 16 MB) through `run_sql` with the default byte caps, as a ratio to a
baseline measured in the same run: the same query with 10-byte values (the same row count).
A third column reads the big result the old way — everything first, the caps applied after —
to show what the byte budget saves. Each run is a fresh process; its peak comes from wait4.

    .venv/bin/python benchmarks/fetch_budget.py [--pg URL] [--mysql URL]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

QUERIES = {
    "duckdb": "SELECT i, repeat('x', {n}) AS s FROM range(1, 31) t(i)",
    "sqlite": ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 30) "
               "SELECT i, printf('%.*c', {n}, 'x') AS s FROM r"),
    "postgres": "SELECT g AS i, repeat('x', {n}) AS s FROM generate_series(1, 30) g",
    "mysql": ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 30) "
              "SELECT i, repeat('x', {n}) AS s FROM r"),
}
VALUE_BYTES = {"duckdb": 50_000_000, "sqlite": 50_000_000, "postgres": 50_000_000, "mysql": 10_000_000}

CHILD = r"""
import json, sys
import querygpt_jupyter as qg
db, sql, within = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
if not within:   # the old way: read everything, then cut
    from querygpt_jupyter.connections import duckdb_adapter, sqlalchemy_adapter, sqlite_adapter
    for cls in (duckdb_adapter.DuckDBAdapter, sqlite_adapter.SQLiteAdapter, sqlalchemy_adapter.SQLAlchemyAdapter):
        cls.reads_within_budget = False
answer = qg.run_sql(sql, db=db, chart=False, timeout_s=300)
print(json.dumps({"error": answer.error and answer.error.code, "rows": len(answer.df), "truncated": answer.truncated}))
"""


def make_files(work: str) -> dict[str, str]:
    import sqlite3

    import duckdb

    duck = os.path.join(work, "one.duckdb")
    duckdb.connect(duck).execute("CREATE TABLE one AS SELECT 1 AS x").close()
    lite = os.path.join(work, "one.sqlite")
    sqlite3.connect(lite).execute("CREATE TABLE one (x INTEGER)").connection.commit()
    return {"duckdb": duck, "sqlite": lite}


def peak_of(db: str, sql: str, within: bool, env: dict) -> tuple[int, dict]:
    """Peak RSS (MB) of one run in a fresh process, and what it answered."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, db, sql, "1" if within else "0"],
                                stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        err.seek(0)
        lines = out.read().strip().splitlines()
        tail = (err.read().strip().splitlines() or ["?"])[-1]
    outcome = json.loads(lines[-1]) if lines else {"error": f"exit {os.waitstatus_to_exitcode(status)}: {tail[:80]}"}
    return usage.ru_maxrss // 1024, outcome


def main(argv: list[str]) -> None:
    work = tempfile.mkdtemp(prefix="qg-budget-")
    env = {**os.environ, "QUERYGPT_HOME": os.path.join(work, "home")}
    dbs = make_files(work)
    for flag, engine in (("--pg", "postgres"), ("--mysql", "mysql")):
        if flag in argv:
            dbs[engine] = argv[argv.index(flag) + 1]
    print(f"{'engine':<9} {'values':>9} {'baseline':>9} {'budget':>9} {'ratio':>6} {'read-all':>9} {'ratio':>6}  rows kept")
    for engine, db in dbs.items():
        query = QUERIES[engine]
        base, _ = peak_of(db, query.format(n=10), True, env)
        big, outcome = peak_of(db, query.format(n=VALUE_BYTES[engine]), True, env)
        old, old_outcome = peak_of(db, query.format(n=VALUE_BYTES[engine]), False, env)
        what = outcome["error"] or f"{outcome['rows']}{' (truncated)' if outcome['truncated'] else ''}"
        old_text = f"{old:>7} MB {old / base:>5.1f}x" + (f" ({old_outcome['error']})" if old_outcome.get("error") else "")
        print(f"{engine:<9} {VALUE_BYTES[engine] // 10**6:>6} MB {base:>6} MB {big:>6} MB {big / base:>5.1f}x "
              f"{old_text}  {what}")


if __name__ == "__main__":
    main(sys.argv[1:])
