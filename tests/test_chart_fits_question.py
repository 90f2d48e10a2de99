"""The chart fits the question and the result, end to end: questions asked of the demo database
through `querygpt_jupyter.ask` with the offline planner, and the Vega-Lite spec that comes back in
`answer.to_dict()["chart"]` — read from its encoding, not from what the chooser meant to draw."""
from __future__ import annotations

import pytest

import querygpt_jupyter
from querygpt_jupyter.charts.render import VEGALITE_SCHEMA

pytestmark = pytest.mark.filterwarnings("ignore:The 'convert_dates' keyword")

# question -> (mark, x: the axis or the slices' category, y: the measure), None = no chart.
# Each line is one rule of issue 13; the comment names it.
CASES = [
    # a ranked list: the ranked measure as a sorted bar per label (the name-like column)
    ("Top 5 cars by Horsepower", ("bar", "Name", "Horsepower")),
    ("5 lowest cars by weight", ("bar", "Name", "Weight_in_lbs")),
    ("top 10 cars by miles per gallon", ("bar", "Name", "Miles_per_Gallon")),
    ("Top 3 origins by average horsepower", ("bar", "Origin", "avg_Horsepower")),
    # ranked rows whose names repeat: still one bar per row (repeats numbered), never summed
    ("Top 40 cars by horsepower", ("bar", "Name", "Horsepower")),
    # rows listed with SELECT *: no measure the question names, no chart
    ("Show cars from Japan", None),
    ("How many cars are there?", None),
    # a measure over time per series: a line per series, never stacked bars
    ("Average price per date for each symbol", ("line", "date", "avg_price")),
    ("Average price per date for each symbol as a bar chart", ("line", "date", "avg_price")),
    # a long monthly series is a line, not 123 bars
    ("Average price per date in stocks", ("line", "date", "avg_price")),
    # years stored as dates read as years
    ("Number of cars per year", ("line", "Year", "count")),
    ("How many cars per year as a bar chart", ("bar", "Year", "count")),
    # share: counts per group drawn as a pie with percentages
    ("Share of cars by origin", ("arc", "Origin", "count")),
    ("Percentage of cars by origin", ("arc", "Origin", "count")),
    ("Number of cars per origin as a pie", ("arc", "Origin", "count")),
    # a kind of chart asked for: drawn when the data allows, else a note says why not
    ("Average price by symbol as a line chart", ("line", "symbol", "avg_price")),
    ("Average horsepower by origin as a pie", ("bar", "Origin", "avg_Horsepower")),
    # category and measure: bars sorted by the measure
    ("Average horsepower by origin", ("bar", "Origin", "avg_Horsepower")),
]


@pytest.fixture(scope="module")
def answers():
    cache: dict[str, object] = {}

    def answer(question: str):
        if question not in cache:
            cache[question] = querygpt_jupyter.ask(question, db="demo")
        return cache[question]

    return answer


def encoded(spec: dict | None) -> tuple[str, str, str] | None:
    """(mark, category or x field, measure field) as the spec draws them."""
    if spec is None:
        return None
    layers = spec.get("layer") or [spec]
    mark = layers[0]["mark"]
    mark = mark["type"] if isinstance(mark, dict) else mark
    enc = spec["encoding"]
    if mark == "arc":
        return mark, enc["color"]["field"], enc["theta"]["field"]
    if mark == "bar" and enc["x"]["type"] == "quantitative":    # bars drawn across
        return mark, enc["y"]["field"], enc["x"]["field"]
    return mark, enc["x"]["field"], enc["y"]["field"]


@pytest.mark.parametrize("question, expected", CASES, ids=[q for q, _ in CASES])
def test_chart_fits_the_question(answers, question, expected):
    answer = answers(question)
    assert answer.error is None, answer.error
    assert encoded(answer.to_dict()["chart"]) == expected


@pytest.mark.parametrize("question", [q for q, e in CASES if e is not None])
def test_chart_draws_only_columns_of_the_result_and_a_measure_the_query_chose(answers, question):
    answer = answers(question)
    spec = answer.to_dict()["chart"]
    fields = {e["field"] for e in spec["encoding"].values() if isinstance(e, dict) and "field" in e}
    assert fields <= set(answer.df.columns)
    _, _, measure = encoded(spec)
    words = question.lower()
    assert measure.lower() in answer.sql.lower() or measure.lower().replace("_", " ") in words


@pytest.mark.parametrize("question, order", [("Top 5 cars by Horsepower", "descending"),
                                             ("5 lowest cars by weight", "ascending")])
def test_ranked_bars_keep_the_order_of_the_ranking(answers, question, order):
    spec = answers(question).to_dict()["chart"]
    _, label, measure = encoded(spec)
    category = next(e for e in spec["encoding"].values() if isinstance(e, dict) and e.get("field") == label)
    assert category["sort"] in ({"descending": "-x", "ascending": "x"}[order], {"descending": "-y", "ascending": "y"}[order])
    values = [row[measure] for row in spec["data"]["values"]]
    assert values == sorted(values, reverse=order == "descending")


def test_series_over_time_are_coloured_lines_not_stacked(answers):
    spec = answers("Average price per date for each symbol").to_dict()["chart"]
    assert spec["encoding"]["color"]["field"] == "symbol"
    assert "stack" not in spec["encoding"]["y"]


@pytest.mark.parametrize("question, says", [
    ("Average price per date for each symbol as a bar chart", "Not a bar chart: 123 date values are too many bars"),
    ("Average horsepower by origin as a pie", "Not a pie chart: avg_Horsepower holds averages"),
])
def test_a_chart_asked_for_but_not_drawn_says_why(answers, question, says):
    note = answers(question).chart_note
    assert note and note.startswith(says)


@pytest.mark.parametrize("question, unit, fmt", [("Number of cars per year", None, "%Y"),
                                                 ("How many cars per year as a bar chart", "year", "%Y")])
def test_years_stored_as_dates_read_as_years_on_the_axis(answers, question, unit, fmt):
    x = answers(question).to_dict()["chart"]["encoding"]["x"]
    assert x["axis"]["format"] == fmt
    assert x.get("timeUnit") == unit


def test_years_stored_as_dates_read_as_years_in_the_sentence(answers):
    explanation = answers("Number of cars per year").explanation
    assert "Highest: 1982 (61)" in explanation and "00:00" not in explanation


def test_share_pie_prints_percentages(answers):
    spec = answers("Share of cars by origin").to_dict()["chart"]
    text = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "text")
    assert text["encoding"]["text"] == {"field": "__share", "type": "quantitative", "format": ".0%"}


@pytest.mark.parametrize("question", [q for q, e in CASES if e is not None])
def test_schema_is_the_version_of_the_mimetype(answers, question):
    assert answers(question).to_dict()["chart"]["$schema"] == VEGALITE_SCHEMA


@pytest.mark.parametrize("question", [q for q, e in CASES if e is not None])
def test_spec_draws_with_the_oldest_vega_lite_5_we_can_run(answers, question):
    """JupyterLab 4.6 bundles Vega-Lite 5.6: the spec may use nothing newer than 5."""
    import vl_convert

    spec = answers(question).to_dict()["chart"]
    svg = vl_convert.vegalite_to_svg(spec, vl_version="5.8", allowed_base_urls=[])
    title = spec["title"]["text"]
    assert svg.startswith("<svg") and all(line in svg for line in ([title] if isinstance(title, str) else title))


@pytest.mark.parametrize("width", [200, 250, 320, 560])
@pytest.mark.parametrize("question", [q for q, e in CASES if e is not None])
def test_chart_drawn_for_a_width_fits_it_with_text_of_at_least_10_px(answers, question, width):
    """The sidebar's case: drawn at the width it is shown at, nothing is scaled down."""
    import re

    from querygpt_jupyter.charts.render import resized, spec_to_svg

    svg = spec_to_svg(resized(answers(question).to_dict()["chart"], width))
    drawn = float(re.search(r'<svg[^>]* width="([\d.]+)"', svg).group(1))
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)(?:px)?"', svg)]
    assert drawn <= width + 1
    assert sizes and min(sizes) >= 10


@pytest.mark.parametrize("question, says", [
    ("Show cars from Japan as a bar chart", "Not a bar chart: the result has no column of numbers the question asks about"),
    ("How many cars are there as a pie chart", "Not a pie chart: the answer is a single row"),
])
def test_a_chart_asked_for_with_nothing_to_draw_says_why(answers, question, says):
    answer = answers(question)
    assert answer.to_dict()["chart"] is None and answer.chart_note.startswith(says)


def test_ranked_rows_with_repeated_names_keep_one_bar_each(answers):
    answer = answers("Top 40 cars by horsepower")
    values = answer.to_dict()["chart"]["data"]["values"]
    names = [row["Name"] for row in values]
    assert len(values) == 20 and len(set(names)) == 20          # repeats told apart, none summed
    assert [row["Horsepower"] for row in values] == list(answer.df["Horsepower"].head(20))
    assert answer.chart_note == "Showing the top 20 of 40 categories."
    assert answer.df["Name"].duplicated().any()                 # names repeat: the case this is about


def test_ranked_list_without_a_label_draws_no_chart():
    import pandas as pd

    from querygpt_jupyter.charts.choose import choose_chart

    rows = pd.DataFrame({"Origin": ["USA", "USA", "Japan"], "Horsepower": [230.0, 225.0, 200.0],
                         "Weight": [4000, 3900, 3000]})
    assert choose_chart("top 3 cars by horsepower", rows, sql='SELECT * FROM cars ORDER BY "Horsepower" DESC LIMIT 3') is None


def test_repeated_labels_of_ranked_rows_are_numbered_not_summed():
    import pandas as pd

    from querygpt_jupyter.charts.choose import choose_chart, prepare_data

    rows = pd.DataFrame({"Name": ["ford pinto", "amc gremlin", "ford pinto"], "Horsepower": [90.0, 88.0, 86.0]})
    choice = choose_chart("top 3 cars by horsepower", rows)
    data = prepare_data(choice, rows)
    assert list(data["Name"]) == ["ford pinto", "amc gremlin", "ford pinto (2)"]
    assert list(data["Horsepower"]) == [90.0, 88.0, 86.0]


def test_sql_without_a_question_may_chart_any_column(demo_path):
    answer = querygpt_jupyter.run_sql("SELECT * FROM stocks", db=demo_path)
    assert encoded(answer.to_dict()["chart"]) == ("line", "date", "price")
