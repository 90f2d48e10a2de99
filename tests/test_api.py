"""The Python API: `ask()` and `run_sql()` return an Answer; failures are in `.error`."""
from __future__ import annotations

import pandas as pd
import pytest

import querygpt_jupyter as qg
from querygpt_jupyter import errors

KEYS = {"question", "sql", "dialect", "columns", "rows", "row_count", "truncated", "chart", "explanation",
        "model", "usage", "timings_ms", "error"}


def test_run_sql_caps_rows_and_marks_truncated(demo_path):
    answer = qg.run_sql("SELECT * FROM cars", db=demo_path, max_rows=10)
    assert answer.error is None and len(answer.df) == 10 and answer.to_dict()["truncated"] is True


def test_run_sql_refuses_writes_with_an_error_object(demo_path):
    answer = qg.run_sql("DELETE FROM cars", db=demo_path)
    assert isinstance(answer.error, errors.PermissionDenied) and answer.error.code == "PERMISSION_DENIED"
    assert answer.df is None


def test_ask_returns_an_answer_with_sql_frame_and_explanation(demo_path):
    answer = qg.ask("How many cars are there?", db=demo_path)
    assert answer.error is None and answer.df.iloc[0, 0] == 406
    assert "cars" in answer.sql and answer.explanation
    assert KEYS <= set(answer.to_dict())


def test_ask_reports_every_stage_as_an_event(demo_path):
    seen = []
    qg.ask("Average horsepower by origin", db=demo_path, on_event=lambda e: seen.append(e.stage))
    assert seen == ["analyzing", "schema", "generating_sql", "validating", "executing", "charting", "done"]


def test_a_failed_turn_ends_with_an_error_event(demo_path):
    seen = []
    answer = qg.ask("Write me a poem", db=demo_path, on_event=seen.append)
    assert answer.error.code == "AGENT_FAILURE" and seen[-1].stage == "error" and seen[-1].data["code"] == "AGENT_FAILURE"


def test_chart_is_an_altair_chart_built_from_the_spec(demo_path):
    answer = qg.ask("Average horsepower by origin", db=demo_path)
    import altair as alt

    assert isinstance(answer.chart, alt.TopLevelMixin)
    restyled = answer.chart.properties(title="Restyled").to_dict()
    rows = restyled.get("datasets") and next(iter(restyled["datasets"].values())) or restyled["data"]["values"]
    assert restyled["title"] == "Restyled" and len(rows) == 3


def test_a_single_value_has_no_chart(demo_path):
    assert qg.ask("How many cars are there?", db=demo_path).chart is None


def test_ask_accepts_a_dataframe():
    frame = pd.DataFrame({"region": ["n", "s", "n"], "sales": [1.0, 2.0, 3.0]})
    answer = qg.run_sql("SELECT region, SUM(sales) AS s FROM df GROUP BY region ORDER BY region", db=frame)
    assert answer.df.values.tolist() == [["n", 4.0], ["s", 2.0]]


def test_unknown_options_are_a_usage_error(demo_path):
    with pytest.raises(errors.UsageError):
        qg.run_sql("SELECT 1", db=demo_path, max_rowz=3)


def test_a_missing_database_is_an_error_object(tmp_path):
    answer = qg.run_sql("SELECT 1", db=str(tmp_path / "nope.sqlite"))
    assert answer.error.code == "DB_CONN_FAIL"


def test_timeouts_are_query_timeout(demo_path):
    answer = qg.run_sql("SELECT count(*) FROM range(1000000000000)", db=demo_path, timeout_s=0.2)
    assert answer.error.code == "QUERY_TIMEOUT"


def test_importing_the_package_is_cheap():
    import subprocess
    import sys

    code = "import sys, querygpt_jupyter; print(sorted(m for m in ('litellm', 'altair', 'duckdb', 'pandas', 'sqlalchemy', 'pyspark') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
