"""`%ask` / `%%ask` in an IPython shell: outputs, the inserted cell, names, connections, config."""
from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from IPython.utils.capture import capture_output

from querygpt_jupyter import errors
from querygpt_jupyter.faces.magics import reproducible_cell, variable_name
from conftest import loaded_shell

VEGALITE = "application/vnd.vegalite.v5+json"


@pytest.fixture()
def shell(demo_path):
    with loaded_shell() as shell:
        yield shell


def run(shell, code):
    with capture_output() as captured:
        result = shell.run_cell(code)
    return result, captured


def mimetypes(captured):
    return [set(out.data) for out in captured.outputs]


def test_cell_magic_shows_answer_chart_and_table(shell):
    result, captured = run(shell, "%%ask\nAverage horsepower by origin")
    assert result.success, result.error_in_exec
    html = "".join(out.data.get("text/html", "") for out in captured.outputs)
    assert "Europe" in html and "<table" in html and "SQL" in html
    chart = next(out for out in captured.outputs if VEGALITE in out.data)
    assert chart.data["image/svg+xml"].lstrip().startswith("<svg") and "Origin" in chart.data["text/plain"]


def test_cell_magic_inserts_a_reproducible_cell(shell):
    run(shell, "%%ask\nAverage horsepower by origin")
    inserted = shell.rl_next_input
    assert inserted.startswith("%%ask --sql --conn demo --name ")
    assert "-- Average horsepower by origin" in inserted and "AVG" in inserted.upper()
    result, captured = run(shell, inserted)
    assert result.success
    name = inserted.split("--name ")[1].split()[0]
    assert list(shell.user_ns[name].columns)[0] == "Origin" and len(shell.user_ns[name]) == 3
    assert any(VEGALITE in out.data for out in captured.outputs)


def test_the_inserted_cell_needs_no_model(shell):
    run(shell, "%%ask\nHow many cars per origin?")
    inserted = shell.rl_next_input
    shell.rl_next_input = None
    run(shell, "%config Ask.model = 'openai/unreachable'")
    result, _ = run(shell, inserted)
    assert result.success and shell.rl_next_input is None  # SQL cells do not insert more cells


def test_name_binds_the_dataframe_right_away(shell):
    result, _ = run(shell, "%%ask --name by_origin\nHow many cars per origin?")
    assert result.success
    frame = shell.user_ns["by_origin"]
    assert isinstance(frame, pd.DataFrame) and sorted(frame.iloc[:, 0]) == ["Europe", "Japan", "USA"]
    assert "--name by_origin" in shell.rl_next_input


def test_line_magic_answers_a_question(shell):
    result, captured = run(shell, "%ask How many cars are there?")
    assert result.success and "406" in "".join(out.data.get("text/html", "") for out in captured.outputs)


def test_a_refusal_is_one_line_not_a_traceback(shell):
    result, captured = run(shell, "%%ask --sql\nDROP TABLE cars")
    assert isinstance(result.error_in_exec, errors.PermissionDenied)
    assert "Traceback" not in captured.stdout and "PERMISSION_DENIED" in captured.stdout


def test_config_options_apply(shell):
    run(shell, "%config Ask.max_rows = 5")
    result, captured = run(shell, "%%ask --sql --name five\nSELECT * FROM cars")
    assert result.success and len(shell.user_ns["five"]) == 5
    assert "truncated" in "".join(out.data.get("text/html", "") for out in captured.outputs)


def test_no_chart_option(shell):
    _, captured = run(shell, "%%ask --no-chart\nAverage horsepower by origin")
    assert not any(VEGALITE in out.data for out in captured.outputs)


def test_developer_view_shows_timings_and_model(shell):
    _, captured = run(shell, "%%ask --view developer\nAverage horsepower by origin")
    html = "".join(out.data.get("text/html", "") for out in captured.outputs)
    assert "querygpt/offline" in html and "executing" in html and " ms" in html


def test_connect_and_tables(shell, shop_sqlite):
    result, captured = run(shell, f"%ask connect {shop_sqlite} --name shop")
    assert result.success and "Connected shop" in captured.outputs[0].data["text/plain"]
    result, captured = run(shell, "%ask tables")
    text = captured.outputs[0].data["text/plain"]
    assert "customers" in text and "orders" in text and "FK (customer_id)" in text
    result, _ = run(shell, "%%ask --sql --name n_orders\nSELECT count(*) AS n FROM orders")
    assert shell.user_ns["n_orders"]["n"].tolist() == [3]


def test_namespace_connections_are_discovered(shell, shop_sqlite):
    shell.user_ns["con"] = sqlite3.connect(shop_sqlite)
    result, _ = run(shell, "%%ask --sql --name names\nSELECT name FROM customers ORDER BY id")
    assert result.success and shell.user_ns["names"]["name"].tolist() == ["Ada", "Grace", "Linus"]


def test_namespace_dataframes_are_queryable_by_name(shell):
    shell.user_ns["sales"] = pd.DataFrame({"region": ["n", "s", "n"], "amount": [1, 2, 3]})
    result, _ = run(shell, "%%ask --sql --name totals\nSELECT region, SUM(amount) AS total FROM sales GROUP BY region ORDER BY region")
    assert result.success and shell.user_ns["totals"]["total"].tolist() == [4, 2]


def test_results_bound_by_querygpt_do_not_replace_the_demo_as_default(shell):
    run(shell, "%%ask --name by_origin\nHow many cars per origin?")
    result, _ = run(shell, "%%ask --sql --name again\nSELECT count(*) AS n FROM cars")
    assert result.success and shell.user_ns["again"]["n"].tolist() == [406]


def test_model_subcommand_sets_the_model(shell):
    _, captured = run(shell, "%ask model querygpt/offline")
    assert "querygpt/offline" in captured.outputs[0].data["text/plain"]


@pytest.mark.parametrize("question, name", [
    ("How many cars per origin?", "cars_origin"),
    ("Average horsepower by origin", "average_horsepower_origin"),
    ("Top 5 cars by weight in lbs", "top_5_cars_weight"),
    ("2019 sales", "q_2019_sales"),
    ("?", "result"),
])
def test_variable_names_come_from_the_question(question, name):
    assert variable_name(question) == name


def test_reproducible_cell_has_question_header_and_sql():
    from querygpt_jupyter.answer import Answer

    cell = reproducible_cell(Answer(question="How many?", sql="SELECT 1"), "demo", "how_many")
    assert cell.splitlines() == ["%%ask --sql --conn demo --name how_many --no-chart", "-- How many?", "SELECT 1"]
