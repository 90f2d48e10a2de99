"""The `querygpt` command, driven from outside as users' scripts do (the ▶ contract)."""
from __future__ import annotations

import json
import os
import subprocess

import duckdb
import pytest
from vega_datasets import local_data

from conftest import BIN

KEYS = {"question", "sql", "dialect", "columns", "rows", "row_count", "truncated", "chart", "explanation",
        "model", "usage", "timings_ms", "error"}


def querygpt(*args, cwd=None):
    proc = subprocess.run([os.path.join(BIN, "querygpt"), *args], capture_output=True, text=True, timeout=180, cwd=cwd)
    out = None
    if "--json" in args:
        out = json.loads(proc.stdout)  # must be exactly one JSON object, nothing else on stdout
    return proc.returncode, out, proc


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("cli") / "demo.duckdb")
    code, _, proc = querygpt("demo-db", path)
    assert code == 0, proc.stderr
    return path


def test_demo_db_writes_one_table_per_dataset_with_columns_as_shipped(demo_file):
    con = duckdb.connect(demo_file, read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert tables == {name.replace("-", "_") for name in local_data.list_datasets()}
    columns = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'iowa_electricity' ORDER BY ordinal_position"
    ).fetchall()]
    assert columns == list(local_data.iowa_electricity().columns)
    assert con.execute("SELECT count(*) FROM seattle_weather").fetchone()[0] == len(local_data.seattle_weather())


def test_sql_json_has_the_documented_shape(demo_file):
    code, out, _ = querygpt("sql", "SELECT Origin, COUNT(*) AS n FROM cars GROUP BY Origin ORDER BY n DESC", "--db", demo_file, "--json")
    assert code == 0 and KEYS <= set(out)
    assert out["rows"] == [["USA", 254], ["Japan", 79], ["Europe", 73]]
    assert out["columns"] == ["Origin", "n"] and out["row_count"] == 3 and out["truncated"] is False
    assert set(out["usage"]) >= {"prompt_tokens", "completion_tokens", "cost_usd"}
    assert out["error"] is None and out["dialect"] == "duckdb"


def test_rows_are_json_safe_for_dates_and_nulls(demo_file):
    code, out, _ = querygpt("sql", "SELECT date, NULL AS nothing FROM seattle_weather ORDER BY date LIMIT 1", "--db", demo_file, "--json")
    assert code == 0 and out["rows"] == [["2012-01-01T00:00:00.000", None]]


def test_db_demo_means_the_demo_database():
    code, out, _ = querygpt("sql", "SELECT * FROM cars", "--db", "demo", "--json")
    assert code == 0 and out["row_count"] == 406


def test_max_rows_caps_and_marks_truncated(demo_file):
    code, out, _ = querygpt("sql", "SELECT * FROM cars", "--db", demo_file, "--json", "--max-rows", "7")
    assert code == 0 and out["row_count"] == 7 and out["truncated"] is True


def test_a_refused_statement_exits_3_with_permission_denied(demo_file):
    code, out, proc = querygpt("sql", "DROP TABLE cars", "--db", demo_file, "--json")
    assert code == 3 and out["error"]["code"] == "PERMISSION_DENIED"
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_refusal_without_json_is_one_line_on_stderr(demo_file):
    code, _, proc = querygpt("sql", "DELETE FROM cars", "--db", demo_file)
    assert code == 3 and proc.stdout == "" and proc.stderr.startswith("PERMISSION_DENIED:") and proc.stderr.count("\n") == 1


def test_an_unknown_column_exits_4_with_schema_error(demo_file):
    code, out, _ = querygpt("sql", "SELECT nosuchcolumn FROM cars", "--db", demo_file, "--json")
    assert code == 4 and out["error"]["code"] == "SCHEMA_ERROR"


def test_a_missing_database_is_db_conn_fail(tmp_path):
    code, out, _ = querygpt("sql", "SELECT 1", "--db", str(tmp_path / "missing.duckdb"), "--json")
    assert code == 4 and out["error"]["code"] == "DB_CONN_FAIL"


def test_usage_errors_exit_2(demo_file):
    assert querygpt("sql", "--db", demo_file)[0] == 2
    assert querygpt("frobnicate")[0] == 2


def test_ask_answers_a_count_with_the_offline_planner(demo_file):
    code, out, _ = querygpt("ask", "How many cars are there?", "--db", demo_file, "--json")
    assert code == 0 and out["rows"] == [[406]] and out["model"] == "querygpt/offline"
    assert out["sql"] and out["explanation"]
    assert set(out["timings_ms"]) >= {"schema", "generating_sql", "validating", "executing", "total"}


def test_ask_returns_a_chart_spec_for_a_grouped_question(demo_file):
    code, out, _ = querygpt("ask", "Average horsepower by origin", "--db", demo_file, "--json")
    assert code == 0 and out["row_count"] == 3
    assert out["chart"]["mark"] in ("bar", {"type": "bar"}) or out["chart"].get("mark", {}).get("type") == "bar"


def test_an_out_of_scope_question_is_refused_not_guessed(demo_file):
    code, out, _ = querygpt("ask", "Write me a poem about the ocean", "--db", demo_file, "--json")
    assert code == 5 and out["error"]["code"] == "AGENT_FAILURE"
    assert "model" in out["error"]["message"]


def test_an_unreachable_model_is_model_unavailable(demo_file):
    code, out, _ = querygpt("ask", "How many cars?", "--db", demo_file, "--model", "openai/gpt-4o-mini", "--json")
    assert code == 5 and out["error"]["code"] == "MODEL_UNAVAILABLE"


def test_schema_json_lists_tables_columns_samples_and_counts(demo_file):
    code, out, _ = querygpt("schema", "--db", demo_file, "--json")
    tables = {t["name"]: t for t in out["tables"]}
    assert code == 0 and out["dialect"] == "duckdb" and out["fingerprint"]
    cars = tables["cars"]
    assert [c["name"] for c in cars["columns"]] == list(local_data.cars().columns)
    assert cars["row_count"] == 406
    origin = next(c for c in cars["columns"] if c["name"] == "Origin")
    assert set(origin["samples"]) == {"USA", "Europe", "Japan"}
    assert set(cars["columns"][0]) == {"name", "type", "comment", "primary_key", "samples"}


def test_plain_output_is_readable(demo_file):
    code, _, proc = querygpt("ask", "How many cars per origin?", "--db", demo_file)
    assert code == 0 and "USA" in proc.stdout and "SELECT" in proc.stdout
