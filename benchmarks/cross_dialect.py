"""Cross-dialect figures: ~45 date-heavy queries written in PostgreSQL, MySQL, DuckDB or SQLite style,
answered by a scripted model through the real agent (LiteLLM → loopback OpenAI-compatible server)
on SQLite, DuckDB, PostgreSQL and MariaDB, each compared with the rows the query gives on the
engine it was written for. Prints, per engine: right, refused with feedback, silently wrong
(must be 0).

    eval "$(bash scripts/services --env)"      # PostgreSQL + MariaDB on loopback
    .venv/bin/python benchmarks/cross_dialect.py [-v]
"""
from __future__ import annotations

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
os.environ.setdefault("QUERYGPT_HOME", tempfile.mkdtemp(prefix="qg-bench-home-"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def databases(folder: str) -> dict[str, str]:
    """engine -> what querygpt connects to, with the same rows in each."""
    import cross_dialect_cases as cases

    missing = [v for v in ("QUERYGPT_TEST_PG_URL", "QUERYGPT_TEST_PG_ADMIN_URL", "QUERYGPT_TEST_MYSQL_URL",
                           "QUERYGPT_TEST_MYSQL_ADMIN_URL") if not os.environ.get(v)]
    if missing:
        sys.exit(f"{', '.join(missing)} not set: run  eval \"$(bash scripts/services --env)\"  first.")
    return {
        "sqlite": cases.write_sqlite(os.path.join(folder, "dialect.sqlite")),
        "duckdb": cases.write_duckdb(os.path.join(folder, "dialect.duckdb")),
        "postgres": cases.load_server(os.environ["QUERYGPT_TEST_PG_ADMIN_URL"], os.environ["QUERYGPT_TEST_PG_URL"]),
        "mysql": cases.load_server(os.environ["QUERYGPT_TEST_MYSQL_ADMIN_URL"], os.environ["QUERYGPT_TEST_MYSQL_URL"]),
    }


def references(dbs: dict[str, str]) -> dict[str, list[tuple]]:
    """Each case's rows on the engine it is written for, run directly (no querygpt)."""
    import duckdb
    import sqlalchemy

    import cross_dialect_cases as cases

    duck = duckdb.connect(dbs["duckdb"], read_only=True)
    servers = {d: sqlalchemy.create_engine(dbs[d]) for d in ("postgres", "mysql")}

    def on_server(dialect):
        def run(sql):
            with servers[dialect].connect() as connection:
                return connection.exec_driver_sql(sql.replace("%", "%%")).fetchall()
        return run

    import sqlite3

    lite = sqlite3.connect(f"file:{dbs['sqlite']}?mode=ro", uri=True)
    run_on = {"duckdb": lambda sql: duck.execute(sql).fetchall(), "postgres": on_server("postgres"), "mysql": on_server("mysql"),
              "sqlite": lambda sql: lite.execute(sql).fetchall()}
    try:
        return {case.id: cases.reference_rows(case, run_on) for case in cases.CASES}
    finally:
        duck.close()
        lite.close()
        for engine in servers.values():
            engine.dispose()


def main(verbose: bool = False) -> int:
    import cross_dialect_cases as cases
    from fakes.openai_server import ScriptedOpenAIServer

    folder = tempfile.mkdtemp(prefix="qg-dialect-")
    dbs = databases(folder)
    reference = references(dbs)
    totals = {}
    with ScriptedOpenAIServer([]) as server:
        for engine in cases.ENGINES:
            counts = {"right": 0, "refused": 0, "wrong": 0}
            for case in cases.CASES:
                outcome = cases.ask_through_agent(case, dbs[engine], server, reference[case.id])
                counts[outcome.kind] += 1
                if verbose or outcome.kind == "wrong":
                    print(f"  {engine:8} {outcome.kind:7} {case.id:32} {outcome.detail[:150]}")
                    if outcome.kind == "wrong" or (verbose and outcome.sql):
                        print(f"           ran: {outcome.sql}")
            totals[engine] = counts
    print(f"\n{len(cases.CASES)} queries written in PostgreSQL, MySQL, DuckDB or SQLite style, through the agent:")
    print(f"{'engine':10} {'right':>6} {'refused with feedback':>22} {'silently wrong':>15}")
    for engine, c in totals.items():
        print(f"{engine:10} {c['right']:>6} {c['refused']:>22} {c['wrong']:>15}")
    return 1 if any(c["wrong"] for c in totals.values()) else 0


if __name__ == "__main__":
    sys.exit(main(verbose="-v" in sys.argv))
