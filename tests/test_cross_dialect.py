"""The model's SQL means the same on the engine (issue 17): SQL written in PostgreSQL, MySQL or
DuckDB style, answered by a scripted model through the real agent on SQLite, DuckDB, PostgreSQL
and MariaDB, gives the rows the engine it was written for gives — or comes back to the model
with the engine's way of saying it. Never a different answer without a word."""
from __future__ import annotations

import os

import pytest

import cross_dialect_cases as cases
import querygpt_jupyter as qg
from fakes.openai_server import Reply, ScriptedOpenAIServer
from querygpt_jupyter.sql.dialect_check import detect_source
from servers import mysql_server, pg_server  # noqa: F401  (fixtures)

SPEC_CODES = {"AGENT_FAILURE", "SQL_SYNTAX_ERROR", "SCHEMA_ERROR", "PERMISSION_DENIED", "QUERY_TIMEOUT",
              "DB_CONN_FAIL", "MODEL_UNAVAILABLE"}  # the contract's codes: kinds refine them, never add to them

# What each case must do per engine where it is not simply "right": refused with this code.
REFUSED = {
    ("pg-avg-date-difference", "sqlite"): "TYPE_ERROR", ("pg-avg-date-difference", "mysql"): "TYPE_ERROR",
    ("pg-days-since-last-admission", "sqlite"): "TYPE_ERROR", ("pg-days-since-last-admission", "mysql"): "TYPE_ERROR",
    ("pg-date-plus-integer", "sqlite"): "TYPE_ERROR", ("pg-date-plus-integer", "mysql"): "TYPE_ERROR",
    ("duck-date-difference", "sqlite"): "TYPE_ERROR", ("duck-date-difference", "mysql"): "TYPE_ERROR",
    ("pg-to-char-month-name", "sqlite"): "UNKNOWN_FUNCTION", ("pg-to-char-month-name", "duckdb"): "UNKNOWN_FUNCTION",
    ("pg-to-char-month-name", "mysql"): "UNKNOWN_FUNCTION",
    ("pg-to-date-dmy", "sqlite"): "UNKNOWN_FUNCTION", ("my-month-name", "sqlite"): "UNKNOWN_FUNCTION",
    ("pg-age-years", "sqlite"): "UNKNOWN_FUNCTION", ("pg-age-years", "mysql"): "UNKNOWN_FUNCTION",
    ("sq-julianday-difference", "mysql"): "UNKNOWN_FUNCTION", ("sq-start-of-month", "mysql"): "UNKNOWN_FUNCTION",
    ("sq-plus-days", "mysql"): "UNKNOWN_FUNCTION",   # MySQL's DATE() would drop the modifier: refused, not run
    ("sq-unixepoch", "mysql"): "SQL_SYNTAX_ERROR",
}
ENGINE_WORDS = {"sqlite": "SQLite", "duckdb": "DuckDB", "postgres": "PostgreSQL", "mysql": "MySQL/MariaDB"}


@pytest.fixture(scope="module")
def databases(tmp_path_factory, pg_server, mysql_server):  # noqa: F811
    folder = tmp_path_factory.mktemp("dialect")

    def admin(server):
        return server.admin.url.render_as_string(hide_password=False)

    return {
        "sqlite": cases.write_sqlite(str(folder / "dialect.sqlite")),
        "duckdb": cases.write_duckdb(str(folder / "dialect.duckdb")),
        "postgres": cases.load_server(admin(pg_server), pg_server.url),
        "mysql": cases.load_server(admin(mysql_server), mysql_server.url),
    }


@pytest.fixture(scope="module")
def references(databases):
    """Each case run as written on the engine it is written for, without querygpt."""
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    from cross_dialect import references as run_references

    return run_references(databases)


@pytest.fixture(scope="module")
def model():
    with ScriptedOpenAIServer([]) as server:
        yield server


@pytest.mark.parametrize("engine", cases.ENGINES)
@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.id)
def test_sql_from_another_dialect_gives_the_original_rows_or_the_engines_way(case, engine, databases, references, model):
    outcome = cases.ask_through_agent(case, databases[engine], model, references[case.id])
    expected = REFUSED.get((case.id, engine))
    if expected is None:
        assert outcome.kind == "right", f"{outcome.kind}: {outcome.detail} (ran: {outcome.sql})"
    else:
        assert outcome.kind == "refused", f"expected {expected}, got {outcome.kind} (ran: {outcome.sql})"
        assert outcome.detail.startswith(expected), outcome.detail
        if expected != "SQL_SYNTAX_ERROR":   # the engine's way, or what it lacks, is named
            assert ENGINE_WORDS[engine] in outcome.detail, outcome.detail


def test_no_case_is_expected_to_be_refused_on_the_engine_it_was_written_for():
    assert all(engine != case.dialect
               for case in cases.CASES for (cid, engine) in REFUSED if cid == case.id)


def test_the_feedback_lets_the_model_fix_a_date_difference_on_sqlite(databases, references, model):
    model.push(Reply("```sql\nSELECT AVG(graduation - admit_term) AS avg_days FROM students\n```"),
               Reply("```sql\nSELECT AVG(julianday(graduation) - julianday(admit_term)) AS avg_days FROM students\n```"))
    answer = qg.ask("Average days from admission to graduation", db=databases["sqlite"], model="openai/gpt-4o-mini",
                    api_base=model.base_url, tools="off", chart=False)
    assert answer.error is None, answer.error
    feedback = model.requests[-1]["messages"][-1]["content"]
    assert "TYPE_ERROR" in feedback and "julianday(a) - julianday(b)" in feedback
    assert cases.normalize(answer.df.itertuples(index=False, name=None)) == references["pg-avg-date-difference"]


@pytest.mark.parametrize("engine", ["sqlite", "duckdb", "postgres"])
def test_the_sql_shown_and_recorded_is_the_sql_that_ran_without_the_row_cap(engine, databases, model):
    from querygpt_jupyter.sql import guard
    from querygpt_jupyter.sql.execute import cap

    model.push(Reply("```sql\nSELECT TO_CHAR(paid_at, 'YYYY-MM') AS ym, COUNT(*) AS n FROM payments GROUP BY 1 ORDER BY 1\n```"))
    answer = qg.ask("Payments per month", db=databases[engine], model="openai/gpt-4o-mini", api_base=model.base_url,
                    tools="off", chart=False, max_rows=3)
    assert answer.error is None, answer.error
    dialect = {"postgres": "postgres"}.get(engine, engine)
    rendered = guard.render(guard.check(answer.sql, guard.GuardPolicy(dialect=dialect)), dialect)
    assert answer.sql == rendered
    assert answer.executed_sql == guard.render(cap(guard.check(answer.sql, guard.GuardPolicy(dialect=dialect)), 3), dialect)
    assert ("TO_CHAR" in answer.sql) == (engine == "postgres") and answer.truncated
    assert answer.to_dict()["sql"] == answer.sql
    from querygpt_jupyter.conversation import reproducible_cell

    assert reproducible_cell(answer, "db", "payments").endswith(answer.sql)


@pytest.mark.parametrize("sql, source", [
    ("SELECT TO_CHAR(d, 'YYYY') FROM t", "postgres"),
    ("SELECT x::date FROM t WHERE name ILIKE 'a%'", "postgres"),
    ("SELECT DATE_FORMAT(d, '%Y') FROM t", "mysql"),
    ("SELECT DATEDIFF(a, b) FROM t", "mysql"),
    ("SELECT DATE_ADD(d, INTERVAL 1 DAY) FROM t", "mysql"),
    ("SELECT strftime(d, '%Y') FROM t", "duckdb"),
    ("SELECT date_diff('day', a, b) FROM t", "duckdb"),
    ("SELECT datediff('day', a, b) FROM t", "duckdb"),
    ("SELECT strftime('%Y', d) FROM t", "sqlite"),
    ("SELECT COUNT(*) FROM t", "sqlite"),
])
def test_the_source_dialect_is_read_from_constructs_only_it_writes(sql, source):
    assert detect_source(sql, "sqlite") == source


@pytest.mark.parametrize("sql", ['SELECT YEAR("Date") FROM t', "SELECT YEAR(d), a || b FROM t"])
def test_text_that_mysql_would_read_otherwise_is_not_read_as_mysql(sql):
    assert detect_source(sql, "postgres") == "postgres"


@pytest.mark.parametrize("sql", ["SELECT x::date FROM t", "SELECT date_trunc('month', d) FROM t",
                                 "SELECT strftime(d, '%Y') FROM t WHERE name ILIKE 'a%'"])
def test_constructs_native_to_the_engine_do_not_change_how_it_reads(sql):
    assert detect_source(sql, "duckdb") == "duckdb"


# -- errors by their nature, from each engine ---------------------------------------------------

ERRORS = [
    # engine, SQL run as the user wrote it, code, words in the hint
    ("sqlite", "SELECT date_trunc('month', admit_term) FROM students", "UNKNOWN_FUNCTION", "date(d, 'start of month')"),
    ("sqlite", "SELECT to_char(admit_term, 'YYYY') FROM students", "UNKNOWN_FUNCTION", "strftime"),
    ("sqlite", "SELEC id FROM students", "SQL_SYNTAX_ERROR", "SELECT"),
    ("sqlite", "SELECT id FROM students WHERE", "SQL_SYNTAX_ERROR", ""),
    ("duckdb", "SELECT to_date(name, 'YYYY') FROM students", "UNKNOWN_FUNCTION", "strptime"),
    ("duckdb", "SELECT CAST(name AS INTEGER) FROM students", "TYPE_ERROR", "Cast"),
    ("duckdb", "SELECT admit_term + 'x' FROM students", "TYPE_ERROR", "Cast"),
    ("duckdb", "SELECT id FROM students WHERE", "SQL_SYNTAX_ERROR", ""),
    ("postgres", "SELECT date_format(admit_term, '%Y') FROM students", "UNKNOWN_FUNCTION", "TO_CHAR"),
    ("postgres", "SELECT admit_term + now() FROM students", "TYPE_ERROR", "Cast"),
    ("postgres", "SELECT CAST(name AS INTEGER) FROM students", "TYPE_ERROR", ""),
    ("postgres", "SELECT id FROM students WHERE", "SQL_SYNTAX_ERROR", ""),
    ("mysql", "SELECT julianday(admit_term) FROM students", "UNKNOWN_FUNCTION", "TO_DAYS"),
    ("mysql", "SELECT age(graduation, admit_term) FROM students", "UNKNOWN_FUNCTION", "TIMESTAMPDIFF"),
    ("mysql", "SELECT id FROM students WHERE", "SQL_SYNTAX_ERROR", ""),
]


@pytest.mark.parametrize("engine, sql, code, hint", ERRORS, ids=[f"{e[0]}-{e[2]}-{i}" for i, e in enumerate(ERRORS)])
def test_a_missing_function_a_type_error_and_a_syntax_error_are_told_apart(engine, sql, code, hint, databases):
    answer = qg.run_sql(sql, db=databases[engine])
    assert answer.error is not None and answer.error.label == code, answer.error
    assert answer.error.code in SPEC_CODES
    if code != "SQL_SYNTAX_ERROR":   # a missing function or a wrong type is never called a syntax error
        assert answer.error.code == "SCHEMA_ERROR"
    assert hint in answer.error.hint, answer.error.hint
    assert answer.error.exit_status == 4


def test_user_sql_whose_rendering_would_drop_an_argument_is_refused(databases):
    answer = qg.run_sql("SELECT to_char(admit_term, 'YYYY-MM') AS ym FROM students", db=databases["sqlite"])
    assert answer.error is not None and answer.error.label == "UNKNOWN_FUNCTION" and answer.error.code == "SCHEMA_ERROR"
    assert "format" in answer.error.message and "strftime" in answer.error.hint


def test_dates_kept_in_a_text_column_are_checked_like_dates():
    from querygpt_jupyter import errors
    from querygpt_jupyter.connections.catalog import Catalog, Column, Table
    from querygpt_jupyter.sql.schema_check import normalize_sql

    terms = Column("term", "TEXT", samples=("2020-09-01", "2021-01-15"))
    names = Column("name", "TEXT", samples=("Ada", "Grace"))
    catalog = Catalog("sqlite", "x", (Table("enrolments", (Column("id", "INTEGER"), terms, names)),))
    with pytest.raises(errors.SqlTypeError, match="julianday"):
        normalize_sql("SELECT MAX(term) - MIN(term) FROM enrolments", catalog)
    assert normalize_sql("SELECT name || '-' || id FROM enrolments", catalog)[0] == "SELECT name || '-' || id FROM enrolments"
