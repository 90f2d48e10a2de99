"""Charts: which shape a result gets (`choose`), what is drawn (`prepare_data`), and how it is shown
offline (`render`: Vega-Lite v5 key + SVG + text). Data comes from vega_datasets' offline copies,
shaped the way SQL results arrive (grouped frames; DuckDB's `date` and `Decimal` values)."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from vega_datasets import local_data

from querygpt_jupyter.charts.choose import ChartChoice, choose_chart, describe_chart, normalize_hint, prepare_data

VEGALITE = "application/vnd.vegalite.v5+json"
# vega_datasets 0.9 passes read_json an argument pandas 3 deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:The 'convert_dates' keyword")


# --- data ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cars():
    return local_data.cars()


@pytest.fixture(scope="module")
def stocks():
    return local_data.stocks()


@pytest.fixture(scope="module")
def weather():
    return local_data.seattle_weather()


@pytest.fixture(scope="module")
def barley():
    return local_data.barley()


@pytest.fixture(scope="module")
def iowa():
    return local_data.iowa_electricity()


def group(df, by, measure, how, name):
    """What `SELECT by…, HOW(measure) AS name … GROUP BY by…` returns."""
    return df.groupby(by, as_index=False).agg(**{name: (measure, how)})


@pytest.fixture(scope="module")
def hp_by_origin(cars):
    return group(cars, "Origin", "Horsepower", "mean", "AVG(Horsepower)")


@pytest.fixture(scope="module")
def cars_per_origin(cars):
    return group(cars, "Origin", "Name", "count", "n")


@pytest.fixture(scope="module")
def hp_by_name(cars):
    return group(cars, "Name", "Horsepower", "max", "max_hp")


# --- choose_chart: the rules --------------------------------------------------------------------

@pytest.mark.parametrize(
    "frame, x, x_type, color",
    [
        (lambda d: d["stocks"], "date", "temporal", "symbol"),
        (lambda d: d["weather"][["date", "temp_max"]], "date", "temporal", None),
        (lambda d: d["iowa"], "year", "temporal", "source"),
        (lambda d: group(d["barley"], "year", "yield", "sum", "total_yield"), "year", "ordinal", None),
        # SQLite returns dates as ISO text
        (lambda d: d["stocks"].assign(month=d["stocks"].date.dt.strftime("%Y-%m"))
                              .groupby("month", as_index=False).price.mean(), "month", "temporal", None),
    ],
    ids=["datetime-with-series", "datetime", "yearly-datetime", "integer-year", "iso-month-text"],
)
def test_time_on_x_gives_a_line(frame, x, x_type, color, stocks, weather, iowa, barley):
    df = frame({"stocks": stocks, "weather": weather, "iowa": iowa, "barley": barley})
    choice = choose_chart("how did it change over time?", df)
    assert (choice.mark, choice.x, choice.x_type, choice.color) == ("line", x, x_type, color)


def test_category_and_measure_give_bars_sorted_by_the_measure(hp_by_origin):
    choice = choose_chart("average horsepower by origin", hp_by_origin)
    assert (choice.mark, choice.x, choice.y, choice.sort) == ("bar", "Origin", "AVG(Horsepower)", "-y")
    data = prepare_data(choice, hp_by_origin)
    assert list(data["AVG(Horsepower)"]) == sorted(hp_by_origin["AVG(Horsepower)"], reverse=True)
    assert choice.note is None


@pytest.mark.parametrize("question", [
    "what share of cars comes from each origin?",
    "percentage of cars per origin",
    "proportion of cars by origin",
    "breakdown of cars by origin",
    "cars by origin as a pie",
])
def test_share_questions_give_a_pie(question, cars_per_origin):
    choice = choose_chart(question, cars_per_origin)
    assert (choice.mark, choice.x, choice.color, choice.y) == ("arc", None, "Origin", "n")


def test_share_question_with_many_categories_gives_bars(hp_by_name):
    choice = choose_chart("share of horsepower by car", hp_by_name)
    assert choice.mark == "bar"


def test_share_question_with_negative_values_gives_bars():
    df = pd.DataFrame({"region": ["North", "South", "East"], "profit": [120.0, -40.0, 15.0]})
    assert choose_chart("share of profit by region", df).mark == "bar"


def test_two_measures_and_no_category_give_a_scatter(cars):
    choice = choose_chart("horsepower and weight of cars", cars[["Weight_in_lbs", "Horsepower"]])
    assert (choice.mark, choice.x, choice.y, choice.x_type) == ("point", "Weight_in_lbs", "Horsepower", "quantitative")


@pytest.mark.parametrize(
    "df",
    [
        pd.DataFrame({"count_star()": [406]}),
        pd.DataFrame({"Origin": ["USA"], "avg_hp": [119.0], "n": [254]}),
        pd.DataFrame({"Name": ["a", "b", "c"], "Origin": ["USA", "Japan", "USA"]}),
        pd.DataFrame({"x": pd.Series([], dtype="float64"), "y": pd.Series([], dtype="float64")}),
    ],
    ids=["single-value", "single-row", "no-numeric-column", "empty"],
)
def test_no_chart_when_a_chart_would_not_help(df):
    assert choose_chart("how many?", df) is None


def test_many_categories_chart_the_top_n_and_say_so(hp_by_name):
    choice = choose_chart("most powerful cars", hp_by_name)
    total = hp_by_name.dropna()["Name"].nunique()     # cars without a horsepower have no bar
    assert choice.mark == "bar" and choice.x == "Name"
    assert choice.note == f"Showing the top 20 of {total} categories."
    data = prepare_data(choice, hp_by_name)
    assert len(data) == 20
    assert data["max_hp"].min() >= hp_by_name["max_hp"].nlargest(20).min()


@pytest.mark.parametrize(
    "hint, mark",
    [("line", "line"), ("as a line chart", "line"), ("pie", "arc"), ("arc", "arc"),
     ("scatter", "point"), ("point", "point"), ("bar", "bar")],
)
def test_hint_overrides_the_shape(hint, mark, cars_per_origin):
    assert choose_chart("cars per origin", cars_per_origin, hint=hint).mark == mark


def test_hint_bar_turns_a_time_series_into_bars(iowa):
    choice = choose_chart("generation per year", iowa, hint="bar")
    assert (choice.mark, choice.x, choice.color) == ("bar", "year", "source")


@pytest.mark.parametrize("hint", ["none", "no chart"])
def test_hint_none_means_no_chart(hint, hp_by_origin):
    assert choose_chart("average horsepower by origin", hp_by_origin, hint=hint) is None


def test_pie_hint_is_ignored_when_the_data_cannot_be_a_pie(hp_by_name):
    assert choose_chart("max horsepower by car", hp_by_name, hint="pie").mark == "bar"


def test_chart_words_in_the_question_act_as_a_hint(cars_per_origin):
    assert choose_chart("show cars per origin as a line chart", cars_per_origin).mark == "line"


@pytest.mark.parametrize("hint, mark", [("As a bar chart", "bar"), ("donut please", "arc"), ("table", None),
                                        ("scatterplot", "point"), ("something else", None), (None, None)])
def test_hint_words_are_normalized(hint, mark):
    assert normalize_hint(hint) == ({"table": "none"}.get(hint.lower(), mark) if hint else None)


@pytest.mark.parametrize(
    "by, marks",
    [(["year", "site"], {"line", "bar"}), (["site", "variety"], {"bar"})],
    ids=["year-and-site", "site-and-variety"],
)
def test_a_second_category_becomes_the_color(by, marks, barley):
    df = group(barley, by, "yield", "sum", "total_yield")
    choice = choose_chart("yield by " + " and ".join(by), df)
    assert choice.mark in marks
    assert {choice.x, choice.color} == set(by)


def test_integer_group_key_is_an_ordinal_axis_in_natural_order(cars):
    df = group(cars, "Cylinders", "Horsepower", "mean", "avg_hp")
    choice = choose_chart("average horsepower by cylinders", df)
    assert (choice.mark, choice.x, choice.x_type, choice.sort) == ("bar", "Cylinders", "ordinal", None)
    assert list(prepare_data(choice, df)["Cylinders"]) == [3, 4, 5, 6, 8]


def test_scatter_words_keep_an_integer_column_a_measure(cars):
    df = cars[["Cylinders", "Horsepower"]].drop_duplicates("Cylinders")
    assert choose_chart("cylinders vs horsepower", df).mark == "point"


def test_wide_frame_uses_first_sensible_category_and_first_measure(cars):
    wide = cars.drop(columns=["Year"])          # Name (~300 values) then Origin (3)
    choice = choose_chart("show me the cars", wide)
    assert (choice.mark, choice.x, choice.y, choice.aggregate) == ("bar", "Origin", "Miles_per_Gallon", "mean")
    assert choice.note.startswith("Averaged")
    assert len(prepare_data(choice, wide)) == 3


def test_wide_frame_with_time_gives_a_line_per_group(cars):
    choice = choose_chart("cars", cars)
    assert (choice.mark, choice.x, choice.color) == ("line", "Year", "Origin")


def test_category_named_in_the_question_is_the_axis(cars):
    df = cars[["Origin", "Name", "Horsepower"]]
    assert choose_chart("horsepower by name", df).x == "Name"
    assert choose_chart("horsepower", df).x == "Origin"


def test_measure_named_in_the_question_is_charted(cars):
    assert choose_chart("horsepower over the years", cars).y == "Horsepower"


# --- prepare_data: never more than max_rows ------------------------------------------------------

def _big(mark: str, n: int = 50_000) -> tuple[pd.DataFrame, str]:
    rng = np.random.default_rng(7)
    if mark == "line":
        return pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=n, freq="min"),
                             "load": rng.normal(50, 10, n).cumsum()}), "load over time"
    return pd.DataFrame({"latency": rng.gamma(2, 20, n), "size_kb": rng.normal(300, 50, n)}), "latency vs size"


@pytest.mark.parametrize("mark", ["line", "point"])
def test_large_results_are_sampled_deterministically_with_a_note(mark):
    df, question = _big(mark)
    choice = choose_chart(question, df, max_rows=5000)
    assert choice.mark == mark
    data = prepare_data(choice, df, max_rows=5000)
    assert len(data) <= 5000
    assert choice.note == f"Sampled {len(data):,} of 50,000 rows."
    assert prepare_data(choice, df, max_rows=5000).equals(data)


def test_prepare_data_respects_a_small_max_rows(hp_by_name):
    choice = choose_chart("most powerful cars", hp_by_name, max_rows=10)
    assert len(prepare_data(choice, hp_by_name, max_rows=10)) <= 10


def test_line_series_are_capped_with_a_note(stocks):
    many = pd.concat([stocks.assign(symbol=stocks.symbol + str(i)) for i in range(3)], ignore_index=True)
    choice = choose_chart("prices", many)
    assert choice.color == "symbol"
    assert prepare_data(choice, many)["symbol"].nunique() == 10
    assert "top 10 of 15 symbol values" in choice.note


def test_duckdb_dates_and_decimals_are_charted(stocks):
    import duckdb
    con = duckdb.connect()
    con.register("stocks", stocks)
    df = con.sql("SELECT CAST(date AS DATE) AS day, SUM(CAST(price * 100 AS BIGINT)) AS cents "
                 "FROM stocks GROUP BY 1 ORDER BY 1").to_arrow_table().to_pandas()
    assert df["day"].dtype == object and df["cents"].dtype == object   # date and Decimal objects
    choice = choose_chart("total price per day", df)
    assert (choice.mark, choice.x_type) == ("line", "temporal")
    data = prepare_data(choice, df)
    assert pd.api.types.is_datetime64_any_dtype(data["day"]) and data["cents"].dtype == "float64"


def test_choice_to_dict_is_json_and_round_trips(hp_by_name):
    choice = choose_chart("most powerful cars", hp_by_name)
    assert ChartChoice.from_dict(json.loads(json.dumps(choice.to_dict()))) == choice


def test_description_is_one_line(hp_by_origin):
    choice = choose_chart("average horsepower by origin", hp_by_origin)
    assert describe_chart(choice, 3) == "Bar chart of AVG(Horsepower) by Origin (3 bars)"


# --- render: the offline mimebundle --------------------------------------------------------------

@pytest.fixture(scope="module")
def render():
    from querygpt_jupyter.charts import render

    render.warm_up()
    return render


def _bundle(render, question, df, hint=None):
    choice = choose_chart(question, df, hint=hint)
    data = prepare_data(choice, df)
    return choice, data, render.spec_mimebundle(render.build_spec(choice, data), describe_chart(choice, len(data)))


def test_mimebundle_has_spec_svg_and_text(render, hp_by_origin):
    _, _, bundle = _bundle(render, "average horsepower by origin", hp_by_origin)
    assert set(bundle) == {VEGALITE, "image/svg+xml", "text/plain"}
    assert bundle["text/plain"] == "Bar chart of AVG(Horsepower) by Origin (3 bars)"


def test_spec_is_json_with_schema_and_inline_values(render, stocks):
    choice, data, bundle = _bundle(render, "prices", stocks)
    spec = bundle[VEGALITE]
    json.dumps(spec, allow_nan=False)
    assert spec["$schema"] == "https://vega.github.io/schema/vega-lite/v5.json"   # the version of its mimetype
    assert "datasets" not in spec and len(spec["data"]["values"]) == len(data)
    assert spec["data"]["values"][0]["date"] == "2000-01-01T00:00:00"


def test_spec_turns_nan_into_null(render):
    data = pd.DataFrame({"site": ["a", "b", "c"], "yield": [1.5, float("nan"), 2.0], "n": [1, 2, None]})
    values = render.build_spec(ChartChoice("bar", "site", "yield", title="Yield"), data)["data"]["values"]
    assert values[1]["yield"] is None and values[2]["n"] is None


@pytest.mark.parametrize(
    "question, hint, mark",
    [("average horsepower by origin", None, "bar"), ("share of cars by origin", None, "arc"),
     ("horsepower over the years", None, "line"), ("horsepower vs miles per gallon", None, "point")],
)
def test_svg_draws_each_mark_with_its_title(render, cars, question, hint, mark):
    df = {"bar": group(cars, "Origin", "Horsepower", "mean", "AVG(Horsepower)"),
          "arc": group(cars, "Origin", "Name", "count", "n"),
          "line": cars[["Year", "Horsepower"]],
          "point": cars[["Horsepower", "Miles_per_Gallon"]]}[mark]
    choice, _, bundle = _bundle(render, question, df, hint)
    assert choice.mark == mark
    svg = bundle["image/svg+xml"]
    assert svg.startswith("<svg") and choice.title in svg


def test_column_names_with_dots_are_not_nested_fields(render):
    data = pd.DataFrame({"t.site": ["a", "b"], "t.price": [10.0, 20.0]})
    spec = render.build_spec(ChartChoice("bar", "t.site", "t.price", sort="-y", title="Prices"), data)
    svg = render.spec_mimebundle(spec, "Bar chart")["image/svg+xml"]
    assert "t.price: 20" in svg       # the mark's aria-label carries the value it drew


def test_spec_is_not_limited_to_altair_default_5000_rows(render):
    df, question = _big("point", 8000)
    choice = choose_chart(question, df, max_rows=10_000)
    spec = render.build_spec(choice, prepare_data(choice, df, max_rows=10_000))
    assert len(spec["data"]["values"]) == 8000


def test_warm_up_returns_at_once(render):
    started = time.perf_counter()
    render.warm_up()
    assert time.perf_counter() - started < 0.1


def test_importing_render_loads_neither_altair_nor_vl_convert():
    code = ("import sys, querygpt_jupyter.charts.render, querygpt_jupyter.charts.choose; "
            "print(sorted(m for m in ('altair', 'vl_convert', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
