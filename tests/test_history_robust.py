"""History and replay survive bad files and do not trust strangers: a damaged index is moved aside,
malformed notebook records are ignored, replay reads only the notebook being executed, and a folder
or an empty --db is a connection failure."""
from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import nbformat
import pytest
from IPython.utils.capture import capture_output

import querygpt_jupyter as qg
from conftest import BIN, loaded_shell
from querygpt_jupyter.history.notebook import notebook_records

QUESTION = "Who wrote this report?"


def cli(*args, env=None, cwd=None):
    return subprocess.run([os.path.join(BIN, "querygpt"), *args], capture_output=True, text=True, timeout=180,
                          env=env, cwd=cwd)


# -- a damaged history index -----------------------------------------------------------------------

def _garbage_pages(path):
    data = bytearray(path.read_bytes())
    for i in range(4096, len(data), 7):
        data[i] = 0xAB
    path.write_bytes(bytes(data))


def _truncated(path):
    path.write_bytes(path.read_bytes()[:5000])


def _not_a_database(path):
    path.write_bytes(b"this is not a database " * 100)


def _empty_header(path):
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84)


@pytest.mark.parametrize("damage", [_garbage_pages, _truncated, _not_a_database, _empty_header])
def test_a_damaged_index_is_moved_aside_and_history_still_works(home, damage, demo_path):
    env = {**os.environ, "QUERYGPT_HOME": str(home)}
    for n in range(3):
        assert cli("sql", f"SELECT {n} AS x", "--db", demo_path, env=env).returncode == 0
    index = home / "history.sqlite"
    for suffix in ("-wal", "-shm"):
        (home / f"history.sqlite{suffix}").unlink(missing_ok=True)
    damage(index)
    listed = cli("history", "--json", env=env)
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    assert json.loads(listed.stdout) == {"turns": []} or damage is _empty_header
    asked = cli("sql", "SELECT 42 AS answer", "--db", demo_path, "--json", env=env)
    assert asked.returncode == 0 and json.loads(asked.stdout)["rows"] == [[42]]
    said = listed.stderr + asked.stderr
    aside = [p for p in os.listdir(home) if p.startswith("history.sqlite.damaged-")]
    if damage is not _empty_header:  # an empty header is a valid, empty database to SQLite
        assert said.count("moved to") == 1 and len([p for p in aside if not p.endswith(("-wal", "-shm"))]) == 1
    again = json.loads(cli("history", "--json", env=env).stdout)["turns"]
    assert [t["sql"] for t in again][:1] == ["SELECT 42 AS answer"]


def test_a_damaged_index_does_not_stop_asking_in_process(home, demo_path, caplog):
    from querygpt_jupyter.history.index import default_index

    assert qg.run_sql("SELECT 1 AS x", db="demo").error is None
    index = default_index()
    assert index.count() == 1
    index._local.con.close()   # checkpoints the WAL; then the file is damaged as a new process would find it
    index._local.con = None
    _not_a_database(home / "history.sqlite")
    answer = qg.run_sql("SELECT 2 AS x", db="demo")
    assert answer.error is None and answer.df["x"].tolist() == [2]
    assert qg.run_sql("SELECT 3 AS x", db="demo").error is None
    assert index.count() == 2
    assert caplog.text.count("could not be read") == 1


# -- malformed records in a notebook ---------------------------------------------------------------

def good_record(**overrides) -> dict:
    record = dict(id=uuid.uuid4().hex, conversation_id="c", created_at=time.time(), question=QUESTION,
                  explanation=None, sql="SELECT 'mine' AS who", dialect="duckdb", connection="demo",
                  fingerprint=demo_fingerprint(), model="openai/some-model", status="ok", error_code=None,
                  row_count=1, truncated=False, chart=None, format=1)
    record.update(overrides)
    return record


def demo_fingerprint() -> str:
    from querygpt_jupyter.connections.introspect import introspect
    from querygpt_jupyter.connections.resolve import open_connection

    return introspect(open_connection("demo", (os.getcwd(),))).fingerprint


def write_notebook(path, records=(), top=None, feedback=None, cell="%%ask\n" + QUESTION):
    nb = nbformat.v4.new_notebook()
    outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "x"}, metadata={"querygpt": r}) for r in records]
    if feedback is not None:
        outputs.append(nbformat.v4.new_output("display_data", data={"text/plain": "f"},
                                              metadata={"querygpt_feedback": feedback}))
    code = nbformat.v4.new_code_cell(cell)
    code.outputs = outputs
    nb.cells = [code]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if top is not None:
        nb.metadata["querygpt"] = top
    with open(path, "w") as f:
        json.dump(nb, f)   # nbformat.write would validate the malformed metadata away
    return path


MALFORMED = [
    pytest.param({"created_at": "yesterday"}, id="created_at-text"),
    pytest.param({"created_at": 1e308}, id="created_at-huge"),
    pytest.param({"created_at": 10 ** 40}, id="created_at-huge-int"),
    pytest.param({"question": 42}, id="question-number"),
    pytest.param({"sql": ["SELECT 1"]}, id="sql-list"),
    pytest.param({"chart": [1, 2]}, id="chart-list"),
    pytest.param({"feedback": "great"}, id="feedback-text"),
    pytest.param({"row_count": -1}, id="row_count-negative"),
    pytest.param({"row_count": 10 ** 30}, id="row_count-huge"),
    pytest.param({"status": "maybe"}, id="status-unknown"),
    pytest.param({"id": ["a"]}, id="id-list"),
    pytest.param({"timings_ms": {"total": "fast"}}, id="timings-text"),
    pytest.param({"truncated": "no"}, id="truncated-text"),
    pytest.param({"model": {"name": "x"}}, id="model-object"),
]


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_records_are_ignored_with_a_warning(tmp_path, bad, caplog, demo_path):
    path = write_notebook(tmp_path / "nb.ipynb", [good_record(**bad)], top={"format": 1, "turns": [good_record(**bad)]})
    assert notebook_records(str(path)) == []
    assert "malformed turn record" in caplog.text


@pytest.mark.parametrize("notebook", [
    pytest.param([1, 2], id="not-an-object"),
    pytest.param({"cells": "none", "metadata": []}, id="wrong-containers"),
    pytest.param({"cells": [1, {"outputs": "x"}, {"outputs": [1, {"metadata": "m"}]}]}, id="wrong-cells"),
    pytest.param({"metadata": {"querygpt": {"turns": {"a": 1}}}}, id="turns-not-a-list"),
    pytest.param({"cells": [{"outputs": [{"metadata": {"querygpt_feedback": {"turn": ["x"], "kind": 1}}}]}]},
                 id="feedback-unhashable-turn"),
])
def test_malformed_notebook_structure_gives_no_records(tmp_path, notebook):
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps(notebook))
    assert notebook_records(str(path)) == []


def test_malformed_feedback_does_not_replace_a_good_records_feedback(tmp_path, demo_path):
    record = good_record()
    path = write_notebook(tmp_path / "nb.ipynb", [record], feedback={"turn": record["id"], "kind": ["bad"]})
    (found,) = notebook_records(str(path))
    assert found.feedback is None


@pytest.fixture()
def shell(home):
    with loaded_shell() as shell:
        yield shell


def ask_cell(shell, body=QUESTION):
    with capture_output() as captured:
        result = shell.run_cell("%%ask --no-chart\n" + body)
    return result, captured


@pytest.mark.parametrize("bad", MALFORMED[:5])
def test_ask_is_not_broken_by_malformed_records_in_its_notebook(shell, tmp_path, bad):
    path = write_notebook(tmp_path / "mine.ipynb", [good_record(**bad)])
    shell.run_cell(f"%config Ask.notebook = {str(path)!r}")
    result, captured = ask_cell(shell, "How many cars per origin?")
    assert result.success, result.error_in_exec
    assert "mine" not in captured.stdout and "USA" in str(shell.user_ns.get("_")) + captured.stdout + str(
        [o.data for o in captured.outputs])


# -- replay trusts only the notebook being executed ------------------------------------------------

def test_replay_ignores_other_notebooks_in_the_folder(shell, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("QUERYGPT_NOTEBOOK", raising=False)
    write_notebook(tmp_path / "stranger.ipynb", [good_record(sql="SELECT 'stranger' AS who")])
    result, captured = ask_cell(shell)
    shown = captured.stdout + json.dumps([o.data for o in captured.outputs])
    assert "stranger" not in shown and "Replayed" not in shown


def test_replay_uses_the_notebook_it_is_told(shell, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "stranger.ipynb", [good_record(sql="SELECT 'stranger' AS who", created_at=time.time() + 60)])
    mine = write_notebook(tmp_path / "mine.ipynb", [good_record()])
    shell.run_cell(f"%config Ask.notebook = {str(mine)!r}")
    result, captured = ask_cell(shell)
    assert result.success, result.error_in_exec
    shown = captured.stdout + json.dumps([o.data for o in captured.outputs])
    assert "mine" in shown and "stranger" not in shown and "from the notebook" in shown


def test_nbconvert_replays_only_from_the_notebook_it_executes(tmp_path, home):
    folder = tmp_path / "reports"
    folder.mkdir()
    write_notebook(folder / "stranger.ipynb", [good_record(sql="SELECT 'stranger' AS who", created_at=time.time() + 60)],
                   cell="%load_ext querygpt_jupyter\n")
    report = nbformat.v4.new_notebook()
    report.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    first = nbformat.v4.new_code_cell("%load_ext querygpt_jupyter\n%config Ask.insert_cell = False")
    ask = nbformat.v4.new_code_cell("%%ask --no-chart --name who\n" + QUESTION)
    ask.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "old"},
                                          metadata={"querygpt": good_record()})]
    show = nbformat.v4.new_code_cell("print('WHO=' + who['who'][0])")
    report.cells = [first, ask, show]
    nbformat.write(report, folder / "report.ipynb")
    env = {**os.environ, "QUERYGPT_HOME": str(home)}
    env.pop("QUERYGPT_NOTEBOOK", None)
    env.pop("JPY_SESSION_NAME", None)
    proc = subprocess.run([os.path.join(BIN, "jupyter-nbconvert"), "--to", "notebook", "--execute", "report.ipynb",
                           "--output", "executed.ipynb"], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    executed = nbformat.read(folder / "executed.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for o in executed.cells[2].outputs)
    assert "WHO=mine" in printed


# -- --db that is not a database -------------------------------------------------------------------

@pytest.mark.parametrize("db", ["{folder}", "{folder}/", "", "   ", "sqlite:///{folder}", "duckdb:///{folder}"])
def test_a_folder_or_empty_db_is_a_connection_failure(tmp_path, db):
    folder = tmp_path / "some_folder"
    folder.mkdir()
    proc = cli("sql", "SELECT 1", "--db", db.format(folder=folder), "--json")
    out = json.loads(proc.stdout)
    assert proc.returncode == 4 and out["error"]["code"] == "DB_CONN_FAIL" and "Traceback" not in proc.stderr
