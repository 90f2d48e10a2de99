"""The offline planner (`querygpt/offline`): right answers or honest refusals, never a guess.

Answers are checked by running the planner's SQL and a reference SQL on the demo database and
comparing result sets (the benchmark's comparison: order-insensitive unless ordered, column names
ignored, floats with a tolerance).
"""
from __future__ import annotations

import os
import sys

import pytest

from querygpt_jupyter.agent.offline import OfflinePlanner, Plan, make_probe
from querygpt_jupyter.connections.catalog import Catalog, Column, ForeignKey, Table
from querygpt_jupyter.connections.introspect import introspect
from querygpt_jupyter.errors import AgentFailure
from querygpt_jupyter.sql.execute import run_blocking

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.offline_planner import Demo, evaluate, load_cases, same_result, summary  # noqa: E402

DEV_CASES = load_cases()
planner = OfflinePlanner()


@pytest.fixture(scope="session")
def world(demo):
    """The demo database as the pipeline sees it: catalogue, a probe, and a way to run SQL."""
    return Demo(demo, introspect(demo), make_probe(lambda sql: run_blocking(demo, sql, 30), demo.dialect))


def answers_like(world, question: str, reference: str, *, ordered=False, subset_cols=False) -> Plan:
    plan = planner.plan(question, world.catalog, world.probe)
    got, want = world.run(plan.sql), world.run(reference)
    assert same_result(got, want, ordered=ordered, subset_cols=subset_cols), f"{plan.sql}\n{got}\n!=\n{want}"
    return plan


def assert_refused_with_model_hint(world, question: str) -> AgentFailure:
    with pytest.raises(AgentFailure) as caught:
        planner.plan(question, world.catalog, world.probe)
    assert "configure a model" in caught.value.hint and "openai/gpt-4o-mini" in caught.value.hint
    return caught.value


# --- the dev set ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", DEV_CASES, ids=[c["q"] for c in DEV_CASES])
def test_dev_question_is_answered_right_or_refused(world, case):
    try:
        plan = planner.plan(case["q"], world.catalog, world.probe)
    except AgentFailure as refusal:
        assert "configure a model" in refusal.hint
        return
    got, want = world.run(plan.sql), world.run(case["sql"])
    options = {"ordered": case.get("ordered", False), "subset_cols": case.get("subset_cols", False)}
    assert same_result(got, want, **options), plan.sql


def test_dev_set_meets_precision_and_coverage_targets(world):
    precision, coverage = summary(evaluate(world, DEV_CASES, planner))
    assert precision >= 0.95 and coverage >= 0.70


# --- questions not in the dev set ------------------------------------------------------------

UNSEEN = [
    ("What is the average price of AAPL in stocks?", "SELECT AVG(price) FROM stocks WHERE symbol = 'AAPL'", False),
    ("How many cars from Japan?", "SELECT COUNT(*) FROM cars WHERE Origin = 'Japan'", False),
    ("Total precipitation per weather type", "SELECT weather, SUM(precipitation) FROM seattle_weather GROUP BY weather", False),
    ("Top 3 sites by total yield in barley",
     "SELECT site, SUM(yield) AS t FROM barley GROUP BY site ORDER BY t DESC LIMIT 3", True),
    ("Minimum sepal width of virginica", "SELECT MIN(sepalWidth) FROM iris WHERE species = 'virginica'", False),
    ("How many distinct symbols are in stocks?", "SELECT COUNT(DISTINCT symbol) FROM stocks", False),
    ("Count of cars per cylinders", "SELECT Cylinders, COUNT(*) FROM cars GROUP BY Cylinders", False),
    ("What is the highest wind in seattle weather?", "SELECT MAX(wind) FROM seattle_weather", False),
    ("List the distinct origins of cars", "SELECT DISTINCT Origin FROM cars", False),
    ("Which origin has the most cars?",
     "SELECT Origin, COUNT(*) AS n FROM cars GROUP BY Origin ORDER BY n DESC LIMIT 1", True),
    ("Average horsepower of cars with 4 cylinders from Japan",
     "SELECT AVG(Horsepower) FROM cars WHERE Cylinders = 4 AND Origin = 'Japan'", False),
    ("How many cars from USA or Japan?", "SELECT COUNT(*) FROM cars WHERE Origin IN ('USA', 'Japan')", False),
    ("Average mpg by origin", "SELECT Origin, AVG(Miles_per_Gallon) FROM cars GROUP BY Origin", False),
    ("How many airports in Chicago?", "SELECT COUNT(*) FROM airports WHERE city = 'Chicago'", False),
    ("Average penicillin of gram negative bacteria",
     "SELECT AVG(Penicillin) FROM burtin WHERE Gram_Staining = 'negative'", False),
    ("Total net generation from nuclear energy",
     "SELECT SUM(net_generation) FROM iowa_electricity WHERE source = 'Nuclear Energy'", False),
    ("Average yield at University Farm by year",
     "SELECT year, AVG(yield) FROM barley WHERE site = 'University Farm' GROUP BY year", False),
    ("Average Y of series II in anscombe", "SELECT AVG(Y) FROM anscombe WHERE Series = 'II'", False),
    ("Lowest 3 temps in sf temps", "SELECT temp FROM sf_temps ORDER BY temp LIMIT 3", True),
]


@pytest.mark.parametrize("question, reference, ordered", UNSEEN, ids=[u[0] for u in UNSEEN])
def test_unseen_question_is_answered_right(world, question, reference, ordered):
    answers_like(world, question, reference, ordered=ordered, subset_cols=True)


# --- refusals ------------------------------------------------------------------------------

REFUSED = [
    ("Write me a poem about the ocean", "no table"),
    ("Median horsepower of cars", "an aggregate it lacks"),
    ("Standard deviation of price by symbol", "an aggregate it lacks"),
    ("Average horsepower of cars per airport state", "a join"),
    ("How many airports and cars are there?", "two tables"),
    ("Average price per month in stocks", "time bucketing"),
    ("Average temp", "two tables fit"),
    ("Average temp in seattle weather", "temp_max or temp_min"),
    ("How many cars have more than 6 cylinders?", "a comparison"),
    ("How many cars have at least 6 cylinders?", "a comparison"),
    ("How many cars are not from USA?", "a negation"),
    ("Average horsepower of European cars", "an unknown modifier"),
    ("What is the total precipitation in 2014?", "a number it cannot place"),
    ("What percentage of cars are from USA?", "a ratio"),
    ("Top 5 cars", "nothing to rank by"),
    ("Average yield of cars from Japan", "a column of another table"),
    ("How many homicides in la riots?", "a plural that may be the value Homicide or the rows"),
    ("Number of deaths in crimea", "rows of months are not deaths"),
    ("Drop table cars", "not a question"),
    ("How many rows?", "no table"),
]


@pytest.mark.parametrize("question, why", REFUSED, ids=[r[0] for r in REFUSED])
def test_refuses_with_a_hint_to_configure_a_model(world, question, why):
    assert_refused_with_model_hint(world, question)


def test_refusal_names_the_ambiguous_columns(world):
    refusal = assert_refused_with_model_hint(world, "Average temp in seattle weather")
    assert "temp_max" in refusal.message and "temp_min" in refusal.message


def test_without_a_probe_only_sample_and_indexed_values_are_known(world):
    assert "Houston" in world.catalog.values["airports"]["city"]          # among the 100 most frequent
    plan = planner.plan("How many airports are in the city of Houston?", world.catalog, None)
    assert plan.sql.endswith("""WHERE "city" = 'Houston'""")
    assert "Reno" not in world.catalog.values["airports"]["city"]         # one of 2,674: neither sampled nor indexed
    with pytest.raises(AgentFailure):
        planner.plan("How many airports are in the city of Reno?", world.catalog, None)
    plan = planner.plan("How many cars from Japan?", world.catalog, None)
    assert "'Japan'" in plan.sql


# --- the SQL and the plan ------------------------------------------------------------------

def test_sql_quotes_identifiers_and_names_aggregates(world):
    plan = planner.plan("Average horsepower by origin", world.catalog, world.probe)
    assert plan.sql == ('SELECT "Origin", AVG("Horsepower") AS "avg_Horsepower" FROM "cars" '
                        'GROUP BY "Origin" ORDER BY "Origin" ASC')


def test_explanation_says_what_the_query_computes(world):
    plan = planner.plan("How many cars from USA?", world.catalog, world.probe)
    assert plan.explanation == "Counts the rows of cars where Origin is 'USA'."


@pytest.mark.parametrize("question, hint", [
    ("Average horsepower by origin", None),                        # the chart chooser reads the rows
    ("Total net generation per year in iowa electricity", None),
    ("Average price per date for each symbol", None),              # never a "bar" that stacks series
    ("How many cars are there?", "none"),
    ("Average price by symbol as a line chart", "line"),
    ("Average horsepower by origin as a bar chart", "bar"),
])
def test_chart_hint_is_none_for_a_value_or_what_the_question_asks(world, question, hint):
    assert planner.plan(question, world.catalog, world.probe).chart_hint == hint


def test_sql_is_rendered_in_the_catalogue_dialect():
    catalog = Catalog("mysql", "f", (Table("cars", (
        Column("Origin", "VARCHAR", samples=("USA", "Japan")), Column("Horsepower", "DOUBLE"))),))
    plan = planner.plan("Average horsepower of cars from USA", catalog)
    assert plan.sql == "SELECT AVG(`Horsepower`) AS `avg_Horsepower` FROM `cars` WHERE `Origin` = 'USA'"


SHOP = Catalog("sqlite", "f", (
    Table("customers", (Column("id", "INTEGER", primary_key=True), Column("name", "TEXT"),
                        Column("country", "TEXT", samples=("UK", "US", "FI")))),
    Table("orders", (Column("id", "INTEGER", primary_key=True), Column("customer_id", "INTEGER"),
                     Column("amount", "REAL")),
          foreign_keys=(ForeignKey(("customer_id",), "customers", ("id",)),)),
))


def test_refuses_a_question_that_needs_a_join():
    with pytest.raises(AgentFailure, match="several tables"):
        planner.plan("How many orders per customer?", SHOP)


def test_a_column_named_after_another_table_is_not_a_join():
    plan = planner.plan("Average amount per customer id", SHOP)
    assert plan.sql.startswith('SELECT "customer_id", AVG("amount") AS "avg_amount" FROM "orders" GROUP BY "customer_id"')


def test_probe_returns_values_with_their_stored_case(world):
    assert world.probe("airports", "city", ["houston", "nowhere at all"]) == ["Houston"]


def test_probe_is_called_at_most_once_per_text_column(world):
    calls = []

    def counting(table, column, candidates):
        calls.append((table, column))
        return world.probe(table, column, candidates)

    planner.plan("How many airports are in the city of Houston?", world.catalog, counting)
    assert len(calls) == len(set(calls)) <= sum(c.is_text for c in world.catalog.table("airports").columns)


# --- the comparison the benchmark and these tests rely on -----------------------------------

def test_result_comparison_ignores_row_order_and_names_but_not_values():
    import pandas as pd

    got = pd.DataFrame({"Origin": ["USA", "Japan"], "avg": [1.0, 2.0000000001]})
    assert same_result(got, pd.DataFrame({"o": ["Japan", "USA"], "a": [2.0, 1.0]}))
    assert not same_result(got, pd.DataFrame({"o": ["Japan", "USA"], "a": [2.0, 1.0]}), ordered=True)
    assert not same_result(got, pd.DataFrame({"o": ["USA", "Japan"], "a": [1.0, 2.5]}))
    assert same_result(got, pd.DataFrame({"a": [2.0, 1.0]}), subset_cols=True)
    assert not same_result(got, pd.DataFrame({"a": [2.0, 1.0]}))


@pytest.mark.parametrize("question, group", [
    ("Share of cars by origin", "Origin"),
    ("Percentage of cars by origin", "Origin"),
    ("proportion of cars per cylinders", "Cylinders"),
])
def test_share_per_group_is_a_count_per_group(world, question, group):
    plan = planner.plan(question, world.catalog, world.probe)
    assert plan.sql == (f'SELECT "{group}", COUNT(*) AS "count" FROM "cars" GROUP BY "{group}" '
                        f'ORDER BY "{group}" ASC')


@pytest.mark.parametrize("question", [
    "Share of cars",                          # a share of what?
    "What share of cars are from Japan",      # a part over the whole: not a count
    "share of cars from Japan by year",
    "Share of cars by origin and cylinders",
])
def test_share_of_a_part_is_refused_not_counted(world, question):
    with pytest.raises(AgentFailure, match="share"):
        planner.plan(question, world.catalog, world.probe)
