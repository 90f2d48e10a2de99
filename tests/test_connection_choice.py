"""Which connection a question goes to when several are visible (the demo database, DataFrames,
connection objects, named ones): where its tables and columns are; an explicit choice always
wins; an unclear one is asked in one sentence; every answer names its connection. Through the
magics in an IPython shell, and `ask()` in the same session."""
from __future__ import annotations

import os

import duckdb
import pandas as pd
import pytest
from IPython.utils.capture import capture_output

import querygpt_jupyter as qg
from querygpt_jupyter import errors
from conftest import loaded_shell

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
SALES = pd.DataFrame({"region": ["north", "south", "north", "east"], "amount": [10.0, 5.0, 2.5, 7.0]})


@pytest.fixture()
def shell(demo_path):
    with loaded_shell() as shell:
        yield shell


def run(shell, code):
    with capture_output() as captured:
        result = shell.run_cell(code)
    text = "\n".join(out.data.get("text/plain", "") for out in captured.outputs) + captured.stdout
    html = "".join(out.data.get("text/html", "") for out in captured.outputs)
    return result, text, html


def ask_cell(shell, question, options=""):
    return run(shell, f"%%ask --name result {options}\n{question}".replace("  ", " "))


def test_a_dataframe_answers_and_the_demo_still_does_in_either_order(shell):
    shell.user_ns["sales"] = SALES
    for order in (["frames", "demo"], ["demo", "frames"]):
        for which in order:
            if which == "frames":
                result, text, _ = ask_cell(shell, "Total amount per region")
                assert result.success, result.error_in_exec
                assert dict(shell.user_ns["result"].values.tolist()) == SALES.groupby("region")["amount"].sum().to_dict()
                assert "Connection: dataframes (DataFrames sales)" in text
            else:
                result, text, _ = ask_cell(shell, "Average horsepower by origin")
                assert result.success, result.error_in_exec
                assert sorted(shell.user_ns["result"].iloc[:, 0]) == ["Europe", "Japan", "USA"]
                assert "Connection: demo — chosen automatically" in text


def test_the_inserted_cell_names_the_connection_chosen(shell):
    shell.user_ns["sales"] = SALES
    run(shell, "%%ask\nTotal amount per region")
    assert shell.rl_next_input.startswith("%%ask --sql --conn dataframes ")
    run(shell, "%%ask\nAverage horsepower by origin")
    assert shell.rl_next_input.startswith("%%ask --sql --conn demo ")


def test_an_unclear_question_is_asked_back_in_one_sentence_naming_the_connections(shell):
    # a frame named like the demo's airports table, with the same kind of columns
    shell.user_ns["airports"] = pd.DataFrame({"city": ["Oslo", "Bergen"], "state": ["NO", "NO"]})
    result, text, _ = ask_cell(shell, "How many airports per state?")
    error = result.error_in_exec
    assert isinstance(error, errors.UsageError)
    assert "dataframes or demo" in error.message and "--conn NAME" in error.message
    assert error.message.count(".") == 1 and "Traceback" not in text


@pytest.mark.parametrize("how", ["--conn demo", "config"])
def test_an_explicit_choice_wins_over_the_question(shell, how):
    shell.user_ns["sales"] = SALES
    if how == "config":
        run(shell, "%config Ask.conn = 'demo'")
    result, text, _ = ask_cell(shell, "Total amount per region", "--conn demo" if how != "config" else "")
    assert isinstance(result.error_in_exec, errors.AgentFailure)     # the demo has no amounts per region
    assert "Connection: demo" in text and "chosen automatically" not in text


def test_conn_takes_a_dataframes_variable_name(shell):
    shell.user_ns["sales"] = SALES
    shell.user_ns["penguins"] = pd.read_csv(os.path.join(DATA, "penguins.csv"))
    result, text, _ = ask_cell(shell, "Total amount per region", "--conn sales")
    assert result.success and "Connection: sales" in text
    result, _, _ = ask_cell(shell, "How many penguins per island?", "--conn sales")
    assert isinstance(result.error_in_exec, errors.AgentFailure)   # only `sales` is visible through --conn sales


def test_a_follow_up_with_nothing_to_tell_stays_on_the_connection_in_use(shell):
    shell.user_ns["sales"] = SALES
    ask_cell(shell, "Average horsepower by origin")
    result, text, _ = run(shell, "%%ask --sql --name n\nSELECT 42 AS n")
    assert result.success and "Connection: demo" in text


def test_sql_goes_to_the_connection_that_has_its_tables(shell):
    shell.user_ns["sales"] = SALES
    result, text, _ = run(shell, "%%ask --sql --name t\nSELECT region, SUM(amount) AS total FROM sales GROUP BY region")
    assert result.success and "Connection: dataframes" in text
    result, text, _ = run(shell, "%%ask --sql --name t\nSELECT COUNT(*) AS n FROM cars")
    assert result.success and shell.user_ns["t"]["n"].tolist() == [406] and "Connection: demo" in text


def test_tables_lists_the_dataframes_and_the_demo(shell):
    shell.user_ns["penguins"] = pd.read_csv(os.path.join(DATA, "penguins.csv"))
    result, text, _ = run(shell, "%ask tables")
    assert result.success
    assert "Connection dataframes: 1 tables" in text and "penguins (344 rows)" in text and "body_mass_g" in text
    assert "Connection demo:" in text and "seattle_weather" in text
    result, text, _ = run(shell, "%ask tables --conn demo")
    assert "penguins" not in text and "seattle_weather" in text


def test_a_user_duckdb_connection_with_registered_frames_answers(shell):
    con = duckdb.connect()
    con.register("penguins", pd.read_csv(os.path.join(DATA, "penguins.csv")))
    shell.user_ns["con"] = con
    result, text, _ = ask_cell(shell, "How many penguins per island?")
    assert result.success, result.error_in_exec
    assert dict(shell.user_ns["result"].values.tolist()) == {"Biscoe": 168, "Dream": 124, "Torgersen": 52}
    assert "Connection: con" in text


@pytest.mark.parametrize("name", ["demo", "dataframes", "jupysql", "Demo"])
def test_connect_refuses_a_built_in_name(shell, shop_sqlite, name):
    result, text, _ = run(shell, f"%ask connect {shop_sqlite} --name {name}")
    assert isinstance(result.error_in_exec, errors.UsageError)
    assert "built-in" in result.error_in_exec.message and "choose another name" in result.error_in_exec.message
    result, text, _ = run(shell, "%%ask --sql --conn demo --name n\nSELECT COUNT(*) AS n FROM cars")
    assert result.success and shell.user_ns["n"]["n"].tolist() == [406]   # demo is still the demo


def test_a_file_named_like_a_built_in_gets_its_own_name(shell, shop_duckdb, tmp_path):
    path = tmp_path / "demo.duckdb"
    os.link(shop_duckdb, path)
    result, text, _ = run(shell, f"%ask connect {path}")
    assert result.success and "Connected demo_db" in text and str(path) in text
    result, text, _ = run(shell, "%%ask --sql --conn demo_db --name n\nSELECT COUNT(*) AS n FROM customers")
    assert result.success and shell.user_ns["n"]["n"].tolist() == [3]


def test_a_connected_database_answers_its_questions_next_to_dataframes(shell, shop_sqlite):
    shell.user_ns["penguins"] = pd.read_csv(os.path.join(DATA, "penguins.csv"))
    run(shell, f"%ask connect {shop_sqlite} --name shop")
    result, text, _ = ask_cell(shell, "How many customers per country?")
    assert result.success and "Connection: shop" in text
    result, text, _ = ask_cell(shell, "How many penguins per island?")
    assert result.success and "Connection: dataframes" in text


def test_ask_in_a_notebook_chooses_as_the_magic_does(shell):
    shell.user_ns["sales"] = SALES
    answer = qg.ask("Total amount per region")
    assert answer.error is None and answer.connection_name == "dataframes"
    assert answer.to_dict()["connection"] == "dataframes"
    answer = qg.ask("Average horsepower by origin")
    assert answer.error is None and answer.connection_name == "demo" and "horsepower" in answer.connection_reason
    assert qg.schema(SALES).tables[0].row_count == 4


def test_a_connection_that_cannot_be_opened_hides_no_other(shell, tmp_path):
    import sqlite3

    broken = sqlite3.connect(tmp_path / "x.sqlite")
    broken.close()
    shell.user_ns["old"] = broken
    shell.user_ns["sales"] = SALES
    result, text, _ = run(shell, "%ask tables")
    assert result.success and "Connection old: could not be opened" in text
    assert "sales (4 rows)" in text and "seattle_weather" in text
    result, text, _ = ask_cell(shell, "Total amount per region")      # nor break the choice for a question
    assert result.success and "Connection: dataframes" in text
