"""Byte caps hold while a result is read, on every engine: 30 values of 10 MB with a 20 MB budget
must never be all in memory at once. Each case runs in a fresh process that measures its own
peak RSS (ru_maxrss) after a baseline query of the same shape with short values."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

import querygpt_jupyter as qg
from querygpt_jupyter.connections.budget import Budget, read_rows
from querygpt_jupyter.sql.execute import ByteCaps
from servers import mysql_server, pg_server  # noqa: F401  (fixtures)

MB = 2**20
VALUE_BYTES = 10_000_000   # below MariaDB's default max_allowed_packet (16 MB): it returns NULL for longer
ROWS = 30

BIG_STRINGS = {
    "duckdb": "SELECT i, repeat('x', {n}) AS s FROM range(1, 31) t(i)",
    "sqlite": ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 30) "
               "SELECT i, printf('%.*c', {n}, 'x') AS s FROM r"),
    "postgres": "SELECT g AS i, repeat('x', {n}) AS s FROM generate_series(1, 30) g",
    "mysql": ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 30) "
              "SELECT i, repeat('x', {n}) AS s FROM r"),
}

CHILD = r"""
import json, resource, sys
import querygpt_jupyter as qg
db, small, big = sys.argv[1:4]
qg.run_sql(small, db=db, chart=False)   # imports, connection, one fetch: the baseline
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
answer = qg.run_sql(big, db=db, chart=False, max_result_mb=20, max_cell_kb=1024)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
after = qg.run_sql("SELECT 1 AS one", db=db, chart=False)   # the connection is still usable
print(json.dumps({"growth_mb": (peak - base) // 1024, "error": answer.error and str(answer.error),
                  "rows": len(answer.df), "truncated": answer.truncated, "notes": answer.notes,
                  "longest": int(answer.df["s"].str.len().max()), "marked": bool(answer.df["s"].str.endswith("…").all()),
                  "after": after.error is None and after.df["one"].tolist() == [1]}))
"""


@pytest.fixture()
def engine_db(request, tmp_path):
    engine = request.param
    if engine == "duckdb":
        path = tmp_path / "x.duckdb"
        duckdb.connect(str(path)).execute("CREATE TABLE one AS SELECT 1 AS x").close()
        return engine, str(path)
    if engine == "sqlite":
        path = tmp_path / "x.sqlite"
        sqlite3.connect(path).execute("CREATE TABLE one (x INTEGER)").connection.commit()
        return engine, str(path)
    server = request.getfixturevalue("pg_server" if engine == "postgres" else "mysql_server")
    return engine, server.url


@pytest.mark.parametrize("engine_db", list(BIG_STRINGS), indirect=True)
def test_reading_big_values_stays_within_the_byte_budget(engine_db):
    engine, db = engine_db
    big = BIG_STRINGS[engine].format(n=VALUE_BYTES)
    small = BIG_STRINGS[engine].format(n=10)
    proc = subprocess.run([sys.executable, "-c", CHILD, db, small, big], capture_output=True, text=True, timeout=300,
                          env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["error"] is None
    # 30 x 10 MB is 300 MB of text; cut to 1 MB each, 20 MB holds 19 of them
    assert out["truncated"] and 0 < out["rows"] < ROWS
    assert out["longest"] == 1024 * 1024 + 1 and out["marked"]
    assert any("max_cell_kb" in note for note in out["notes"]) and any("max_result_mb" in note for note in out["notes"])
    assert out["growth_mb"] < 150, out   # reading it all first grew by 300 MB and more
    assert out["after"]


# -- the budget itself, on rows and on Arrow batches ------------------------------------------------

def test_budget_cuts_long_text_with_a_mark_and_blobs_without():
    budget = Budget(ByteCaps(cell=4, total=1000))
    rows = budget.take_rows(["t", "b", "n"], [("abcdefgh", b"\x00\x01\x02\x03\x04\x05", 7), ("ab", b"\x00", None)])
    assert rows == [("abcd…", b"\x00\x01\x02\x03", 7), ("ab", b"\x00", None)]
    assert not budget.spent and budget.notes() == ("Values longer than 0.00390625 KB were cut (columns t, b); "
                                                   "raise Ask.max_cell_kb to keep more.",)


def test_budget_stops_at_the_total_and_says_so_in_one_sentence():
    budget = Budget(ByteCaps(cell=100, total=100))
    rows = budget.take_rows(["s"], [("x" * 30,)] * 5)   # 46 bytes each, counted with the value's cost
    assert len(rows) == 2 and budget.spent and budget.rows_kept == 2
    assert budget.notes() == ("Only the first 2 rows are kept: the result is larger than 0.0976562 KB "
                              "(Ask.max_result_mb), so the rest was not fetched.",)


def test_budget_on_arrow_batches_matches_the_budget_on_rows():
    values = ["é" * 10, None, "short", "y" * 50]
    caps = ByteCaps(cell=8, total=110)   # rows of 40, 32, 37 and 40 bytes: three fit
    arrow_budget, rows_budget = Budget(caps), Budget(caps)
    batch = arrow_budget.take_batch(pa.record_batch({"s": pa.array([v.encode() if v else None for v in values],
                                                                    pa.binary()),
                                                     "n": pa.array([1, 2, 3, 4])}))
    rows = rows_budget.take_rows(["s", "n"], [(v.encode() if v else None, i + 1) for i, v in enumerate(values)])
    assert batch.to_pylist() == [{"s": s, "n": n} for s, n in rows]
    assert arrow_budget.spent and rows_budget.spent and arrow_budget.rows_kept == rows_budget.rows_kept == 3


def test_a_text_column_cut_by_arrow_is_marked():
    budget = Budget(ByteCaps(cell=3, total=10**6))
    batch = budget.take_batch(pa.record_batch({"s": pa.array(["abcdef", "ab", None])}))
    assert batch.column(0).to_pylist() == ["abc…", "ab", None]


def test_read_rows_asks_for_one_row_first_then_batches_sized_by_what_came():
    asked: list[int] = []
    source = [(i, "x" * 1000) for i in range(50_000)]

    def fetchmany(n):
        asked.append(n)
        start = sum(asked[:-1])
        return source[start:start + n]

    frame = read_rows(fetchmany, ["i", "s"], Budget(ByteCaps(cell=10**6, total=10 * MB)))
    assert asked[0] == 1 and max(asked) > 1000
    assert 0 < len(frame) < 50_000 and frame["i"].tolist() == list(range(len(frame)))
    assert sum(asked) <= len(frame) + max(asked)   # reading stopped once the budget was spent


def test_a_huge_row_is_read_one_at_a_time():
    asked: list[int] = []

    def fetchmany(n):
        asked.append(n)
        return [("x" * 5_000_000,)] * n if len(asked) < 4 else []

    read_rows(fetchmany, ["s"], Budget(ByteCaps(cell=1024, total=10**9)))
    assert asked == [1, 3, 3, 3]   # 16 MB batches of 5 MB rows


# -- engine memory settings per query -----------------------------------------------------------------

def test_postgres_caps_work_mem_per_query_below_the_servers_own(pg_server):
    from querygpt_jupyter.connections.resolve import open_connection

    small = open_connection(pg_server.url, (), memory_mb=16)
    assert small.fetch("SELECT current_setting('work_mem') AS w")["w"].tolist() == ["2MB"]   # 16 MB / 8
    generous = open_connection(pg_server.url, (), memory_mb=4096)
    own = generous.rows("SELECT boot_val || unit FROM pg_settings WHERE name = 'work_mem'")[0][0]
    assert generous.fetch("SELECT pg_size_bytes(current_setting('work_mem')) AS w")["w"].tolist() == [
        int(own.removesuffix("kB")) * 1024]                                                  # never raised
    assert generous.rows("SHOW work_mem")[0][0] != "2MB"   # set for the query's transaction only


def test_duckdb_on_dataframes_cuts_while_reading_too():
    frame = pd.DataFrame({"s": ["x" * 3_000_000] * 5})
    answer = qg.run_sql("SELECT s FROM df", db=frame, chart=False, max_cell_kb=1024, max_result_mb=2)
    assert answer.error is None and answer.truncated and len(answer.df) == 1
    assert answer.df["s"].str.len().tolist() == [1024 * 1024 + 1]


def test_the_row_cap_says_which_cap_cut_in_one_sentence():
    answer = qg.run_sql("SELECT x FROM df ORDER BY x", db=pd.DataFrame({"x": range(50)}), chart=False, max_rows=10)
    assert answer.truncated and len(answer.df) == 10
    assert answer.notes == ["Only the first 10 rows are kept: the query returns more (Ask.max_rows)."]


def test_an_adapter_that_reads_everything_still_gets_the_caps_after(monkeypatch):
    from querygpt_jupyter.connections.duckdb_adapter import DuckDBAdapter

    monkeypatch.setattr(DuckDBAdapter, "reads_within_budget", False)
    answer = qg.run_sql("SELECT repeat('x', 3000000) AS s FROM range(3)", db=pd.DataFrame({"x": [1]}), chart=False,
                        max_cell_kb=1024, max_result_mb=2)
    assert answer.error is None and answer.truncated and len(answer.df) == 1
    assert answer.df["s"].str.len().tolist() == [1024 * 1024 + 1]
    assert any("max_cell_kb" in note for note in answer.notes) and any("max_result_mb" in note for note in answer.notes)
