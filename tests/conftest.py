"""Shared fixtures: a private QUERYGPT_HOME, the demo database, small real DuckDB/SQLite files."""
from __future__ import annotations

import contextlib
import os
import sqlite3
import sys

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM must never reach the network in tests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="session", autouse=True)
def querygpt_home(tmp_path_factory):
    """Every test run gets its own data directory (demo db, catalogue cache)."""
    home = os.environ.get("QUERYGPT_HOME") or str(tmp_path_factory.mktemp("querygpt-home"))
    os.environ["QUERYGPT_HOME"] = home
    return home


@pytest.fixture(scope="session")
def demo_path(querygpt_home):
    from querygpt_jupyter.connections.demo import ensure_demo_db

    return ensure_demo_db()


@pytest.fixture(scope="session")
def demo(demo_path):
    from querygpt_jupyter.connections.resolve import open_connection

    return open_connection("demo", (os.getcwd(),))


@pytest.fixture()
def home(tmp_path, monkeypatch, demo_path):
    """A private QUERYGPT_HOME (empty history index), sharing the already-built demo database."""
    home = tmp_path / "home"
    home.mkdir()
    os.link(demo_path, home / "demo.duckdb")
    monkeypatch.setenv("QUERYGPT_HOME", str(home))
    return home


@pytest.fixture()
def shop_sqlite(tmp_path):
    """A small SQLite file with primary and foreign keys."""
    path = tmp_path / "shop.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, country TEXT);
        CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), amount REAL);
        INSERT INTO customers VALUES (1, 'Ada', 'UK'), (2, 'Grace', 'US'), (3, 'Linus', 'FI');
        INSERT INTO orders VALUES (1, 1, 10.5), (2, 1, 20), (3, 2, 7.25);
        """
    )
    con.commit()
    con.close()
    return str(path)


@pytest.fixture()
def shop_duckdb(tmp_path):
    import duckdb

    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR, country VARCHAR)")
    con.execute("COMMENT ON COLUMN customers.country IS 'ISO country code'")
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), amount DOUBLE)")
    con.execute("INSERT INTO customers VALUES (1, 'Ada', 'UK'), (2, 'Grace', 'US'), (3, 'Linus', 'FI')")
    con.execute("INSERT INTO orders VALUES (1, 1, 10.5), (2, 1, 20), (3, 2, 7.25)")
    con.close()
    return str(path)


@contextlib.contextmanager
def loaded_shell():
    """A fresh IPython shell with `%load_ext querygpt_jupyter`; unloaded and cleared afterwards."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext querygpt_jupyter")
    try:
        yield shell
    finally:
        shell.run_cell("%unload_ext querygpt_jupyter")
        shell.reset()
        shell.rl_next_input = None
        InteractiveShell.clear_instance()


def run_cell_ok(shell, code):
    """Run `code` in `shell`, require it to succeed, and return what it displayed and printed."""
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = shell.run_cell(code)
    assert result.success, result.error_in_exec or result.error_before_exec
    return captured
