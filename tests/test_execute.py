"""The executor: the row cap lives in the SQL, timeouts and interrupts really cancel, and the
connection stays usable afterwards."""
from __future__ import annotations

import threading
import _thread

import pytest
import sqlglot

from querygpt_jupyter import errors
from querygpt_jupyter.connections.resolve import open_connection
from querygpt_jupyter.sql.execute import cap, run_blocking, run_query

SLOW_DUCKDB = "SELECT count(*) FROM range(1000000000000) a"
SLOW_SQLITE = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r"


def capped(sql: str, max_rows: int, dialect: str = "duckdb") -> str:
    return cap(sqlglot.parse_one(sql, read=dialect), max_rows).sql(dialect)


def test_cap_adds_a_limit_of_max_rows_plus_one():
    assert capped("SELECT * FROM cars", 10) == "SELECT * FROM cars LIMIT 11"


def test_cap_keeps_a_smaller_user_limit():
    assert capped("SELECT * FROM cars ORDER BY Horsepower DESC LIMIT 5", 10).endswith("LIMIT 5")


def test_cap_lowers_a_larger_user_limit():
    assert capped("SELECT * FROM cars LIMIT 500", 10).endswith("LIMIT 11")


def test_cap_wraps_queries_it_cannot_limit_in_place():
    assert "LIMIT 11" in capped("VALUES (1), (2)", 10)


def test_truncated_says_when_the_cap_cut(demo):
    result = run_query(demo, sqlglot.parse_one("SELECT * FROM cars"), max_rows=10, timeout_s=30)
    assert len(result.df) == 10 and result.truncated


def test_not_truncated_when_everything_fits(demo):
    result = run_query(demo, sqlglot.parse_one("SELECT * FROM cars"), max_rows=406, timeout_s=30)
    assert len(result.df) == 406 and not result.truncated


def test_cap_keeps_the_order_of_the_query(demo):
    result = run_query(demo, sqlglot.parse_one("SELECT Name, Horsepower FROM cars WHERE Horsepower IS NOT NULL ORDER BY Horsepower DESC"),
                       max_rows=5, timeout_s=30)
    values = result.df["Horsepower"].tolist()
    assert values == sorted(values, reverse=True) and values[0] == 230


def test_results_arrive_as_pandas_with_types(demo):
    result = run_query(demo, sqlglot.parse_one("SELECT Origin, AVG(Horsepower) AS hp FROM cars GROUP BY Origin"), max_rows=10, timeout_s=30)
    assert str(result.df["hp"].dtype) == "float64"


def test_duckdb_timeout_cancels_and_the_connection_stays_usable(demo):
    with pytest.raises(errors.QueryTimeout) as info:
        run_blocking(demo, SLOW_DUCKDB, 0.3)
    assert info.value.code == "QUERY_TIMEOUT"
    assert run_blocking(demo, "SELECT 42 AS x", 5)["x"].tolist() == [42]


def test_sqlite_timeout_cancels_and_the_connection_stays_usable(shop_sqlite):
    adapter = open_connection(shop_sqlite, ())
    with pytest.raises(errors.QueryTimeout):
        run_blocking(adapter, SLOW_SQLITE, 0.3)
    assert run_blocking(adapter, "SELECT count(*) AS n FROM customers", 5)["n"].tolist() == [3]


def test_ctrl_c_cancels_the_query_cleanly(demo):
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    with pytest.raises(errors.QueryCancelled) as info:
        run_blocking(demo, SLOW_DUCKDB, 60)
    timer.join()
    assert "stopped" in info.value.message
    assert run_blocking(demo, "SELECT 1 AS one", 5)["one"].tolist() == [1]
