"""Spark, for real: a local Spark Connect server (tests/spark.py) holding demo tables. Questions
answer with the rows DuckDB gives on the same data; introspection reads the catalogue without
counting; a timeout and an interrupt cancel the Spark job and the session stays usable."""
from __future__ import annotations

import _thread
import threading
import time

import pandas as pd
import pytest

import querygpt_jupyter as qg
from querygpt_jupyter.connections.resolve import from_object, open_connection
from fakes.openai_server import Reply
from fakes.scripted_provider import scripted_llm  # noqa: F401  (fixture)
from spark import ANALYZED, PARTITIONED, spark  # noqa: F401  (fixture)

QUESTIONS = [
    "Average horsepower by origin",
    "How many cars per origin?",
    "How many days of each weather?",
    "Maximum temp_max by weather",
    "Top 5 cars by horsepower",
    "Average price by symbol",
]
SLOW = "SELECT count(*) AS n FROM range(1000000000000)"


def _rows(df: pd.DataFrame) -> list[tuple]:
    """Rows as comparable tuples: numbers rounded (engines sum floats in their own order)."""
    def cell(v):
        if isinstance(v, float):
            return round(v, 6)
        if hasattr(v, "item"):
            return round(v.item(), 6) if isinstance(v.item(), float) else v.item()
        return v
    return sorted((tuple(cell(v) for v in row) for row in df.itertuples(index=False)), key=repr)


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_question_on_spark_gives_the_rows_duckdb_gives(spark, question):
    on_spark = qg.ask(question, db=spark.url)
    on_duckdb = qg.ask(question, db="demo")
    assert on_spark.error is None, on_spark.error
    assert on_duckdb.error is None, on_duckdb.error
    assert on_spark.dialect == "spark"
    assert list(on_spark.df.columns) == list(on_duckdb.df.columns)
    assert _rows(on_spark.df) == _rows(on_duckdb.df)


def test_the_connect_token_never_shows(spark):
    token = spark.url.split("token=")[1]
    answer = qg.ask("How many cars per origin?", db=spark.url)
    shown = str(answer.to_dict()) + answer.connection
    assert token not in shown and answer.connection.startswith("sc://localhost:")
    failed = qg.run_sql("SELECT nope FROM cars", db=spark.url)
    assert failed.error.code == "SCHEMA_ERROR" and token not in str(failed.error)


def test_the_analysts_own_sessions_are_queried_as_they_are(spark):
    """A classic SparkSession and a Spark Connect one in the namespace: both work, and a temp
    view of the analyst's is visible to questions."""
    from pyspark.sql import SparkSession

    connect = SparkSession.builder.remote(spark.url).create()
    connect.createDataFrame(pd.DataFrame({"team": ["a", "b", "a"], "score": [1, 2, 3]})).createOrReplaceTempView("qg_scores")
    for session in (connect, spark.classic):
        adapter = from_object(session, (), name="spark")
        assert adapter.kind == "spark"
    answer = qg.run_sql("SELECT team, sum(score) AS total FROM qg_scores GROUP BY team ORDER BY team", db=connect)
    assert answer.error is None and answer.df.values.tolist() == [["a", 4], ["b", 2]]
    assert "qg_scores" in [t.name for t in qg.schema(db=connect).tables]


def test_introspection_lists_columns_partitions_and_counts_only_from_statistics(spark):
    catalog = qg.schema(db=spark.url)
    tables = {t.name: t for t in catalog.tables}
    assert {"cars", "seattle_weather", ANALYZED, PARTITIONED} <= set(tables)
    assert tables[ANALYZED].row_count == 560                  # ANALYZE … COMPUTE STATISTICS
    assert tables["cars"].row_count is None                    # no statistics: never a full count
    symbol = tables[PARTITIONED].column("ticker")
    assert "partition column" in (symbol.comment or "")
    assert tables["cars"].column("Horsepower").type == "DOUBLE"
    assert set(tables["cars"].column("Origin").samples) == {"USA", "Europe", "Japan"}


def _no_active_jobs(spark, within_s: float = 10.0) -> bool:
    tracker = spark.classic.sparkContext.statusTracker()
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not tracker.getActiveJobsIds():
            return True
        time.sleep(0.2)
    return False


def test_a_timeout_cancels_the_spark_job_and_the_session_stays_usable(spark):
    began = time.monotonic()
    answer = qg.run_sql(SLOW, db=spark.url, timeout_s=3)
    assert answer.error is not None and answer.error.code == "QUERY_TIMEOUT"
    assert time.monotonic() - began < 15
    assert _no_active_jobs(spark), "the Spark job still runs after the timeout"
    again = qg.run_sql("SELECT count(*) AS n FROM cars", db=spark.url)
    assert again.error is None and again.df["n"].tolist() == [406]


def test_an_interrupt_cancels_the_spark_job_and_the_session_stays_usable(spark):
    """Ctrl-C in a notebook is a KeyboardInterrupt in the main thread: sent here by a timer."""
    timer = threading.Timer(3.0, _thread.interrupt_main)
    timer.start()
    try:
        answer = qg.run_sql(SLOW, db=spark.url, timeout_s=120)
    finally:
        timer.cancel()
    assert answer.error is not None and answer.error.code == "QUERY_TIMEOUT", answer.error
    assert "interrupt" in str(answer.error).lower() or "stopped" in str(answer.error).lower()
    assert _no_active_jobs(spark), "the Spark job still runs after the interrupt"
    again = qg.run_sql("SELECT count(*) AS n FROM cars", db=spark.url)
    assert again.error is None and again.df["n"].tolist() == [406]


def test_spark_local_names_the_local_session(spark):
    adapter = open_connection("spark-local", ())
    assert adapter.kind == "spark" and adapter.label == "spark-local"
    answer = qg.run_sql("SELECT count(*) AS n FROM cars", db="spark-local")
    assert answer.error is None and answer.df["n"].tolist() == [406]


def test_the_row_cap_is_in_the_sql_spark_runs(spark):
    answer = qg.run_sql("SELECT id FROM range(100000)", db=spark.url, max_rows=50)
    assert answer.truncated and len(answer.df) == 50
    assert "LIMIT 51" in answer.executed_sql


def test_ask_in_a_real_kernel_on_spark_answers_like_duckdb(spark, tmp_path, monkeypatch):
    """%ask connect sc://… and %%ask through a Jupyter kernel; the URL (with its token) comes
    from the environment, so the notebook never holds it."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    monkeypatch.setenv("QG_TEST_SPARK_URL", spark.url)
    question = "Average horsepower by origin"
    nb = new_notebook(cells=[
        new_code_cell("import os\n%load_ext querygpt_jupyter\nurl = os.environ['QG_TEST_SPARK_URL']"),
        new_code_cell("%ask connect $url --name spark"),
        new_code_cell(f"%%ask --conn spark --name on_spark\n{question}"),
        new_code_cell(f"%%ask --conn demo --name on_duckdb --no-chart\n{question}"),
        new_code_cell("key = lambda df: sorted(map(tuple, df.round(6).astype(str).values.tolist()))\n"
                      "print('SAME' if key(on_spark) == key(on_duckdb) and len(on_spark) == 3 else 'DIFFERENT')"),
    ])
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert nb.cells[-1].outputs[0]["text"].strip() == "SAME"
    assert any("application/vnd.vegalite.v5+json" in o.get("data", {}) for o in nb.cells[2].outputs)
    assert spark.url.split("token=")[1] not in nbformat.writes(nb)


def test_the_model_is_told_it_writes_spark_sql_and_its_answer_runs_on_spark(spark, scripted_llm):
    sql = "SELECT `Origin`, COUNT(*) AS n FROM cars GROUP BY `Origin` ORDER BY n DESC"
    scripted_llm.push(Reply(tool_calls=[{"name": "submit_answer", "arguments": {
        "sql": sql, "explanation": "Counts cars per origin.", "chart": "bar"}}]))
    answer = qg.ask("How many cars per origin?", db=spark.url, model="scripted/sql-bot", tools="on")
    assert answer.error is None, answer.error
    assert answer.df.values.tolist() == [["USA", 254], ["Japan", 79], ["Europe", 73]]
    system = scripted_llm.calls[0]["messages"][0]["content"]
    assert "Spark SQL" in system and "dialect: spark" in system


def test_a_chart_of_a_table_cut_at_the_cap_is_aggregated_in_spark(spark):
    """The stocks table has more rows than the cap: the mean price per symbol is Spark's over
    every row, one row per bar comes back, and the note says the chart covers all rows."""
    answer = qg.run_sql("SELECT symbol, price FROM stocks", db=spark.url, max_rows=100,
                        question="average price by symbol")
    assert answer.error is None, answer.error
    assert answer.truncated and len(answer.df) == 100
    full = qg.run_sql("SELECT symbol, AVG(price) AS price, COUNT(*) AS n FROM stocks GROUP BY symbol", db=spark.url)
    drawn = {row["symbol"]: row["price"] for row in answer.chart_spec["data"]["values"]}
    assert drawn == pytest.approx(dict(zip(full.df["symbol"], full.df["price"])))
    assert f"Averaged all {int(full.df['n'].sum()):,} rows per symbol" in answer.chart_note
    assert "the table shows the first 100" in answer.chart_note
