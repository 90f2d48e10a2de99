"""The chat widget's Python side, without a browser: turns through the session, what the front end
is sent, feedback, stop, and the bundled front end. (The browser test drives it in JupyterLab.)"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from querygpt_jupyter import errors
from querygpt_jupyter.agent.turn import TurnOptions, ask_turn
from querygpt_jupyter.answer import Answer
from querygpt_jupyter.config import make_config
from querygpt_jupyter.events import Event
from querygpt_jupyter.session import Session
from querygpt_jupyter.faces.widget import ChatWidget, chat_widget
from querygpt_jupyter.faces.widget import _view
from querygpt_jupyter.faces.widget._runner import TurnWorker

STATIC = Path(__file__).resolve().parent.parent / "querygpt_jupyter" / "static"


@pytest.fixture()
def session(demo_path):
    """A kernel's session whose sidebar turns are fresh: with Ask.replay on, a question another test
    recorded in the history index would be replayed (test_one_turn.py tests that)."""
    session = Session(None)
    session.config.replay = False
    return session


@pytest.fixture()
def widget(session):
    w = ChatWidget(session)
    yield w
    _dispose(w)


def _dispose(w: ChatWidget) -> None:
    """Stop listening to the session (closing the comm needs a kernel, which unit tests have not)."""
    w.stop()
    w.session.unsubscribe(w._on_session_answer)


def _wait_idle(widget: ChatWidget, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while widget.busy:
        assert time.monotonic() < deadline, "the turn did not finish in time"
        time.sleep(0.02)


def _demo_answer(demo, question="Average horsepower by origin") -> Answer:
    options = TurnOptions.from_config(make_config(model="querygpt/offline", max_rows=100, timeout_s=30))
    return ask_turn(question, demo, options)


# -- what the front end is sent ----------------------------------------------------------------

def test_finished_turn_has_sql_cell_table_and_chart_svg(demo):
    view = _view.finished_turn("t1", _demo_answer(demo), "sidebar", "demo", cell="%%ask --sql ...")
    assert view["status"] == "done" and view["error"] is None
    assert 'AVG("Horsepower")' in view["sql"]
    assert view["table"]["columns"] == ["Origin", "avg_Horsepower"] and view["table"]["row_count"] == 3
    assert view["chart"]["svg"].lstrip().startswith("<svg")
    assert set(view["developer"]["timings_ms"]) >= {"schema", "generating_sql", "executing", "total"}


def test_table_preview_is_json_safe_and_capped(demo):
    answer = _demo_answer(demo, "List the names of the cars")
    preview = _view.table_preview(answer, rows=5)
    assert len(preview["rows"]) == 5 and preview["row_count"] > 5
    assert _view.json_safe(preview) == preview


def test_error_turn_carries_code_and_next_step():
    with errors.speaking_to("notebook"):  # as the sidebar's worker thread does
        view = _view.error_turn("t2", "q", errors.SchemaError("No table 'carz'."))
    assert view["status"] == "error"
    assert view["error"]["code"] == "SCHEMA_ERROR" and "%ask tables" in view["error"]["hint"]


def test_events_become_stage_lines_and_tokens_accumulate():
    turn = _view.live_turn("t3", "q")
    turn = _view.with_event(turn, Event("schema", "Looking at the tables…", {}, 1.5))
    turn = _view.with_event(turn, Event("generating_sql", "", {"token": "SELECT "}, 2.0))
    turn = _view.with_event(turn, Event("generating_sql", "", {"token": "1"}, 2.5))
    assert [e["stage"] for e in turn["events"]] == ["schema"]
    assert turn["tokens"] == "SELECT 1"


# -- turns and the session ---------------------------------------------------------------------

def test_sidebar_turn_joins_the_session_conversation_once(widget, session):
    turn_id = widget.ask("Average horsepower by origin")
    assert widget.busy and widget.live["id"] == turn_id     # shown at once; the work is in a thread
    _wait_idle(widget)
    assert widget.live is None
    assert [a.question for a in session.answers] == ["Average horsepower by origin"]
    [turn] = widget.turns
    assert turn["id"] == turn_id and turn["source"] == "sidebar" and turn["status"] == "done"
    assert [e["stage"] for e in turn["events"]][:2] == ["analyzing", "schema"]
    assert turn["cell"].startswith("%%ask --sql --conn demo --name average_horsepower_origin")


def test_a_magic_turn_appears_in_the_widget(widget, session, demo):
    session.add_answer(_demo_answer(demo, "How many cars per origin?"))
    [turn] = widget.turns
    assert turn["source"] == "notebook" and turn["question"] == "How many cars per origin?"
    assert "--conn demo" in turn["cell"]


def test_the_conversation_so_far_is_shown_when_the_widget_opens(session, demo):
    session.add_answer(_demo_answer(demo))
    w = ChatWidget(session)
    try:
        assert [t["question"] for t in w.turns] == ["Average horsepower by origin"]
    finally:
        _dispose(w)


def test_unknown_connection_is_an_error_turn_not_an_exception(widget):
    widget.connection = "nope"
    widget.ask("How many cars?")
    _wait_idle(widget)
    assert widget.turns[-1]["error"]["code"] == "USAGE_ERROR"


def _with_namespace(session, **names) -> None:
    class Shell:
        user_ns = dict(names)
        user_ns_hidden: dict = {}
        config = None

    session.shell = Shell()


def test_sidebar_turns_go_where_the_question_points_and_say_so(widget, session):
    import pandas as pd

    _with_namespace(session, sales=pd.DataFrame({"region": ["n", "s", "n"], "amount": [1.0, 2.0, 3.0]}))
    for question, connection in (("Total amount per region", "dataframes"), ("Average horsepower by origin", "demo")):
        widget.ask(question)
        _wait_idle(widget)
        turn = widget.turns[-1]
        assert turn["status"] == "done" and turn["connection"] == connection
        assert turn["connection_note"].startswith("its tables have") and f"--conn {connection} " in turn["cell"]


def test_an_unclear_sidebar_question_names_the_menu_to_pick_from(widget, session):
    import pandas as pd

    _with_namespace(session, airports=pd.DataFrame({"city": ["Oslo"], "state": ["NO"]}))
    widget.ask("How many airports per state?")
    _wait_idle(widget)
    error = widget.turns[-1]["error"]
    assert error["code"] == "USAGE_ERROR"
    assert error["message"] == "This question could be for dataframes or demo: say which with the Connection menu above."


def _slow_turns(monkeypatch, seconds: float) -> None:
    import querygpt_jupyter.agent.turn as turn

    monkeypatch.setattr(turn, "ask_turn", lambda *args: _sleep_then_fail(seconds))


def test_a_second_question_waits_for_the_first(widget, monkeypatch):
    _slow_turns(monkeypatch, 1.0)
    assert widget.ask("one") is not None
    assert widget.ask("two") is None and "still running" in widget.notice
    widget.stop()
    _wait_idle(widget)


def test_model_override_is_used_for_sidebar_turns(widget, session):
    widget.model_name = "querygpt/offline"
    widget.ask("How many cars per origin?")
    _wait_idle(widget)
    assert session.answers[-1].model == "querygpt/offline"
    assert "querygpt/offline" in widget.models


# -- stop ----------------------------------------------------------------------------------------

def _sleep_then_fail(seconds: float):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.01)
    raise AssertionError("not stopped")


def test_stop_ends_a_running_turn_with_query_cancelled(widget, session, monkeypatch):
    _slow_turns(monkeypatch, 20)
    widget.ask("slow")
    time.sleep(0.1)
    began = time.monotonic()
    widget._on_message(widget, {"type": "stop"}, [])
    _wait_idle(widget, 5)
    assert time.monotonic() - began < 2
    assert widget.turns[-1]["error"]["code"] == "QUERY_TIMEOUT"
    assert isinstance(session.answers[-1].error, errors.QueryCancelled)


def test_stop_interrupts_a_running_query_and_the_connection_stays_usable(demo):
    from querygpt_jupyter.sql.execute import run_blocking

    done = {}
    worker = TurnWorker(lambda: run_blocking(demo, "SELECT count(*) FROM range(10000000000) a, range(10) b", 60),
                        lambda result, error: done.update(result=result, error=error), interrupt=demo.interrupt).start()
    time.sleep(0.3)
    began = time.monotonic()
    assert worker.stop()
    assert worker.join(5) and time.monotonic() - began < 2
    assert isinstance(done["error"], errors.QueryCancelled)
    assert int(demo.fetch("SELECT 41 + 1").iloc[0, 0]) == 42


def test_stop_after_the_turn_finished_does_nothing():
    worker = TurnWorker(lambda: 1, lambda result, error: None).start()
    assert worker.join(5)
    assert worker.stop() is False


# -- feedback and messages -------------------------------------------------------------------------

def test_feedback_is_recorded_through_the_session(widget, session):
    widget.ask("Average horsepower by origin")
    _wait_idle(widget)
    turn_id = widget.turns[-1]["id"]
    widget._on_message(widget, {"type": "feedback", "id": turn_id, "kind": "suggestion", "text": "Round it"}, [])
    assert session.answers[-1].feedback == {"kind": "suggestion", "text": "Round it"}
    assert widget.turns[-1]["feedback"] == {"kind": "suggestion", "text": "Round it"}


def test_bad_feedback_kind_is_a_notice(widget):
    widget.ask("Average horsepower by origin")
    _wait_idle(widget)
    widget.feedback(widget.turns[-1]["id"], "meh")
    assert "USAGE_ERROR" in widget.notice


def test_unknown_message_is_reported_not_swallowed(widget):
    widget._on_message(widget, {"type": "dance"}, [])
    assert "dance" in widget.notice


def test_refresh_lists_connections_from_the_namespace(session, demo_path):
    import duckdb

    class Shell:
        user_ns = {"warehouse": duckdb.connect(demo_path, read_only=True)}
        user_ns_hidden: dict = {}
        config = None

    session.shell = Shell()
    w = ChatWidget(session)
    try:
        assert w.connections == ["warehouse", "demo"]
    finally:
        _dispose(w)
        Shell.user_ns["warehouse"].close()


# -- one per kernel, and the bundle ----------------------------------------------------------------

def test_one_chat_widget_per_session(session):
    assert chat_widget(session) is chat_widget(session)


def test_front_end_is_bundled_in_the_package_with_no_cdn():
    js = (STATIC / "chat.js").read_text()
    assert "export" in js and "cdn." not in js and "https://" not in js
    assert (STATIC / "chat.css").is_file()
    assert (STATIC / "labextension" / "package.json").is_file()


def test_kernel_id_is_empty_outside_a_kernel(widget):
    assert widget.kernel_id == ""
