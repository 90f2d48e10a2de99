"""`connections.choose`: the one place that picks a connection for a question, as a table of
cases over real catalogues (DataFrames of public data sets and the demo database)."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from querygpt_jupyter import errors
from querygpt_jupyter.connections.choose import Candidate, choose
from querygpt_jupyter.connections.resolve import from_object, open_connection

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
SALES = pd.DataFrame({"region": ["north", "south"], "amount": [1.0, 2.0]})


def frames(**named: pd.DataFrame):
    return lambda: from_object(named, (), "dataframes")


def broken():
    raise errors.DbConnFail("The server is down.")


@pytest.fixture(scope="module")
def candidates(demo_path):
    penguins = pd.read_csv(os.path.join(DATA, "penguins.csv"))
    invoices = pd.read_csv(os.path.join(DATA, "chinook_invoices.csv"))
    customers = pd.read_csv(os.path.join(DATA, "chinook_customers.csv"))
    return {
        "shop": Candidate("shop", frames(sales=SALES)),
        "zoo": Candidate("zoo", frames(penguins=penguins)),
        "chinook": Candidate("chinook", frames(invoices=invoices, customers=customers)),
        "down": Candidate("down", broken),
        "demo": Candidate("demo", lambda: open_connection("demo", ()), own=False),
    }


CASES = [
    # (visible, question, preferred, chosen — or "ask")
    ("shop zoo demo", "Total amount per region", None, "shop"),
    ("shop zoo demo", "Average body mass per species", None, "zoo"),          # demo's iris has species too
    ("shop zoo demo", "Average petal length by species", None, "demo"),       # petal length: only iris
    ("shop zoo demo", "Average horsepower by origin", "zoo", "demo"),         # a clear winner beats the one in use
    ("chinook demo", "How many customers per country?", None, "chinook"),     # demo's airports have a country
    ("chinook demo", "Number of invoices in Germany", None, "chinook"),       # a sample value counts
    ("zoo demo", "How many rows are there?", None, "zoo"),                    # no signal: the analyst's only data
    ("shop zoo demo", "How many rows are there?", None, "ask"),               # no signal, two sources of data
    ("shop zoo demo", "How many rows are there?", "zoo", "zoo"),              # no signal: the one in use
    ("shop chinook demo", "Total sales in Europe", None, "ask"),              # a tie: sales (shop) vs Europe (demo)
    ("down zoo demo", "How many penguins per island?", None, "zoo"),          # a connection that fails is left out
    ("demo", "How many penguins per island?", None, "demo"),                  # the only one
]


@pytest.mark.parametrize("visible, question, preferred, chosen", CASES, ids=[f"{c[1]} [{c[0]}]" for c in CASES])
def test_a_question_goes_where_its_tables_and_columns_are(candidates, visible, question, preferred, chosen):
    pool = [candidates[name] for name in visible.split()]
    if chosen == "ask":
        with pytest.raises(errors.UsageError) as info:
            choose(pool, question=question, preferred=preferred)
        assert "--conn NAME" in info.value.message and all(n in info.value.message for n in ("shop",))
        return
    choice = choose(pool, question=question, preferred=preferred)
    assert choice.name == chosen and choice.adapter is not None and choice.reason


@pytest.mark.parametrize("sql, chosen", [
    ("SELECT region, SUM(amount) FROM sales GROUP BY region", "shop"),
    ("WITH t AS (SELECT * FROM cars) SELECT COUNT(*) FROM t", "demo"),
    ("SELECT * FROM penguins JOIN sales ON true", "ask"),                    # no connection has both
])
def test_sql_goes_to_the_connection_that_has_every_table_it_reads(candidates, sql, chosen):
    pool = [candidates["shop"], candidates["zoo"], candidates["demo"]]
    if chosen == "ask":
        with pytest.raises(errors.UsageError):
            choose(pool, question=sql, sql=True)
    else:
        assert choose(pool, question=sql, sql=True).name == chosen


def test_an_explicit_choice_wins_and_says_so(candidates):
    choice = choose(list(candidates.values()), question="Total amount per region", explicit="demo",
                    explicit_how="%config Ask.conn")
    assert choice.name == "demo" and not choice.automatic and choice.reason == "chosen with %config Ask.conn"


def test_an_unknown_explicit_name_is_a_usage_error_listing_the_known_ones(candidates):
    with pytest.raises(errors.UsageError) as info:
        choose([candidates["shop"], candidates["demo"]], question="x", explicit="nope")
    assert "nope" in info.value.message and "shop, demo" in info.value.hint


def test_the_question_back_names_every_candidate_in_one_sentence(candidates):
    with pytest.raises(errors.UsageError) as info:
        choose([candidates["shop"], candidates["zoo"], candidates["chinook"]], question="How many rows are there?")
    assert info.value.message == "This question could be for shop, zoo or chinook: say which with --conn NAME."
