"""DataFrames answer questions: introspected like tables (types, row counts, samples), every pandas
dtype an analyst meets, through `ask()`, `run_sql()` and `schema()`; the offline planner answers
realistic questions about public data sets (Palmer penguins, Chinook) right — checked against
pandas — or refuses."""
from __future__ import annotations

import os

import duckdb
import numpy as np
import pandas as pd
import pytest

import querygpt_jupyter as qg

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def load(name: str, **kwargs) -> pd.DataFrame:
    return pd.read_csv(os.path.join(DATA, name), **kwargs)


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return load("penguins.csv")


@pytest.fixture(scope="module")
def chinook() -> dict[str, pd.DataFrame]:
    return {"invoices": load("chinook_invoices.csv", parse_dates=["InvoiceDate"]),
            "customers": load("chinook_customers.csv"), "genres": load("chinook_genres.csv"),
            "tracks": load("chinook_tracks.csv")}


# -- introspection ------------------------------------------------------------------------------

def test_schema_of_a_dataframe_has_columns_types_rows_and_samples(penguins):
    catalog = qg.schema(penguins)
    (table,) = catalog.tables
    assert table.name == "df" and table.row_count == len(penguins) == 344
    types = {c.name: c.type for c in table.columns}
    assert types == {"species": "VARCHAR", "island": "VARCHAR", "bill_length_mm": "DOUBLE", "bill_depth_mm": "DOUBLE",
                     "flipper_length_mm": "DOUBLE", "body_mass_g": "DOUBLE", "sex": "VARCHAR", "year": "BIGINT"}
    assert set(table.column("species").samples) == set(penguins["species"].unique())
    assert set(table.column("sex").samples) == set(penguins["sex"].dropna().unique())


def test_a_dict_of_dataframes_is_one_catalogue_named_by_its_keys(chinook):
    catalog = qg.schema(chinook)
    assert sorted(t.name for t in catalog.tables) == ["customers", "genres", "invoices", "tracks"]
    assert {t.name: t.row_count for t in catalog.tables} == {name: len(f) for name, f in chinook.items()}
    assert catalog.table("invoices").column("InvoiceDate").type == "TIMESTAMP"


def _one_column(series: pd.Series):
    frame = pd.DataFrame({"c": series})
    column = qg.schema({"t": frame}).tables[0].column("c")
    result = qg.run_sql("SELECT c FROM t", db={"t": frame})
    assert result.error is None, result.error
    return column, result.df["c"]


DTYPES = [
    # (case, series, SQL type shown, samples kept as values?)
    ("object strings", pd.Series(["north", "south", None, "north"], dtype=object), "VARCHAR", True),
    ("pandas 3 str", pd.Series(["north", "south", None, "north"], dtype="str"), "VARCHAR", True),
    ("string[python]", pd.Series(["north", "south", None, "north"], dtype="string[python]"), "VARCHAR", True),
    ("string[pyarrow]", pd.Series(["north", "south", None, "north"], dtype="string[pyarrow]"), "VARCHAR", True),
    ("categorical", pd.Series(pd.Categorical(["north", "south", None, "north"])), "ENUM", True),
    ("nullable Int64", pd.Series([1, None, 3, 4], dtype="Int64"), "BIGINT", False),
    ("nullable boolean", pd.Series([True, None, False, True], dtype="boolean"), "BOOLEAN", False),
    ("int64[pyarrow]", pd.Series([1, None, 3, 4], dtype="int64[pyarrow]"), "BIGINT", False),
    ("naive datetime", pd.Series(pd.date_range("2024-01-01", periods=4)), "TIMESTAMP", False),
]


@pytest.mark.parametrize("case, series, sql_type, text", DTYPES, ids=[c[0] for c in DTYPES])
def test_each_dtype_maps_to_a_sql_type_and_round_trips(case, series, sql_type, text):
    column, values = _one_column(series)
    assert column.type == sql_type
    if text:
        assert set(column.samples) == {"north", "south"}
    assert values.isna().sum() == series.isna().sum()
    assert list(values.dropna()) == list(series.dropna())   # nullable ints may come back as floats: equal values


def test_a_categorical_with_many_categories_is_not_spelled_out_in_the_type():
    column, values = _one_column(pd.Series(pd.Categorical([f"v{i}" for i in range(2_000)])))
    assert column.type == "ENUM" and len(values) == 2_000


def test_datetimes_with_a_time_zone_stay_in_that_zone():
    stamps = pd.Series(pd.date_range("2024-03-01 22:30", periods=4, freq="h", tz="Europe/Paris"))
    frame = pd.DataFrame({"at": stamps, "n": [1, 2, 3, 4]})
    assert qg.schema({"t": frame}).tables[0].column("at").type == "TIMESTAMP WITH TIME ZONE"
    by_day = qg.run_sql("SELECT CAST(at AS DATE) AS day, SUM(n) AS n FROM t GROUP BY day ORDER BY day", db={"t": frame})
    expected = frame.groupby(frame["at"].dt.date)["n"].sum()
    assert by_day.df["n"].tolist() == expected.tolist() == [3, 7]     # days as Paris sees them, not UTC
    back = qg.run_sql("SELECT at FROM t", db={"t": frame}).df["at"]
    assert str(back.dt.tz) == "Europe/Paris" and back.tolist() == stamps.tolist()


@pytest.mark.parametrize("case, series, sql_type, check", [
    ("period", pd.Series(pd.period_range("2024-01", periods=3, freq="M")), "TIMESTAMP",
     lambda v: [str(x.date()) for x in v] == ["2024-01-01", "2024-02-01", "2024-03-01"]),
    ("interval", pd.Series(pd.interval_range(0, 3)), "VARCHAR", lambda v: list(v) == ["(0, 1]", "(1, 2]", "(2, 3]"]),
    ("complex", pd.Series(np.array([1 + 2j, 3j, 1])), "VARCHAR", lambda v: len(v) == 3),
    ("sparse", pd.Series(pd.arrays.SparseArray([0, 0, 5])), "BIGINT", lambda v: list(v) == [0, 0, 5]),
])
def test_dtypes_duckdb_cannot_scan_are_converted_not_refused(case, series, sql_type, check):
    column, values = _one_column(series)
    assert column.type == sql_type and check(values)


def test_a_named_index_is_a_column():
    totals = pd.DataFrame({"region": ["n", "s", "n"], "amount": [1.0, 2.0, 4.0]}).groupby("region").sum()
    answer = qg.run_sql("SELECT region, amount FROM totals ORDER BY region", db={"totals": totals})
    assert answer.df.values.tolist() == [["n", 5.0], ["s", 2.0]]


def test_column_labels_become_distinct_sql_names():
    wide = pd.DataFrame([[1, 2, 3, 4]], columns=pd.MultiIndex.from_tuples([("sales", "sum"), ("sales", "mean"), (2024, ""), ("Sales", "sum")]))
    names = [c.name for c in qg.schema({"w": wide}).tables[0].columns]
    assert names == ["sales_sum", "sales_mean", "2024", "Sales_sum_1"]
    assert qg.run_sql('SELECT "sales_mean", "2024" FROM w', db={"w": wide}).df.values.tolist() == [[2, 3]]


def test_frames_are_catalogued_per_frame_not_from_a_stale_cache():
    first = pd.DataFrame({"city": ["a", "b"], "n": [1, 2]})
    second = pd.DataFrame({"city": ["x", "y", "z"], "n": [1, 2, 3]})
    assert qg.schema({"sales": first}).tables[0].row_count == 2
    catalog = qg.schema({"sales": second})
    assert catalog.tables[0].row_count == 3 and set(catalog.tables[0].column("city").samples) == {"x", "y", "z"}


def test_frames_registered_on_the_analysts_duckdb_connection_are_tables(penguins):
    con = duckdb.connect()
    con.register("penguins", penguins)
    con.execute("CREATE TABLE notes AS SELECT 1 AS id")
    assert sorted(t.name for t in qg.schema(con).tables) == ["notes", "penguins"]
    answer = qg.ask("How many penguins per island?", db=con)
    assert answer.error is None, answer.error
    assert dict(answer.df.values.tolist()) == penguins.groupby("island").size().to_dict()
    refused = qg.run_sql("DROP VIEW penguins", db=con)
    assert refused.error.code == "PERMISSION_DENIED"
    assert con.execute("SELECT count(*) FROM penguins").fetchone()[0] == 344


# -- the offline planner on public data ---------------------------------------------------------

def _mean(frame, by, column):
    return frame.groupby(by)[column].mean().to_dict()


PENGUIN_QUESTIONS = [
    ("How many penguins per species?", lambda p: p.groupby("species").size().to_dict()),
    ("Average body mass per species", lambda p: _mean(p, "species", "body_mass_g")),
    ("Average bill length by species", lambda p: _mean(p, "species", "bill_length_mm")),
    ("Average flipper length mm by island", lambda p: _mean(p, "island", "flipper_length_mm")),
    ("Maximum body mass g per species", lambda p: p.groupby("species")["body_mass_g"].max().to_dict()),
    ("How many female penguins per island?", lambda p: p[p.sex == "female"].groupby("island").size().to_dict()),
    ("Which species has the highest average body mass?", lambda p: dict([max(_mean(p, "species", "body_mass_g").items(), key=lambda kv: kv[1])])),
]


@pytest.mark.parametrize("question, expected", PENGUIN_QUESTIONS, ids=[q for q, _ in PENGUIN_QUESTIONS])
def test_penguin_questions_are_answered_right(question, expected, penguins):
    answer = qg.ask(question, db={"penguins": penguins})
    assert answer.error is None, answer.error
    got = {row[0]: row[-1] for row in answer.df.values.tolist()}
    want = expected(penguins)
    assert got.keys() == want.keys()
    assert all(got[k] == pytest.approx(want[k]) for k in want)


@pytest.mark.parametrize("question, expected", [
    ("How many Gentoo penguins are there?", lambda p: (p.species == "Gentoo").sum()),
    ("Average bill depth mm of male Adelie penguins", lambda p: p[(p.sex == "male") & (p.species == "Adelie")].bill_depth_mm.mean()),
    ("Average body mass of Chinstrap penguins", lambda p: p[p.species == "Chinstrap"].body_mass_g.mean()),
])
def test_penguin_figures_are_answered_right(question, expected, penguins):
    answer = qg.ask(question, db={"penguins": penguins})
    assert answer.error is None, answer.error
    assert answer.df.iloc[0, -1] == pytest.approx(expected(penguins))


CHINOOK_QUESTIONS = [
    ("How many invoices per billing country?", lambda c: c["invoices"].groupby("BillingCountry").size().to_dict()),
    ("Number of customers per country", lambda c: c["customers"].groupby("Country").size().to_dict()),
    ("Which country has the most customers?", lambda c: {c["customers"].Country.value_counts().idxmax(): c["customers"].Country.value_counts().max()}),
    ("How many tracks per genre id?", lambda c: c["tracks"].groupby("GenreId").size().to_dict()),
]


@pytest.mark.parametrize("question, expected", CHINOOK_QUESTIONS, ids=[q for q, _ in CHINOOK_QUESTIONS])
def test_chinook_questions_are_answered_right(question, expected, chinook):
    answer = qg.ask(question, db=chinook)
    assert answer.error is None, answer.error
    got = {row[0]: row[-1] for row in answer.df.values.tolist()}
    assert got == {k: int(v) for k, v in expected(chinook).items()}


def test_a_count_with_a_value_is_answered_right(chinook):
    answer = qg.ask("How many customers are in Brazil?", db=chinook)
    assert answer.error is None and answer.df.iloc[0, 0] == (chinook["customers"].Country == "Brazil").sum() == 5


@pytest.mark.parametrize("question", [
    "Median flipper length of penguins",              # no median: not an average
    "How many penguins weigh more than 4000 g?",      # a comparison it cannot read
    "Average length by species",                      # bill or flipper?
    "Total sales per genre",                          # no sales column in Chinook's genres
])
def test_questions_beyond_the_planner_are_refused_not_guessed(question, penguins, chinook):
    answer = qg.ask(question, db={"penguins": penguins, **chinook})
    assert answer.error is not None and answer.error.code == "AGENT_FAILURE" and answer.sql is None


# -- the model agent ----------------------------------------------------------------------------

def test_the_model_is_given_the_frames_schema_and_its_sql_runs_on_them(penguins):
    from fakes.openai_server import Reply, ScriptedOpenAIServer

    sql = 'SELECT species, ROUND(AVG(body_mass_g)) AS mass FROM penguins WHERE sex = \'female\' GROUP BY species ORDER BY species'
    with ScriptedOpenAIServer([Reply(f"```sql\n{sql}\n```")]) as server:
        answer = qg.ask("Average mass of female penguins per species, rounded", db={"penguins": penguins},
                        model="openai/gpt-4o-mini", api_base=server.base_url, tools="off")
        system = server.requests[0]["messages"][0]["content"]
    assert "CREATE TABLE penguins" in system and "body_mass_g DOUBLE" in system and "344 rows" in system
    assert '"Adelie"' in system                      # sample values of the frame's text columns
    assert answer.error is None, answer.error
    female = penguins[penguins.sex == "female"].groupby("species")["body_mass_g"].mean().round()
    assert answer.df.values.tolist() == [[k, v] for k, v in female.items()]


def test_a_frame_changed_in_place_is_catalogued_again():
    frame = pd.DataFrame({"region": ["north", "south", "north"], "amount": [1.0, 2.0, 3.0]})
    assert set(qg.schema({"sales": frame}).tables[0].column("region").samples) == {"north", "south"}
    frame["region"] = frame["region"].str.upper()
    assert set(qg.schema({"sales": frame}).tables[0].column("region").samples) == {"NORTH", "SOUTH"}
    answer = qg.ask("Total amount in NORTH", db={"sales": frame})
    assert answer.error is None and answer.df.iloc[0, 0] == 4.0


def test_an_unnamed_time_index_is_a_column_and_a_row_number_is_not():
    series = pd.DataFrame({"v": [1, 2, 3]}, index=pd.date_range("2024-01-01", periods=3))
    filtered = pd.DataFrame({"v": [1, 2, 3]}).iloc[[0, 2]]           # an integer index left by a filter
    assert [c.name for c in qg.schema({"s": series}).tables[0].columns] == ["index", "v"]
    assert [c.name for c in qg.schema({"f": filtered}).tables[0].columns] == ["v"]
