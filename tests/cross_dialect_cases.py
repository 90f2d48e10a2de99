"""A small cross-dialect set: date-heavy queries written the way models write them (PostgreSQL,
MySQL, DuckDB style), the same rows loaded into every engine, and the rows each query gives on
the engine it was written for — the reference querygpt's answer on another engine must match.

Shared by tests/test_cross_dialect.py (a specification per query and engine) and
benchmarks/cross_dialect.py (the figures: right / refused with feedback / silently wrong).
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

DATABASE = "querygpt_dialect"   # our own database on the shared PostgreSQL/MariaDB servers

STUDENTS = [  # id, name, admit_term, graduation, last_login, credits — month ends and a leap day on purpose
    (1, "Ada", dt.date(2020, 1, 31), dt.date(2024, 2, 15), dt.datetime(2024, 3, 4, 10, 20, 30), 120),
    (2, "alan", dt.date(2019, 12, 1), dt.date(2023, 6, 30), dt.datetime(2023, 11, 30, 23, 59, 59), 95),
    (3, "Grace", dt.date(2020, 2, 29), None, dt.datetime(2024, 1, 2, 8, 0, 0), 60),
    (4, "Linus", dt.date(2019, 8, 31), dt.date(2023, 5, 31), dt.datetime(2022, 7, 14, 12, 5, 0), 130),
    (5, "Margaret", dt.date(2021, 3, 31), dt.date(2025, 1, 10), dt.datetime(2024, 12, 31, 18, 45, 15), 110),
    (6, "Barbara", dt.date(2018, 9, 1), dt.date(2022, 6, 15), dt.datetime(2021, 5, 5, 5, 5, 5), 140),
    (7, "Edsger", dt.date(2020, 9, 1), dt.date(2024, 6, 28), dt.datetime(2024, 7, 1, 9, 30, 0), 125),
    (8, "anita", dt.date(2021, 1, 15), None, dt.datetime(2023, 2, 28, 16, 0, 0), 45),
]
PAYMENTS = [  # id, student_id, paid_at, amount
    (1, 1, dt.datetime(2023, 1, 5, 9, 15, 0), Decimal("250.00")),
    (2, 1, dt.datetime(2023, 1, 31, 23, 30, 0), Decimal("125.50")),
    (3, 2, dt.datetime(2023, 2, 14, 12, 0, 0), Decimal("300.00")),
    (4, 3, dt.datetime(2023, 3, 1, 0, 0, 0), Decimal("80.25")),
    (5, 4, dt.datetime(2023, 3, 31, 17, 45, 0), Decimal("410.00")),
    (6, 5, dt.datetime(2023, 4, 2, 8, 5, 0), Decimal("99.99")),
    (7, 2, dt.datetime(2023, 5, 20, 14, 10, 0), Decimal("150.00")),
    (8, 6, dt.datetime(2023, 6, 30, 23, 59, 0), Decimal("500.00")),
    (9, 7, dt.datetime(2023, 7, 1, 0, 1, 0), Decimal("60.00")),
    (10, 8, dt.datetime(2023, 8, 15, 11, 11, 0), Decimal("75.75")),
    (11, 1, dt.datetime(2023, 10, 9, 10, 0, 0), Decimal("220.00")),
    (12, 5, dt.datetime(2023, 12, 24, 19, 0, 0), Decimal("310.00")),
]
TABLES = {
    "students": (("id", "INTEGER"), ("name", "VARCHAR(40)"), ("admit_term", "DATE"), ("graduation", "DATE"),
                 ("last_login", "TIMESTAMP"), ("credits", "INTEGER")),
    "payments": (("id", "INTEGER"), ("student_id", "INTEGER"), ("paid_at", "TIMESTAMP"), ("amount", "DECIMAL(10,2)")),
}
ROWS = {"students": STUDENTS, "payments": PAYMENTS}


@dataclass(frozen=True)
class Case:
    id: str
    dialect: str     # where the SQL is written for: postgres, mysql, duckdb or sqlite
    sql: str


CASES = [
    # PostgreSQL, as models write it
    Case("pg-avg-date-difference", "postgres", "SELECT AVG(graduation - admit_term) AS avg_days FROM students"),
    Case("pg-days-since-last-admission", "postgres", "SELECT CURRENT_DATE - MAX(admit_term) AS days FROM students"),
    Case("pg-to-char-year-month", "postgres",
         "SELECT TO_CHAR(admit_term, 'YYYY-MM') AS ym, COUNT(*) AS n FROM students GROUP BY 1 ORDER BY 1"),
    Case("pg-to-char-month-name", "postgres", "SELECT id, TO_CHAR(admit_term, 'Mon YYYY') AS m FROM students ORDER BY id"),
    Case("pg-date-trunc-month", "postgres",
         "SELECT DATE_TRUNC('month', paid_at) AS month, SUM(amount) AS total FROM payments GROUP BY 1 ORDER BY 1"),
    Case("pg-date-trunc-year", "postgres",
         "SELECT DATE_TRUNC('year', admit_term) AS y, COUNT(*) AS n FROM students GROUP BY 1 ORDER BY 1"),
    Case("pg-date-trunc-week", "postgres",
         "SELECT DATE_TRUNC('week', paid_at)::date AS wk, COUNT(*) AS n FROM payments GROUP BY 1 ORDER BY 1"),
    Case("pg-date-trunc-quarter", "postgres",
         "SELECT DATE_TRUNC('quarter', paid_at)::date AS q, SUM(amount) AS total FROM payments GROUP BY 1 ORDER BY 1"),
    Case("pg-extract-year", "postgres",
         "SELECT EXTRACT(YEAR FROM admit_term) AS y, COUNT(*) AS n FROM students GROUP BY 1 ORDER BY 1"),
    Case("pg-extract-parts", "postgres",
         "SELECT id, EXTRACT(MONTH FROM paid_at) AS m, EXTRACT(DOW FROM paid_at) AS dow, EXTRACT(HOUR FROM paid_at) AS h "
         "FROM payments ORDER BY id"),
    Case("pg-date-part", "postgres",
         "SELECT DATE_PART('year', graduation) AS y, COUNT(*) AS n FROM students WHERE graduation IS NOT NULL "
         "GROUP BY 1 ORDER BY 1"),
    Case("pg-interval-year-filter", "postgres",
         "SELECT id, name FROM students WHERE admit_term >= DATE '2021-01-01' - INTERVAL '1 year' ORDER BY id"),
    Case("pg-plus-one-month", "postgres", "SELECT id, admit_term + INTERVAL '1 month' AS next_month FROM students ORDER BY id"),
    Case("pg-minus-hours", "postgres", "SELECT id, paid_at - INTERVAL '3 hours' AS earlier FROM payments ORDER BY id"),
    Case("pg-timestamp-minus-one-month", "postgres",
         "SELECT id, paid_at - INTERVAL '1 month' AS month_before FROM payments ORDER BY id"),
    Case("pg-date-trunc-hour", "postgres",
         "SELECT DATE_TRUNC('hour', paid_at) AS h, COUNT(*) AS n FROM payments GROUP BY 1 ORDER BY 1"),
    Case("pg-plus-ten-years", "postgres", "SELECT id, admit_term + INTERVAL '10 year' AS later FROM students ORDER BY id"),
    Case("pg-to-date-iso", "postgres", "SELECT id, TO_DATE('2021-03-15', 'YYYY-MM-DD') AS d FROM students WHERE id = 1"),
    Case("pg-to-date-dmy", "postgres", "SELECT id, TO_DATE('15/03/2021', 'DD/MM/YYYY') AS d FROM students WHERE id = 1"),
    Case("pg-ilike", "postgres", "SELECT COUNT(*) AS n FROM students WHERE name ILIKE 'a%'"),
    Case("pg-cast-divide", "postgres", "SELECT id, credits::float / 4 AS q FROM students ORDER BY id"),
    Case("pg-extract-in-where", "postgres",
         "SELECT id FROM students WHERE EXTRACT(YEAR FROM admit_term) = 2020 ORDER BY id"),
    Case("pg-age-years", "postgres",
         "SELECT id, EXTRACT(YEAR FROM AGE(graduation, admit_term)) AS years FROM students "
         "WHERE graduation IS NOT NULL ORDER BY id"),
    Case("pg-date-plus-integer", "postgres", "SELECT id, admit_term + 30 AS d FROM students ORDER BY id"),
    # MySQL / MariaDB
    Case("my-date-format-month", "mysql",
         "SELECT DATE_FORMAT(paid_at, '%Y-%m') AS ym, SUM(amount) AS total FROM payments GROUP BY 1 ORDER BY 1"),
    Case("my-datediff", "mysql", "SELECT id, DATEDIFF(graduation, admit_term) AS days FROM students ORDER BY id"),
    Case("my-date-add-month", "mysql", "SELECT id, DATE_ADD(admit_term, INTERVAL 1 MONTH) AS d FROM students ORDER BY id"),
    Case("my-date-sub-days", "mysql", "SELECT id, DATE_SUB(paid_at, INTERVAL 2 DAY) AS d FROM payments ORDER BY id"),
    Case("my-year-month", "mysql", "SELECT id, YEAR(admit_term) AS y, MONTH(admit_term) AS m FROM students ORDER BY id"),
    Case("my-str-to-date", "mysql", "SELECT id, STR_TO_DATE('2021-03-15', '%Y-%m-%d') AS d FROM students WHERE id = 1"),
    Case("my-timestampdiff-days", "mysql",
         "SELECT id, TIMESTAMPDIFF(DAY, admit_term, graduation) AS days FROM students ORDER BY id"),
    Case("my-month-name", "mysql", "SELECT id, DATE_FORMAT(admit_term, '%M %Y') AS m FROM students ORDER BY id"),
    Case("my-between-strings", "mysql",
         "SELECT id FROM students WHERE admit_term BETWEEN '2019-01-01' AND '2020-06-30' ORDER BY id"),
    # SQLite (Spider-trained models write it everywhere)
    Case("sq-julianday-difference", "sqlite",
         "SELECT id, CAST(julianday(graduation) - julianday(admit_term) AS INTEGER) AS days FROM students ORDER BY id"),
    Case("sq-start-of-month", "sqlite",
         "SELECT date(paid_at, 'start of month') AS m, SUM(amount) AS total FROM payments GROUP BY 1 ORDER BY 1"),
    Case("sq-strftime-year", "sqlite",
         "SELECT strftime('%Y', admit_term) AS y, COUNT(*) AS n FROM students GROUP BY 1 ORDER BY 1"),
    Case("sq-plus-days", "sqlite", "SELECT id, date(admit_term, '+7 days') AS d FROM students ORDER BY id"),
    Case("sq-unixepoch", "sqlite", "SELECT datetime(1600000000, 'unixepoch') AS ts"),
    # DuckDB
    Case("duck-strftime-day", "duckdb",
         "SELECT strftime(paid_at, '%Y-%m-%d') AS day, count(*) AS n FROM payments GROUP BY 1 ORDER BY 1"),
    Case("duck-date-diff", "duckdb", "SELECT id, date_diff('day', admit_term, graduation) AS days FROM students ORDER BY id"),
    Case("duck-plus-interval-day", "duckdb", "SELECT id, paid_at + INTERVAL 1 DAY AS next FROM payments ORDER BY id"),
    Case("duck-date-difference", "duckdb", "SELECT id, graduation - admit_term AS days FROM students ORDER BY id"),
    Case("duck-epoch-to-timestamp", "duckdb", "SELECT to_timestamp(1600000000) AS ts"),
    Case("duck-date-trunc-month", "duckdb",
         "SELECT date_trunc('month', admit_term) AS m, count(*) AS n FROM students GROUP BY 1 ORDER BY 1"),
]

ENGINES = ("sqlite", "duckdb", "postgres", "mysql")


# -- loading -----------------------------------------------------------------------------------

def write_sqlite(path: str) -> str:
    import sqlite3

    con = sqlite3.connect(path)
    for table, columns in TABLES.items():
        con.execute(f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns)})")
        con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))})",
                        [tuple(_sqlite_value(v) for v in row) for row in ROWS[table]])
    con.commit()
    con.close()
    return path


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def write_duckdb(path: str) -> str:
    import duckdb

    con = duckdb.connect(path)
    for table, columns in TABLES.items():
        con.execute(f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns)})")
        con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))})", [list(r) for r in ROWS[table]])
    con.close()
    return path


def load_server(admin_url: str, product_url: str) -> str:
    """Our own database on a shared server (PostgreSQL or MariaDB), readable by the product's
    role; returns the product's URL for it. Reloaded each time (a few rows)."""
    import sqlalchemy

    admin = sqlalchemy.engine.make_url(admin_url)
    product = sqlalchemy.engine.make_url(product_url)
    postgres = admin.get_backend_name().startswith("postgres")
    engine = sqlalchemy.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if postgres:
            exists = connection.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).scalar()
            if not exists:
                connection.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
        else:
            connection.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
            connection.exec_driver_sql(f"GRANT SELECT ON {DATABASE}.* TO '{product.username}'@'%'"
                                       if _mysql_user_host(connection, product.username) == "%" else
                                       f"GRANT SELECT ON {DATABASE}.* TO '{product.username}'@'127.0.0.1'")
    engine.dispose()
    engine = sqlalchemy.create_engine(admin.set(database=DATABASE))
    with engine.begin() as connection:
        for table, columns in TABLES.items():
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
            connection.exec_driver_sql(f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns)})")
            marks = ", ".join(["%s"] * len(columns))
            connection.exec_driver_sql(f"INSERT INTO {table} VALUES ({marks})", ROWS[table])
            if postgres:
                connection.exec_driver_sql(f"GRANT SELECT ON {table} TO {product.username}")
    engine.dispose()
    return product.set(database=DATABASE).render_as_string(hide_password=False)


def _mysql_user_host(connection, user: str) -> str:
    hosts = [h for (h,) in connection.exec_driver_sql("SELECT Host FROM mysql.user WHERE User = %s", (user,))]
    return "%" if "%" in hosts or not hosts else hosts[0]


def reference_rows(case: Case, run_on: dict[str, Any]) -> list[tuple]:
    """The rows `case` gives on the engine it is written for (run_on: dialect -> callable(sql) -> rows)."""
    return normalize(run_on[case.dialect](case.sql))


# -- comparing ---------------------------------------------------------------------------------

_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2})(\.\d+)?)?$")


def normalize(rows) -> list[tuple]:
    """Rows as comparable values: dates and timestamps as ISO text (SQLite has no date type:
    '2020-01-01' and a midnight timestamp are the same value), numbers as floats to 9 digits,
    intervals as seconds. Text that is not a date stays text: '2020' is not 2020."""
    return [tuple(_value(v) for v in row) for row in rows]


def _value(value: Any) -> Any:
    import numpy as np
    import pandas as pd

    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return _iso(value.strftime("%Y-%m-%d"), value.strftime("%H:%M:%S"))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (dt.timedelta, pd.Timedelta)):
        return ("interval", value.total_seconds())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, Decimal, np.integer, np.floating)):
        return float(f"{float(value):.9g}")
    if isinstance(value, str):
        match = _ISO.match(value)
        if match:
            return _iso(match.group(1), match.group(2))
    return value


def _iso(day: str, time: str | None) -> str:
    return day if not time or time == "00:00:00" else f"{day} {time}"


# -- one case through the real agent -----------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    kind: str            # "right", "refused" (with the error fed back) or "wrong" (ran, other rows)
    sql: str | None      # what ran on the engine
    detail: str          # the error the model was told, or the first differing rows


def ask_through_agent(case: Case, db: str, server, reference: list[tuple]) -> Outcome:
    """A scripted model answers with the case's SQL; querygpt checks, transpiles and runs it."""
    import querygpt_jupyter as qg
    from fakes.openai_server import Reply

    server.push(Reply(f"```sql\n{case.sql}\n```"))
    answer = qg.ask(f"cross-dialect case {case.id}", db=db, model="openai/gpt-4o-mini", api_base=server.base_url,
                    tools="off", max_retries=0, chart=False, explain=False)
    if answer.error is not None:
        tried = (answer.attempts[-1].error if answer.attempts and answer.attempts[-1].error else answer.error).to_dict()
        return Outcome("refused", None, f"{tried['kind']}: {tried['message']}")
    rows = normalize(answer.df.itertuples(index=False, name=None))
    if rows == reference:
        return Outcome("right", answer.sql, "")
    first = next((i for i, (a, b) in enumerate(zip(rows, reference)) if a != b), min(len(rows), len(reference)))
    got = rows[first] if first < len(rows) else "(no row)"
    want = reference[first] if first < len(reference) else "(no row)"
    return Outcome("wrong", answer.sql, f"row {first}: got {got}, expected {want} ({len(rows)} vs {len(reference)} rows)")
