"""Resource limits: engine memory limits, byte caps on results, JSON of any value, and legit
DuckDB queries (PIVOT, blobs) that must keep working."""
from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys

import duckdb
import pandas as pd
import pytest

import querygpt_jupyter as qg
from querygpt_jupyter import errors
from conftest import BIN

EXPONENTIAL_CTE = ("WITH RECURSIVE t(n, s) AS (SELECT 1, 'x' UNION ALL SELECT n + 1, s || s FROM t WHERE n < 34) "
                   "SELECT n, length(s) AS l FROM t ORDER BY l DESC")
ROW_EXPLOSION = ("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t, range(2) r WHERE n < 40) "
                 "SELECT count(*) AS c FROM t")


def cli(*args):
    proc = subprocess.run([os.path.join(BIN, "querygpt"), *args], capture_output=True, text=True, timeout=300)
    return proc.returncode, (json.loads(proc.stdout) if "--json" in args else proc.stdout), proc


@pytest.fixture()
def tiny_duckdb(tmp_path):
    path = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT i AS id, i % 3 AS grp, 'name ' || i AS name FROM range(10) r(i)")
    con.execute("CREATE TABLE blobs AS SELECT 1 AS id, '\\x00\\xFFab'::BLOB AS b UNION ALL SELECT 2, 'plain'::BLOB")
    con.close()
    return str(path)


# -- engine memory limits --------------------------------------------------------------------------

@pytest.mark.parametrize("sql", [EXPONENTIAL_CTE, ROW_EXPLOSION, EXPONENTIAL_CTE.removesuffix(" ORDER BY l DESC")],
                         ids=["doubling-strings", "row-explosion", "doubling-strings-streamed"])
def test_duckdb_stops_a_query_at_its_memory_limit_with_out_of_memory(tiny_duckdb, sql):
    answer = qg.run_sql(sql, db=tiny_duckdb, max_memory_mb=64, chart=False, timeout_s=120)
    assert answer.error is not None and isinstance(answer.error, errors.OutOfMemory), answer.error
    assert answer.error.code == "QUERY_TIMEOUT" and "memory" in answer.error.message
    assert "max_memory_mb" in str(answer.error)  # the hint says what to raise


def test_duckdb_sandbox_sets_memory_limit_before_locking(tiny_duckdb):
    from querygpt_jupyter.connections.resolve import open_connection

    adapter = open_connection(tiny_duckdb, (), memory_mb=96)
    settings = adapter.fetch("SELECT current_setting('memory_limit') AS m, current_setting('max_temp_directory_size') AS t, "
                             "current_setting('lock_configuration') AS locked")
    assert settings["m"][0].startswith("91.") and settings["t"][0].startswith("91.")  # 96 MB in MiB
    assert bool(settings["locked"][0]) is True


def test_dataframes_get_the_memory_limit_too():
    answer = qg.run_sql(ROW_EXPLOSION.replace("range(2) r", "df"), db=pd.DataFrame({"x": [1, 2]}), max_memory_mb=64,
                        chart=False, timeout_s=120)
    assert answer.error is not None and isinstance(answer.error, errors.OutOfMemory), answer.error
    assert answer.error.code == "QUERY_TIMEOUT" and "memory" in answer.error.message


def test_sqlite_stops_at_its_heap_limit_with_out_of_memory(tmp_path):
    """In a process of its own: SQLite's heap limit is process-wide and can only be lowered."""
    path = tmp_path / "x.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE one (x INTEGER)").connection.commit()
    script = ("import json, sys, querygpt_jupyter as qg\n"
              "a = qg.run_sql(sys.argv[2], db=sys.argv[1], max_memory_mb=64, chart=False, timeout_s=120)\n"
              "print(json.dumps(a.to_dict()['error']))\n")
    proc = subprocess.run([sys.executable, "-c", script, str(path), EXPONENTIAL_CTE], capture_output=True, text=True,
                          timeout=300, env={**os.environ})
    error = json.loads(proc.stdout.strip().splitlines()[-1])
    assert error["code"] == "QUERY_TIMEOUT" and "memory" in error["message"], proc.stderr[-2000:]


def test_cli_exits_4_with_out_of_memory_not_a_syntax_error(tiny_duckdb):
    code, out, _ = cli("sql", ROW_EXPLOSION, "--db", tiny_duckdb, "--json", "--max-memory-mb", "64")
    assert code == 4 and out["error"]["code"] == "QUERY_TIMEOUT" and "memory" in out["error"]["message"]


# -- byte caps on results --------------------------------------------------------------------------

@pytest.mark.parametrize("sql, column", [
    ("SELECT id, repeat('x', 300000) AS s FROM t", "s"),
    ("SELECT id, repeat('y', 300000)::BLOB AS b FROM t", "b"),
])
def test_values_longer_than_the_cell_cap_are_cut_with_a_note(tiny_duckdb, sql, column):
    answer = qg.run_sql(sql, db=tiny_duckdb, max_cell_kb=100, chart=False)
    assert answer.error is None
    assert answer.df[column].map(len).max() <= 100 * 1024 + 1
    assert any("100 KB" in note and column in note for note in answer.notes)
    assert len(answer.df) == 10 and not answer.truncated


def test_results_over_the_total_byte_cap_keep_the_first_rows_and_say_truncated(tiny_duckdb):
    sql = "SELECT i, repeat('z', 200000) AS s FROM range(40) r(i) ORDER BY i"
    answer = qg.run_sql(sql, db=tiny_duckdb, max_result_mb=2, chart=False)
    assert answer.error is None and answer.truncated
    assert 0 < len(answer.df) < 40 and answer.df["i"].tolist() == list(range(len(answer.df)))
    assert any("Ask.max_result_mb" in note for note in answer.notes)
    code, out, _ = cli("sql", sql, "--db", tiny_duckdb, "--json")  # defaults keep it all
    assert code == 0 and out["row_count"] == 40 and out["truncated"] is False


def test_small_results_are_untouched(tiny_duckdb):
    answer = qg.run_sql("SELECT * FROM t ORDER BY id", db=tiny_duckdb, chart=False)
    assert answer.error is None and not answer.truncated and answer.notes == [] and len(answer.df) == 10


# -- JSON of any value -----------------------------------------------------------------------------

ODD_VALUES = [
    pytest.param("SELECT 1.0/300000 AS v", 1.0 / 300000, id="float-all-digits"),
    pytest.param("SELECT 0.1::DOUBLE + 0.2::DOUBLE AS v", 0.1 + 0.2, id="float-repr"),
    pytest.param("SELECT 170141183460469231731687303715884105727::HUGEINT AS v", 170141183460469231731687303715884105727,
                 id="hugeint"),
    pytest.param("SELECT 12345678901234567.123::DECIMAL(38,3) AS v", "12345678901234567.123", id="decimal-exact"),
    pytest.param("SELECT 2.5::DECIMAL(10,2) AS v", 2.5, id="decimal-float"),
    pytest.param("SELECT 'nan'::DOUBLE AS v", None, id="nan"),
    pytest.param("SELECT 'inf'::DOUBLE AS v", None, id="inf"),
    pytest.param("SELECT '\\x00\\xFFab'::BLOB AS v", "\\x00\\xFFab", id="blob"),
    pytest.param("SELECT DATE '2020-02-29' AS v", "2020-02-29", id="date"),
    pytest.param("SELECT TIMESTAMP '2020-02-29 12:34:56.789' AS v", "2020-02-29T12:34:56.789", id="timestamp"),
    pytest.param("SELECT TIME '12:34:56' AS v", "12:34:56", id="time"),
    pytest.param("SELECT [1, 2, NULL] AS v", [1, 2, None], id="list"),
    pytest.param("SELECT {'a': 1, 'b': [1.5, 'nan'::DOUBLE]} AS v", {"a": 1, "b": [1.5, None]}, id="struct"),
    pytest.param("SELECT MAP([1, 2], ['x', 'y']) AS v", [[1, "x"], [2, "y"]], id="map"),
    pytest.param("SELECT '00000000-0000-0000-0000-000000000001'::UUID AS v", "00000000-0000-0000-0000-000000000001",
                 id="uuid"),
    pytest.param("SELECT INTERVAL 1 DAY AS v", None, id="interval"),  # any string: checked below
]


@pytest.mark.parametrize("sql, expected", ODD_VALUES)
def test_json_output_is_valid_and_keeps_every_digit(tiny_duckdb, sql, expected):
    code, out, proc = cli("sql", sql, "--db", tiny_duckdb, "--json", "--no-chart")
    assert code == 0, proc.stderr
    value = out["rows"][0][0]
    if "INTERVAL" in sql:
        assert isinstance(value, str) and value
    else:
        assert value == expected
    assert "NaN" not in proc.stdout and "Infinity" not in proc.stdout  # JSON has neither


def test_nan_in_a_chart_does_not_break_json(tiny_duckdb):
    sql = "SELECT grp::VARCHAR AS g, CASE WHEN grp = 1 THEN 'nan'::DOUBLE ELSE grp END AS v FROM t"
    code, out, proc = cli("sql", sql, "--db", tiny_duckdb, "--json")
    assert code == 0, proc.stderr
    assert "NaN" not in proc.stdout
    assert any(math.isnan(x) is False for row in out["rows"] for x in row[1:] if x is not None)


# -- legit stays legit -----------------------------------------------------------------------------

@pytest.mark.parametrize("sql, rows", [
    ("PIVOT t ON grp USING count(*) GROUP BY name ORDER BY name LIMIT 3", 3),
    ("PIVOT (SELECT id % 2 AS parity, grp, id FROM t) ON grp USING sum(id) GROUP BY parity ORDER BY parity DESC", 2),
    ("PIVOT (SELECT id % 2 AS parity, grp, id FROM t) ON grp USING sum(id) GROUP BY parity ORDER BY parity LIMIT 1", 1),
    ("UNPIVOT (SELECT id, grp FROM t) ON grp INTO NAME k VALUE v ORDER BY id DESC LIMIT 2", 2),
    ("PIVOT t ON grp USING sum(id) GROUP BY id ORDER BY id OFFSET 7", 3),
    ("SELECT * FROM (PIVOT (SELECT id % 2 AS parity, grp, id FROM t) ON grp USING sum(id) GROUP BY parity) ORDER BY parity", 2),
])
def test_pivot_with_group_and_order_runs_on_duckdb(tiny_duckdb, sql, rows):
    answer = qg.run_sql(sql, db=tiny_duckdb, chart=False)
    assert answer.error is None, answer.error
    assert len(answer.df) == rows


def test_pivot_order_is_the_engines_order(tiny_duckdb):
    answer = qg.run_sql("PIVOT (SELECT id % 2 AS parity, grp, id FROM t) ON grp USING sum(id) GROUP BY parity ORDER BY parity DESC", db=tiny_duckdb,
                        chart=False)
    assert answer.error is None, answer.error
    assert answer.df["parity"].tolist() == [1, 0]
    assert answer.df[["0", "1", "2"]].sum().sum() == sum(range(10))


def test_pivot_followed_by_a_statement_is_still_refused(tiny_duckdb):
    answer = qg.run_sql("PIVOT t ON grp USING count(*) GROUP BY id ORDER BY id; DROP TABLE t", db=tiny_duckdb)
    assert answer.error is not None and answer.error.code == "PERMISSION_DENIED"


def test_blobs_print_in_the_cli_table_and_json(tiny_duckdb):
    code, text, proc = cli("sql", "SELECT * FROM blobs ORDER BY id", "--db", tiny_duckdb)
    assert code == 0 and "plain" in text and "Traceback" not in proc.stderr
    code, out, _ = cli("sql", "SELECT * FROM blobs ORDER BY id", "--db", tiny_duckdb, "--json")
    assert code == 0 and out["rows"] == [[1, "\\x00\\xFFab"], [2, "plain"]]


def test_blobs_show_in_the_notebook_display(tiny_duckdb):
    from querygpt_jupyter.faces.render.answer import answer_html, answer_text

    answer = qg.run_sql("SELECT b, count(*) AS n FROM blobs GROUP BY b ORDER BY n", db=tiny_duckdb)
    assert answer.error is None
    assert "plain" in answer_html(answer) and "plain" in answer_text(answer)
    json.dumps(answer.to_dict())  # chart included


def test_duckdb_never_prints_a_progress_bar_into_json(tiny_duckdb):
    """DuckDB draws a progress bar on stdout for queries over 2 s, which would break --json."""
    from querygpt_jupyter.connections.resolve import from_object, open_connection

    for adapter in (open_connection(tiny_duckdb, ()), from_object(pd.DataFrame({"x": [1]}), (), "df")):
        assert adapter.fetch("SELECT current_setting('enable_progress_bar') AS p")["p"].tolist() == [False]


def test_the_cli_text_output_shows_what_the_byte_caps_cut(tiny_duckdb):
    code, text, _ = cli("sql", "SELECT repeat('x', 1200000) AS s", "--db", tiny_duckdb)
    assert code == 0 and "Values longer than" in text
