"""`querygpt sql --json` prints valid JSON for any value an engine returns — blobs, numbers beyond
64 bits, NaN and infinities, nested types, timestamps with a time zone, decimals, text that is
not UTF-8 — with the value kept (or its engine's own text), never a traceback or an error."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import duckdb
import pytest

from conftest import BIN

DUCKDB_VALUES = [
    pytest.param("SELECT TIMESTAMPTZ '2020-02-29 12:34:56.789+05:30' AS v", "2020-02-29T07:04:56.789Z", id="timestamptz"),
    pytest.param("SELECT [TIMESTAMPTZ '2020-01-01 00:00:00+00'] AS v", ["2020-01-01T00:00:00+00:00"], id="timestamptz-in-list"),
    pytest.param("SELECT '-inf'::DOUBLE AS v", None, id="minus-infinity"),
    pytest.param("SELECT [['nan'::DOUBLE, 'inf'::DOUBLE, 1.5]] AS v", [[None, None, 1.5]], id="nan-nested"),
    pytest.param("SELECT 'nan'::FLOAT AS v", None, id="nan-float"),
    pytest.param("SELECT 340282366920938463463374607431768211455::UHUGEINT AS v",
                 "340282366920938463463374607431768211455", id="uhugeint-max"),
    pytest.param("SELECT 9999999999999999999::UBIGINT AS v", 9999999999999999999, id="ubigint"),
    pytest.param("SELECT 12345678901234567890123456789::VARINT AS v", "12345678901234567890123456789", id="varint"),
    pytest.param("SELECT 1234567890123456789012345678.0123456789::DECIMAL(38,10) AS v",
                 "1234567890123456789012345678.0123456789", id="decimal-38"),
    pytest.param("SELECT MAP {'k': [1.5::DECIMAL(4,2)]} AS v", [["k", [1.5]]], id="decimal-in-map"),
    pytest.param("SELECT [{'b': '\\x00\\xFF'::BLOB}] AS v", [{"b": "\\x00\\xFF"}], id="blob-in-struct"),
    pytest.param("SELECT 'infinity'::DATE AS v", "infinity", id="date-infinity"),
    pytest.param("SELECT union_value(k := 'x') AS v", "x", id="union"),
    pytest.param("SELECT '101'::BIT AS v", "101", id="bit"),
    pytest.param("SELECT '{\"a\": 1}'::JSON AS v", '{"a": 1}', id="json-text"),
]

SQLITE_VALUES = [
    pytest.param("SELECT X'00FF61' AS v", "\\x00\\xFFa", id="blob"),
    pytest.param("SELECT zeroblob(3) AS v", "\\x00\\x00\\x00", id="zeroblob"),
    pytest.param("SELECT 9223372036854775807 AS v", 9223372036854775807, id="int64-max"),
    pytest.param("SELECT -9223372036854775808 AS v", -9223372036854775808, id="int64-min"),
    pytest.param("SELECT 18446744073709551615 AS v", 1.8446744073709552e19, id="beyond-int64-is-real"),
    pytest.param("SELECT 9e999 AS v", None, id="infinity"),
    pytest.param("SELECT -9e999 AS v", None, id="minus-infinity"),
    pytest.param("SELECT 0.1 + 0.2 AS v", 0.1 + 0.2, id="float-repr"),
    pytest.param("SELECT '2020-02-29T12:34:56+05:30' AS v", "2020-02-29T12:34:56+05:30", id="timestamp-text-with-tz"),
    pytest.param("SELECT json_array(1, 'a', json_object('b', 2.5)) AS v", '[1,"a",{"b":2.5}]', id="json-text"),
    pytest.param("SELECT char(104, 105, 55357) AS v", "hi\ufffd\ufffd\ufffd", id="not-utf8-text"),
]


def cli_json(sql: str, db: str):
    proc = subprocess.run([os.path.join(BIN, "querygpt"), "sql", sql, "--db", db, "--json"],
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    out = json.loads(proc.stdout)   # one JSON object, whatever the values
    assert "NaN" not in proc.stdout and "Infinity" not in proc.stdout   # JSON has neither
    return proc.returncode, out


@pytest.fixture(scope="module")
def duckdb_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("json") / "one.duckdb"
    duckdb.connect(str(path)).execute("CREATE TABLE one AS SELECT 1 AS x").close()
    return str(path)


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("json") / "one.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE one (x INTEGER)").connection.commit()
    return str(path)


@pytest.mark.parametrize("sql, expected", DUCKDB_VALUES)
def test_duckdb_values_print_as_valid_json(duckdb_file, sql, expected):
    code, out = cli_json(sql, duckdb_file)
    assert code == 0 and out["error"] is None, out["error"]
    assert out["rows"] == [[expected]]


@pytest.mark.parametrize("sql, expected", SQLITE_VALUES)
def test_sqlite_values_print_as_valid_json(sqlite_file, sql, expected):
    code, out = cli_json(sql, sqlite_file)
    assert code == 0 and out["error"] is None, out["error"]
    assert out["rows"] == [[expected]]


def test_sqlite_mixed_types_in_one_column_print_as_valid_json(sqlite_file):
    code, out = cli_json("SELECT 1 AS v UNION ALL SELECT 'a' UNION ALL SELECT X'00' UNION ALL SELECT 2.5 "
                         "UNION ALL SELECT NULL", sqlite_file)
    assert code == 0 and out["rows"] == [[1], ["a"], ["\\x00"], [2.5], [None]]


def test_timestamps_beyond_pythons_range_print_as_text(duckdb_file):
    code, out = cli_json("SELECT 'infinity'::TIMESTAMP AS a, '-infinity'::TIMESTAMPTZ AS b", duckdb_file)
    assert code == 0 and all(isinstance(v, str) and v for v in out["rows"][0])


def test_a_value_cut_by_the_cell_cap_is_still_valid_json(duckdb_file):
    code, out = cli_json("SELECT repeat('é', 2000000) AS v, repeat('\\x00'::BLOB, 2000000) AS b", duckdb_file)
    assert code == 0 and out["rows"][0][0].endswith("…") and len(out["rows"][0][0]) == 1024 * 1024 + 1
