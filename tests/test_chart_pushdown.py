"""A table cut at the row cap never gives a partial chart: a chart that aggregates (sum or mean
per category, per period) is computed in the engine over every row; a chart of raw rows says it
shows the first rows only. Real DuckDB and SQLite files larger than max_rows."""
from __future__ import annotations

import sqlite3

import duckdb
import pytest

import querygpt_jupyter as qg
from querygpt_jupyter.charts import pushdown
from querygpt_jupyter.charts.choose import decide_chart
from querygpt_jupyter.connections.resolve import open_connection
from querygpt_jupyter.sql import guard

ROWS = 5_000
MAX_ROWS = 100
REGIONS = ("north", "south", "east", "west", "centre")


def _rows():
    # The first rows hold only two of the five regions: a chart of the first 100 would be wrong.
    for i in range(ROWS):
        region = REGIONS[i % 2] if i < MAX_ROWS else REGIONS[(i * 7) % len(REGIONS)]
        yield region, float(i % 13), 2000 + i % 7, float(i % 31), float(i % 17)


@pytest.fixture(params=["duckdb", "sqlite"])
def big(request, tmp_path):
    """A database file holding `sales` (5,000 rows), and how to read it without the tool."""
    rows = list(_rows())
    if request.param == "duckdb":
        path = tmp_path / "sales.duckdb"
        with duckdb.connect(str(path)) as con:
            con.execute("CREATE TABLE sales (region VARCHAR, amount DOUBLE, year INTEGER, a DOUBLE, b DOUBLE)")
            con.executemany("INSERT INTO sales VALUES (?, ?, ?, ?, ?)", rows)
        read = lambda sql: duckdb.connect(str(path), read_only=True).execute(sql).fetchall()  # noqa: E731
    else:
        path = tmp_path / "sales.sqlite"
        with sqlite3.connect(path) as con:
            con.execute("CREATE TABLE sales (region TEXT, amount REAL, year INTEGER, a REAL, b REAL)")
            con.executemany("INSERT INTO sales VALUES (?, ?, ?, ?, ?)", rows)
        read = lambda sql: sqlite3.connect(path).execute(sql).fetchall()  # noqa: E731
    return str(path), read


def _drawn(answer, key: str, measure: str) -> dict:
    return {row[key]: pytest.approx(row[measure]) for row in answer.chart_spec["data"]["values"]}


@pytest.mark.parametrize("measure, question, aggregate, word", [
    ("amount", "total amount by region", "SUM", "Summed"),     # a total: summed per bar
    ("a", "a by region", "AVG", "Averaged"),                   # any other measure: averaged per bar
])
@pytest.mark.parametrize("order", ["", " ORDER BY year DESC"])
def test_a_bar_chart_of_a_truncated_table_covers_every_row(big, measure, question, aggregate, word, order):
    path, read = big
    answer = qg.run_sql(f"SELECT region, {measure} FROM sales{order}", db=path, max_rows=MAX_ROWS, question=question)
    assert answer.error is None, answer.error
    assert answer.truncated and len(answer.df) == MAX_ROWS
    assert answer.df["region"].nunique() == (5 if order else 2)   # unordered, the first rows hold two regions
    full = {region: value for region, value in read(f"SELECT region, {aggregate}({measure}) FROM sales GROUP BY region")}
    assert _drawn(answer, "region", measure) == full
    assert f"{word} all {ROWS:,} rows per region" in answer.chart_note
    assert f"the table shows the first {MAX_ROWS}" in answer.chart_note


def test_a_time_series_of_a_truncated_table_is_summed_per_period_in_the_engine(big):
    path, read = big
    answer = qg.run_sql("SELECT year, amount FROM sales", db=path, max_rows=MAX_ROWS, question="total amount per year")
    assert answer.error is None, answer.error
    full = {year: value for year, value in read("SELECT year, SUM(amount) FROM sales GROUP BY year")}
    drawn = {int(row["year"]) if not isinstance(row["year"], str) else int(row["year"][:4]): row["amount"]
             for row in answer.chart_spec["data"]["values"]}
    assert drawn == pytest.approx(full)
    assert f"all {ROWS:,} rows" in answer.chart_note


def test_the_chart_transfers_one_row_per_bar(big):
    path, read = big
    adapter = open_connection(path, ())
    checked = guard.check("SELECT region, amount FROM sales", guard.GuardPolicy(dialect=adapter.dialect))
    first = qg.run_sql("SELECT region, amount FROM sales", db=path, max_rows=MAX_ROWS)
    choice, _ = decide_chart("total amount by region", first.df)
    result = pushdown.run_aggregation(choice, checked, adapter, max_groups=50, timeout_s=30)
    assert result is not None
    assert result.rows_read <= len(REGIONS) == len(result.data)
    assert result.total_rows == ROWS
    assert "GROUP BY" in result.sql.upper()


def test_a_scatter_of_a_truncated_table_says_it_shows_the_first_rows(big):
    path, _ = big
    answer = qg.run_sql("SELECT a, b FROM sales", db=path, max_rows=MAX_ROWS, question="a vs b")
    assert answer.error is None, answer.error
    assert len(answer.chart_spec["data"]["values"]) <= MAX_ROWS
    assert f"first {MAX_ROWS} rows only" in answer.chart_note


def test_a_table_that_was_not_cut_charts_its_own_rows(big):
    path, _ = big
    answer = qg.run_sql("SELECT region, amount FROM sales", db=path, max_rows=ROWS + 1, question="total amount by region")
    assert not answer.truncated
    assert "in the database" not in (answer.chart_note or "") and "first" not in (answer.chart_note or "")


@pytest.mark.parametrize("sql, question", [
    ("SELECT a, b FROM sales", "a vs b"),                      # a scatter draws rows, never groups
])
def test_charts_that_do_not_aggregate_build_no_engine_query(big, sql, question):
    path, _ = big
    first = qg.run_sql(sql, db=path, max_rows=MAX_ROWS)
    choice, _ = decide_chart(question, first.df)
    assert pushdown.aggregation_query(choice, guard.check(sql, guard.GuardPolicy(dialect="duckdb"))) is None
