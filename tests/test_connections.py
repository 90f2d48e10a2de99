"""Connections: what `db=` accepts, the engines' own read-only walls, and introspection."""
from __future__ import annotations

import os
import sqlite3

import duckdb
import pandas as pd
import pytest
import sqlalchemy

from querygpt_jupyter import errors
from querygpt_jupyter.connections.introspect import introspect
from querygpt_jupyter.connections.resolve import from_object, open_connection
from querygpt_jupyter.sql.execute import run_blocking


def rows(adapter, sql):
    return run_blocking(adapter, sql, 10).values.tolist()


@pytest.mark.parametrize("spec", ["demo", "DEMO"])
def test_demo_names_the_demo_database(spec, demo_path):
    adapter = open_connection(spec, ())
    assert adapter.kind == "duckdb" and demo_path in adapter.label


def test_duckdb_path_and_url_open_the_same_file(shop_duckdb):
    for spec in (shop_duckdb, f"duckdb:///{shop_duckdb}"):
        assert rows(open_connection(spec, ()), "SELECT count(*) FROM customers") == [[3]]


def test_sqlite_path_and_url(shop_sqlite):
    for spec in (shop_sqlite, f"sqlite:///{shop_sqlite}"):
        adapter = open_connection(spec, ())
        assert adapter.dialect == "sqlite" and rows(adapter, "SELECT count(*) FROM orders") == [[3]]


def test_a_db_file_is_recognised_by_its_content(tmp_path, shop_sqlite):
    renamed = tmp_path / "data.db"
    os.link(shop_sqlite, renamed)
    assert open_connection(str(renamed), ()).dialect == "sqlite"


def test_live_objects_are_accepted(shop_sqlite, shop_duckdb):
    assert rows(from_object(sqlite3.connect(shop_sqlite), (), "con"), "SELECT count(*) FROM customers") == [[3]]
    user_duck = duckdb.connect(":memory:")
    user_duck.execute("CREATE TABLE t AS SELECT 1 AS x")
    assert rows(from_object(user_duck, (), "duck"), "SELECT x FROM t") == [[1]]
    engine = sqlalchemy.create_engine(f"sqlite:///{shop_sqlite}")
    assert rows(from_object(engine, (), "engine"), "SELECT count(*) FROM orders") == [[3]]


def test_dataframes_are_queryable_by_name():
    frame = pd.DataFrame({"city": ["a", "b", "a"], "sales": [1, 2, 3]})
    adapter = from_object({"sales_df": frame}, (), "dataframes")
    assert rows(adapter, "SELECT city, sum(sales) FROM sales_df GROUP BY city ORDER BY city") == [["a", 4], ["b", 2]]


def test_a_missing_file_is_db_conn_fail_not_a_new_database(tmp_path):
    with pytest.raises(errors.DbConnFail) as info:
        open_connection(str(tmp_path / "nope.duckdb"), ())
    assert info.value.code == "DB_CONN_FAIL"
    assert not (tmp_path / "nope.duckdb").exists()


def test_sqlite_engine_refuses_writes_even_without_the_guard(shop_sqlite):
    adapter = open_connection(shop_sqlite, ())
    with pytest.raises(sqlite3.DatabaseError):
        adapter.fetch("DELETE FROM orders")
    assert rows(adapter, "SELECT count(*) FROM orders") == [[3]]


def test_duckdb_engine_refuses_writes_and_files_even_without_the_guard(shop_duckdb):
    from querygpt_jupyter.errors import PermissionDenied

    adapter = open_connection(shop_duckdb, ())
    with pytest.raises(PermissionDenied, match="DELETE statement"):  # DuckDB's own parse: not a SELECT
        adapter.fetch("DELETE FROM orders")
    with pytest.raises(duckdb.PermissionException):
        adapter.fetch("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(PermissionDenied, match="SET statement"):
        adapter.fetch("SET enable_external_access = true")


def test_a_users_duckdb_connection_is_rolled_back_after_each_query(tmp_path):
    from querygpt_jupyter.errors import PermissionDenied

    user_duck = duckdb.connect(":memory:")
    user_duck.execute("CREATE TABLE t AS SELECT 1 AS x")
    bad = tmp_path / "bad.csv"
    bad.write_text("x\n1\nbad\n")
    adapter = from_object(user_duck, (), "duck")
    with pytest.raises(PermissionDenied):  # DuckDB's own parse: a DELETE, not a SELECT
        adapter.fetch("DELETE FROM t RETURNING *")
    # a SELECT that creates a table of rejected rows: gone with the rollback
    adapter.fetch(f"SELECT * FROM read_csv('{bad}', store_rejects = true, rejects_table = 'rejected', ignore_errors = true)")
    assert adapter.fetch("SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'rejected'")["n"].tolist() == [0]
    assert user_duck.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_introspection_finds_keys_comments_counts_and_samples(shop_duckdb):
    catalog = introspect(open_connection(shop_duckdb, ()))
    customers, orders = catalog.table("customers"), catalog.table("orders")
    assert customers.row_count == 3 and orders.row_count == 3
    assert customers.column("id").primary_key
    assert customers.column("country").comment == "ISO country code"
    assert set(customers.column("country").samples) == {"UK", "US", "FI"}
    assert orders.foreign_keys[0].references == "customers" and orders.foreign_keys[0].columns == ("customer_id",)


def test_sqlite_introspection_finds_foreign_keys(shop_sqlite):
    catalog = introspect(open_connection(shop_sqlite, ()))
    fk = catalog.table("orders").foreign_keys[0]
    assert (fk.columns, fk.references, fk.ref_columns) == (("customer_id",), "customers", ("id",))


def test_fingerprint_follows_the_schema(tmp_path):
    path = tmp_path / "f.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE a (x INTEGER)")
    con.close()
    first = introspect(open_connection(str(path), ())).fingerprint
    from querygpt_jupyter.connections import resolve

    resolve._opened.clear()
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE a ADD COLUMN y VARCHAR")
    con.close()
    assert introspect(open_connection(str(path), ())).fingerprint != first
    resolve._opened.clear()


def test_introspection_is_cached_by_fingerprint(demo):
    assert introspect(demo) is introspect(demo)


def test_demo_catalog_matches_the_contract(demo):
    catalog = introspect(demo)
    origin = catalog.table("cars").column("Origin")
    assert set(origin.samples) == {"USA", "Europe", "Japan"}
    assert catalog.table("cars").row_count == 406


def test_a_new_connection_never_gets_the_adapter_of_a_closed_one(tmp_path):
    """Adapters are cached per connection object; a closed object's id must not come back to
    hand a new connection the old adapter (the wrong database, or 'already closed')."""
    import sqlite3

    import querygpt_jupyter as qg

    for i in range(30):
        path = tmp_path / f"db{i}.sqlite"
        with sqlite3.connect(path) as setup:
            setup.execute(f"CREATE TABLE t{i} (n INTEGER)")
            setup.execute(f"INSERT INTO t{i} VALUES ({i})")
        con = sqlite3.connect(path)
        answer = qg.run_sql(f"SELECT n FROM t{i}", db=con)
        assert answer.error is None and answer.df["n"].tolist() == [i], answer.error
        con.close()
        del con
