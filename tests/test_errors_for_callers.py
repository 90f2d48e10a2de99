"""Errors say what happened, in the caller's own terms: a misspelt query is a syntax error, not a
refusal; a bad --db gets one clean sentence; hints use the syntax of the face the user is on
(CLI flags, magics, Python arguments); a question in another language is told so."""
from __future__ import annotations

import pytest
from IPython.utils.capture import capture_output

import querygpt_jupyter as qg
from querygpt_jupyter import errors
from querygpt_jupyter.agent.language import language_of
from conftest import loaded_shell
from test_cli import querygpt


@pytest.mark.parametrize("sql, suggestion", [
    ("SELEC * FROM cars", "Did you mean SELECT?"),
    ("slect 1", "Did you mean SELECT?"),
    ("WTIH t AS (SELECT 1) SELECT * FROM t", "Did you mean WITH?"),
    ("42", ""),
    ("'SELECT 1'", ""),
])
def test_a_misspelt_query_is_a_syntax_error_exit_4(sql, suggestion):
    code, out, _ = querygpt("sql", sql, "--db", "demo", "--json")
    assert code == 4 and out["error"]["code"] == "SQL_SYNTAX_ERROR", out["error"]
    assert suggestion in out["error"]["message"]


@pytest.mark.parametrize("sql", ["DELETE FROM cars", "VACUUM", "CHECKPOINT", "PRAGMA version", "INSTALL httpfs",
                                 "HANDLER cars OPEN", "cars"])
def test_a_statement_that_is_not_a_query_is_still_refused_exit_3(sql):
    code, out, _ = querygpt("sql", sql, "--db", "demo", "--json")
    assert code == 3 and out["error"]["code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize("db, says", [
    ("sqlite:///", "names no database file"),
    ("sqlite://", "names no database file"),
    ("duckdb:///:memory:", "names no database file"),
    ("notascheme://x", "notascheme:// is not a kind of database"),
    ("postgresql+nodriver://h/db", "no driver named 'nodriver'"),
])
def test_a_db_that_names_no_database_gets_one_clean_sentence(db, says):
    code, out, _ = querygpt("ask", "How many cars?", "--db", db, "--json")
    message = out["error"]["message"]
    assert code == 4 and out["error"]["code"] == "DB_CONN_FAIL" and says in message
    assert "plugin" not in message and "(default)" not in message and "model" not in message.lower()


def test_an_unknown_option_shows_the_sub_commands_usage():
    code, _, proc = querygpt("ask", "How many cars?", "--frobnicate")
    assert code == 2 and proc.stderr.startswith("usage: querygpt ask")
    assert "unrecognized arguments: --frobnicate" in proc.stderr


def test_cli_hints_use_cli_flags():
    code, out, _ = querygpt("ask", "Which car has the best vibe?", "--db", "demo", "--json")
    message = out["error"]["message"]
    assert code == 5 and "--model openai/gpt-4o-mini" in message and "OPENAI_API_KEY" in message
    assert "%ask" not in message


def test_python_hints_use_arguments(demo_path):
    answer = qg.ask("Which car has the best vibe?", db="demo")
    assert 'model="openai/gpt-4o-mini"' in answer.error.hint and "%ask" not in answer.error.hint
    assert "--model" not in answer.error.hint


def test_notebook_hints_use_magics(demo_path):
    with loaded_shell() as shell, capture_output() as captured:
        result = shell.run_cell("%ask Which car has the best vibe?")
    assert isinstance(result.error_in_exec, errors.AgentFailure)
    shown = captured.stdout + str(result.error_in_exec)
    assert "`%ask model openai/gpt-4o-mini`" in shown and "--model" not in shown


def test_timeout_hint_follows_the_face():
    with errors.speaking_to("cli"):
        assert "--timeout 120" in errors.QueryTimeout("slow").hint
    with errors.speaking_to("notebook"):
        assert "%config Ask.timeout_s = 120" in errors.QueryTimeout("slow").hint
    assert "timeout_s=120" in errors.QueryTimeout("slow").hint


@pytest.mark.parametrize("question, language", [
    ("Wie viele Autos gibt es pro Herkunft?", "German"),
    ("Welche Marke hat die meisten Autos?", "German"),
    ("Combien de voitures par origine ?", "French"),
    ("Quelle est la moyenne des chevaux par origine ?", "French"),
    ("¿Cuántos coches hay por origen?", "Spanish"),
    ("Quanti modelli ci sono per origine?", "Italian"),
    ("Quantos carros há por origem?", "Portuguese"),
    ("Hoeveel auto's zijn er per herkomst?", "Dutch"),
    ("各产地有多少辆车？", "not written in Latin letters"),
    ("Сколько машин по происхождению?", "not written in Latin letters"),
])
def test_a_question_in_another_language_is_told_so(question, language):
    code, out, _ = querygpt("ask", question, "--db", "demo", "--json")
    assert code == 5 and out["error"]["code"] == "AGENT_FAILURE"
    assert "reads questions in English" in out["error"]["message"] and language in out["error"]["message"]


@pytest.mark.parametrize("question", [
    "How many cars per origin?", "Average Horsepower by Origin", "Horsepower per origin", "Top 5 cars by Horsepower",
    "Which Origin has the most cars?", "Liste des voitures",  # two words of French only: not clear enough
    "cars de Europe",  # a value or a name, not a sentence of another language
])
def test_english_or_unclear_questions_are_not_taken_for_another_language(question):
    assert language_of(question) is None
