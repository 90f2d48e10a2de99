"""One turn, one path: every face — `%%ask`, the sidebar, `ask()`, `run_sql()` and the CLI — runs
its turn through `agent.turn.run`, and replay is a stage of that turn, so the sidebar and the API
replay like `%%ask` when `Ask.replay` is on."""
from __future__ import annotations

import time

import pytest

import querygpt_jupyter as qg
from conftest import loaded_shell
from conftest import run_cell_ok as run
from fakes.openai_server import Reply, ScriptedOpenAIServer
from querygpt_jupyter.agent import turn as turn_module

GOOD = 'SELECT "Origin", COUNT(*) AS n FROM cars GROUP BY "Origin" ORDER BY n DESC'
QUESTION = "How many cars per origin?"


@pytest.fixture()
def shell(home):
    with loaded_shell() as shell:
        yield shell


def _answer_with_a_model_then_lose_it(shell) -> None:
    """%%ask answers QUESTION with a scripted model whose server is gone afterwards."""
    with ScriptedOpenAIServer([Reply(f"```sql\n{GOOD}\n```")]) as server:
        run(shell, f"%ask model openai/gpt-4o-mini --api-base {server.base_url}")
        run(shell, "%config Ask.tools = 'off'")
        run(shell, f"%%ask\n{QUESTION}")
        assert len(server.requests) == 1


def _sidebar_answer(session, question: str):
    from querygpt_jupyter.faces.widget import ChatWidget

    widget = ChatWidget(session)
    try:
        assert widget.ask(question) is not None
        deadline = time.monotonic() + 60
        while widget.busy:
            assert time.monotonic() < deadline, "the sidebar turn did not finish in time"
            time.sleep(0.02)
        return session.answers[-1], widget.turns[-1]
    finally:
        widget.stop()
        session.unsubscribe(widget._on_session_answer)


def test_the_sidebar_replays_a_question_the_notebook_answered(shell):
    from querygpt_jupyter.session import current_session

    _answer_with_a_model_then_lose_it(shell)
    answer, view = _sidebar_answer(current_session(), QUESTION)
    assert answer.error is None and answer.replayed_from == "history index"
    assert answer.model == "openai/gpt-4o-mini" and answer.sql == GOOD
    assert view["status"] == "done" and any("Replayed the SQL" in note for note in view["developer"]["notes"])


def test_the_sidebar_asks_the_model_when_replay_is_off(shell):
    from querygpt_jupyter.session import current_session

    _answer_with_a_model_then_lose_it(shell)
    run(shell, "%config Ask.replay = False")
    answer, _ = _sidebar_answer(current_session(), QUESTION)
    assert answer.replayed_from is None and answer.error is not None   # the model's server is gone


def test_ask_from_a_notebook_replays_like_the_magic(shell):
    _answer_with_a_model_then_lose_it(shell)
    answer = qg.ask(QUESTION)
    assert answer.error is None and answer.replayed_from == "history index" and answer.sql == GOOD


def test_ask_from_a_notebook_with_replay_false_asks_again(shell):
    _answer_with_a_model_then_lose_it(shell)
    answer = qg.ask(QUESTION, replay=False)
    assert answer.replayed_from is None and answer.error is not None


def test_a_script_replays_only_when_it_asks_to(home):
    with ScriptedOpenAIServer([Reply(f"```sql\n{GOOD}\n```")]) as server:
        model = dict(model="openai/gpt-4o-mini", api_base=server.base_url, tools="off")
        first = qg.ask(QUESTION, db="demo", **model)
        assert first.error is None and first.replayed_from is None
    assert qg.ask(QUESTION, db="demo", **model).error is not None          # no notebook: the model is asked
    replayed = qg.ask(QUESTION, db="demo", replay=True, **model)
    assert replayed.error is None and replayed.replayed_from == "history index" and replayed.df.equals(first.df)


@pytest.fixture()
def turns(monkeypatch):
    """Every call of agent.turn.run, as (text, sql)."""
    seen: list[tuple[str, bool]] = []
    real = turn_module.run

    def spy(text, adapter, options, listener=turn_module.ignore, *, sql=False, question=None):
        seen.append((text, sql))
        return real(text, adapter, options, listener, sql=sql, question=question)

    monkeypatch.setattr(turn_module, "run", spy)
    return seen


def test_the_magics_run_their_turns_through_run(shell, turns):
    run(shell, "%%ask --conn demo\nHow many cars per origin?")
    run(shell, "%ask --conn demo How many cars?")
    run(shell, '%%ask --sql --conn demo\nSELECT COUNT(*) AS n FROM cars')
    assert turns == [("How many cars per origin?", False), ("How many cars?", False),
                     ("SELECT COUNT(*) AS n FROM cars", True)]


def test_the_sidebar_runs_its_turn_through_run(shell, turns):
    from querygpt_jupyter.session import current_session

    answer, _ = _sidebar_answer(current_session(), "How many cars per origin?")
    assert answer.error is None and turns == [("How many cars per origin?", False)]


def test_the_api_and_the_cli_run_their_turns_through_run(home, turns, capsys):
    from querygpt_jupyter.faces.cli import main

    qg.ask("How many cars?", db="demo")
    qg.run_sql("SELECT 1 AS one", db="demo")
    assert main(["ask", "How many cars per origin?", "--db", "demo", "--json"]) == 0
    assert main(["sql", "SELECT 2 AS two", "--db", "demo", "--json"]) == 0
    assert turns == [("How many cars?", False), ("SELECT 1 AS one", True), ("How many cars per origin?", False),
                     ("SELECT 2 AS two", True)]
