"""The offline planner on public databases it was not designed on, through `querygpt_jupyter.ask`.

Each row of benchmarks/data/public_questions.jsonl is (database, question, gold SQL, expect) over four public databases: an
expected answer must come back with the gold's rows (compared like the benchmark compares them),
an expected refusal must be an AGENT_FAILURE; a question marked "wrong" (none today) is left to
benchmarks/planner_public.py, which prints it. Small schemas built here pin the rules of issue 13:
flags used when their word is said, values read in the table whose name column holds them,
refusals naming the word left over, explanations naming every filter.
"""
from __future__ import annotations

import os
import sqlite3
import sys

import pytest

import querygpt_jupyter
from querygpt_jupyter.errors import AgentFailure

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.offline_planner import load_cases, same_result  # noqa: E402
from benchmarks.planner_public import DATA, database_path  # noqa: E402

CASES = [c for c in load_cases(DATA) if c["expect"] in ("answer", "refuse")]


def gold_rows(db: str, sql: str):
    import pandas as pd

    with sqlite3.connect(database_path(db)) as con:
        return pd.read_sql_query(sql, con)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['db']}: {c['q']}" for c in CASES])
def test_public_question_is_answered_like_the_gold_or_refused(case):
    answer = querygpt_jupyter.ask(case["q"], db=database_path(case["db"]))
    if case["expect"] == "refuse":
        assert isinstance(answer.error, AgentFailure), answer.sql
        return
    assert answer.error is None, answer.error
    assert same_result(answer.df, gold_rows(case["db"], case["sql"]), ordered=case.get("ordered", False),
                       subset_cols=case.get("subset_cols", False)), f"{answer.sql}\n{answer.df}"


def test_public_set_is_large_and_mostly_answered_right():
    everything = load_cases(DATA)
    assert len(everything) >= 60 and len({c["db"] for c in everything}) >= 2
    answered = [c for c in everything if c["expect"] != "refuse"]
    assert sum(c["expect"] == "answer" for c in answered) / len(answered) >= 0.98


# --- a yelp-like business table: flags ---------------------------------------------------------

BUSINESSES = [
    ("b1", "Tartine", "San Francisco", "CA", 1, 4.5), ("b2", "Zuni Cafe", "San Francisco", "CA", 1, 4.0),
    ("b3", "Old Diner", "San Francisco", "CA", 0, 3.0), ("b4", "Lou's", "Oakland", "CA", 1, 3.5),
    ("b5", "Gone Grill", "Oakland", "CA", 0, 2.5), ("b6", "Pike Fish", "Seattle", "WA", 1, 4.2),
]


# the tables and column types of the yelp schema of text2sql-data (data/yelp-schema.csv)
YELP_SCHEMA = [
    "CREATE TABLE business (bid INTEGER PRIMARY KEY, business_id varchar(255), name varchar(255), "
    "full_address varchar(255), city varchar(255), latitude varchar(255), longitude varchar(255), "
    "review_count bigint(20), is_open tinyint(1), rating float, state varchar(255))",
    "CREATE TABLE category (id INTEGER PRIMARY KEY, business_id varchar(255), category_name varchar(255))",
    "CREATE TABLE checkin (cid INTEGER PRIMARY KEY, business_id varchar(255), count int(11), day varchar(12))",
    "CREATE TABLE neighborhood (id INTEGER PRIMARY KEY, business_id varchar(255), neighborhood_name varchar(255))",
    "CREATE TABLE review (rid INTEGER PRIMARY KEY, business_id varchar(255), user_id varchar(255), rating float, "
    "text longtext, year int(11), month varchar(10))",
    "CREATE TABLE tip (tip_id INTEGER PRIMARY KEY, business_id varchar(255), text longtext, user_id varchar(255), "
    "likes int(11), year int(11), month varchar(10))",
    "CREATE TABLE user (uid INTEGER PRIMARY KEY, user_id varchar(255), name varchar(255))",
]


@pytest.fixture(scope="module")
def yelp(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("yelp") / "yelp.sqlite")
    with sqlite3.connect(path) as con:
        for statement in YELP_SCHEMA:
            con.execute(statement)
        con.executemany("INSERT INTO business (business_id, name, city, state, is_open, rating, review_count) "
                        "VALUES (?, ?, ?, ?, ?, ?, 10)", BUSINESSES)
        con.executemany("INSERT INTO category (business_id, category_name) VALUES (?, ?)",
                        [("b1", "Bakeries"), ("b2", "Restaurants"), ("b6", "Seafood")])
        con.executemany("INSERT INTO neighborhood (business_id, neighborhood_name) VALUES (?, ?)",
                        [("b1", "Mission"), ("b2", "Hayes Valley")])
        con.executemany("INSERT INTO review (business_id, user_id, rating, year) VALUES (?, ?, ?, ?)",
                        [("b1", "u1", 5.0, 2020), ("b3", "u2", 1.0, 2021)])
        con.executemany("INSERT INTO user (user_id, name) VALUES (?, ?)", [("u1", "Ann"), ("u2", "Raj")])
    return path


@pytest.mark.parametrize("question, expected", [
    ("How many open businesses are in San Francisco?", 2),
    ("How many businesses are open in San Francisco?", 2),
    ("How many businesses are open?", 4),
    ("Number of open businesses in Oakland", 1),
    ("How many businesses are in San Francisco?", 3),
    ("Average rating of open businesses in Oakland", 3.5),
])
def test_a_flag_word_filters_on_the_flag(yelp, question, expected):
    answer = querygpt_jupyter.ask(question, db=yelp)
    assert answer.error is None, answer.error
    assert answer.df.iloc[0, 0] == expected, answer.sql


def test_explanation_names_every_filter(yelp):
    answer = querygpt_jupyter.ask("How many open businesses are in San Francisco?", db=yelp)
    explanation = answer.plan_explanation or answer.explanation
    assert "is_open is 1" in explanation and "city is 'San Francisco'" in explanation


@pytest.mark.parametrize("question, word", [
    ("How many businesses near San Francisco?", "near"),
    ("How many businesses are on Market St in San Francisco?", "market"),
    ("Average rating of busy businesses", "busy"),
])
def test_refusal_names_the_word_it_could_not_use(yelp, question, word):
    answer = querygpt_jupyter.ask(question, db=yelp)
    assert isinstance(answer.error, AgentFailure), answer.sql
    assert f"'{word}" in answer.error.message.lower()


@pytest.mark.parametrize("ddl, rows, question, expected", [
    ("CREATE TABLE shops (name TEXT, active BOOLEAN)", [("a", True), ("b", False), ("c", True)],
     "How many active shops are there?", 2),
    ("CREATE TABLE shops (name TEXT, open_now TEXT)", [("a", "Y"), ("b", "N"), ("c", "N")],
     "How many shops are open now?", 1),
    ("CREATE TABLE shops (name TEXT, discontinued TEXT)", [("a", "1"), ("b", "0"), ("c", "1")],
     "How many shops are discontinued?", 2),
])
def test_boolean_and_yes_no_columns_are_flags_too(tmp_path, ddl, rows, question, expected):
    import duckdb

    path = str(tmp_path / "shops.duckdb")
    con = duckdb.connect(path)
    con.execute(ddl)
    con.executemany("INSERT INTO shops VALUES (?, ?)", rows)
    con.close()
    answer = querygpt_jupyter.ask(question, db=path)
    assert answer.error is None, answer.error
    assert answer.df.iloc[0, 0] == expected, answer.sql


# --- values in several tables ---------------------------------------------------------------

@pytest.mark.parametrize("question, table", [
    ("What is the population of Texas?", '"state"'),
    ("What is the area of Alaska?", '"state"'),
    ("What is the population of Houston?", '"city"'),
    ("How many cities are in Texas?", '"city"'),
])
def test_an_entity_question_reads_the_table_whose_name_column_holds_the_value(question, table):
    answer = querygpt_jupyter.ask(question, db=database_path("geography"))
    assert answer.error is None, answer.error
    assert f"FROM {table}" in answer.sql


def test_a_value_that_names_a_row_of_another_table_is_ambiguous():
    answer = querygpt_jupyter.ask("How many tracks has Queen?", db=database_path("chinook"))
    assert isinstance(answer.error, AgentFailure), answer.sql
    assert "Queen" in answer.error.message and "Artist" in answer.error.message


# --- a table's noun as another table's `<noun>_name` column ----------------------------------

@pytest.fixture(scope="module")
def staff(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("staff") / "staff.sqlite")
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE department (department_name TEXT, budget REAL)")
        con.execute("CREATE TABLE employee (employee_name TEXT, department_name TEXT, salary REAL)")
        con.executemany("INSERT INTO department VALUES (?, ?)", [("Sales", 10.0), ("Research", 20.0), ("Legal", 5.0)])
        con.executemany("INSERT INTO employee VALUES (?, ?, ?)", [
            ("Ada", "Research", 90.0), ("Bo", "Research", 80.0), ("Cy", "Research", 70.0),
            ("Di", "Sales", 50.0), ("Ed", "Sales", 40.0), ("Flo", "Legal", 60.0)])
    return path


@pytest.mark.parametrize("question, gold", [
    ("Which department has the most employees?",
     "SELECT department_name FROM employee GROUP BY department_name ORDER BY COUNT(*) DESC LIMIT 1"),
    ("How many employees are there in each department?",
     "SELECT department_name, COUNT(*) FROM employee GROUP BY department_name"),
    ("Average salary of employees per department",
     "SELECT department_name, AVG(salary) FROM employee GROUP BY department_name"),
])
def test_a_named_table_that_is_a_name_column_of_the_other_is_that_column(staff, question, gold):
    import pandas as pd

    answer = querygpt_jupyter.ask(question, db=staff)
    assert answer.error is None, answer.error
    with sqlite3.connect(staff) as con:
        want = pd.read_sql_query(gold, con)
    assert same_result(answer.df, want, subset_cols=True), answer.sql


# --- one thing over several rows ---------------------------------------------------------------

@pytest.fixture(scope="module")
def waters(tmp_path_factory) -> str:
    """river: one row per state a river crosses (its length repeated); boat: two boats may share
    a name and differ."""
    path = str(tmp_path_factory.mktemp("waters") / "waters.sqlite")
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE river (river_name TEXT, length INTEGER, traverse TEXT)")
        con.executemany("INSERT INTO river VALUES (?, ?, ?)", [
            ("ohio", 1579, "ohio"), ("ohio", 1579, "indiana"), ("red", 2076, "texas"), ("pecos", 1300, "texas")])
        con.execute("CREATE TABLE boat (boat_name TEXT, length INTEGER, port TEXT)")
        con.executemany("INSERT INTO boat VALUES (?, ?, ?)", [
            ("Molly", 12, "Dover"), ("Molly", 30, "Calais"), ("Ark", 50, "Dover")])
    return path


@pytest.mark.parametrize("question, expected", [
    ("How many rivers are there?", None),
    ("How many rivers are in Texas?", 2),
    ("How many boats are there?", 3),
])
def test_counting_rows_that_spread_one_thing_is_refused(waters, question, expected):
    answer = querygpt_jupyter.ask(question, db=waters)
    if expected is None:
        assert isinstance(answer.error, AgentFailure) and "river_name" in answer.error.message, answer.sql
    else:
        assert answer.error is None, answer.error
        assert answer.df.iloc[0, 0] == expected, answer.sql


def test_explanation_names_each_filter_with_its_table_across_a_join():
    answer = querygpt_jupyter.ask("How many products are discontinued in Beverages?", db=database_path("northwind"))
    assert answer.error is None, answer.error
    explanation = answer.plan_explanation or answer.explanation
    assert "Products.Discontinued is '1'" in explanation and "Categories.CategoryName is 'Beverages'" in explanation
