"""The offline planner finds a named value in the values index: a value that is not among a
column's few samples (a city among 500), typed in another case, or of several words, gets a WHERE
filter with the stored spelling — and a value the index does not hold is still refused."""
from __future__ import annotations

import sqlite3
from dataclasses import replace
from itertools import product

import pytest

from querygpt_jupyter.agent.offline import OfflinePlanner
from querygpt_jupyter.connections.introspect import introspect
from querygpt_jupyter.connections.resolve import open_connection
from querygpt_jupyter.errors import AgentFailure
from querygpt_jupyter.sql.execute import run_blocking

PREFIXES = ("North", "South", "East", "West", "Lake", "Port", "Mount", "New", "Fort", "Glen", "Upper", "Lower",
            "Old", "Little", "Great", "Saint", "Green", "Red", "Stone", "Silver", "Golden", "Iron", "Oak", "Pine",
            "Cedar")
SUFFIXES = ("Haven", "Ridge", "Falls", "Brook", "Field", "Vale", "Harbor", "Springs", "Crossing", "Hollow",
            "Meadow", "Point", "Bay", "Heights", "Grove", "Landing", "Creek", "Mills", "Rock", "Ford")
CITIES = [f"{p} {s}" for p, s in product(PREFIXES, SUFFIXES)] + ["Houston"]   # 501 distinct cities
NAMED = {"Port Haven": 3, "Houston": 5, "Cedar Ford": 4}                      # frequent: in the index


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """A real SQLite file: stores in 501 distinct cities, too many for samples."""
    path = tmp_path_factory.mktemp("values") / "stores.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE stores (id INTEGER PRIMARY KEY, city TEXT, sales REAL)")
    rows = [(city, 10.0 + i) for i, city in enumerate(CITIES)]
    rows += [(city, 100.0 * k) for city, n in NAMED.items() for k in range(1, n + 1)]
    con.executemany("INSERT INTO stores (city, sales) VALUES (?, ?)", rows)
    con.commit()
    con.close()
    adapter = open_connection(str(path), ())
    return adapter, introspect(adapter)


def test_named_cities_are_in_the_values_index_but_not_in_the_samples(stores):
    _, catalog = stores
    city = catalog.table("stores").column("city")
    assert city.samples == ()
    assert set(NAMED) <= set(catalog.values["stores"]["city"])


@pytest.mark.parametrize("question, city", [
    ("How many stores are in Houston?", "Houston"),                # one word, as stored
    ("How many stores are in houston?", "Houston"),                # case-folded
    ("How many stores are in HOUSTON?", "Houston"),
    ("Total sales of stores in Port Haven", "Port Haven"),         # several words
    ("Total sales of stores in port haven", "Port Haven"),         # several words, case-folded
    ("Average sales in cedar ford", "Cedar Ford"),
])
def test_a_value_from_the_index_is_filtered_with_its_stored_spelling(stores, question, city):
    adapter, catalog = stores
    plan = OfflinePlanner().plan(question, catalog, None)   # no probe: the index alone finds it
    assert f"'{city}'" in plan.sql and "WHERE" in plan.sql
    result = run_blocking(adapter, plan.sql, 30)
    assert len(result) == 1
    if question.startswith("How many"):
        assert result.iloc[0, 0] == NAMED[city] + 1   # its frequent rows and the one of the 501


@pytest.mark.parametrize("question", [
    "How many stores are in Houston?",
    "Total sales of stores in port haven",
])
def test_without_the_values_index_the_value_is_unknown(stores, question):
    _, catalog = stores
    with pytest.raises(AgentFailure):
        OfflinePlanner().plan(question, replace(catalog, values=None), None)


@pytest.mark.parametrize("question", [
    "How many stores are in Atlantis?",        # not stored at all
    "Total sales of stores in port",           # a word of a value is not the value (no token matches)
    "How many stores are in haven ridge?",     # words of values in another order
])
def test_a_phrase_the_index_does_not_spell_is_refused(stores, question):
    _, catalog = stores
    with pytest.raises(AgentFailure):
        OfflinePlanner().plan(question, catalog, None)


def test_several_words_of_one_stored_value_name_it(tmp_path):
    """`new york` is 'New York City' when no value is spelled `new york` and no other holds the run."""
    path = tmp_path / "trips.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE trips (id INTEGER PRIMARY KEY, city TEXT, fare REAL)")
    cities = [f"{p} {s}" for p, s in product(PREFIXES[:10], SUFFIXES[:5])] + ["New York City", "Glen Cove North", "Glen Cove South"]
    con.executemany("INSERT INTO trips (city, fare) VALUES (?, ?)",
                    [(c, 1.0) for c in cities] + [("New York City", 2.0)] * 4)
    con.commit()
    con.close()
    adapter = open_connection(str(path), ())
    catalog = introspect(adapter)
    plan = OfflinePlanner().plan("How many trips in new york?", catalog, None)
    assert plan.sql.endswith("""WHERE "city" = 'New York City'""")
    assert run_blocking(adapter, plan.sql, 30).iloc[0, 0] == 5
    for question in ("How many trips in glen cove?",   # two stored values hold `glen cove`
                     "How many trips in york?"):      # one word of a value is not the value
        with pytest.raises(AgentFailure):
            OfflinePlanner().plan(question, catalog, None)
