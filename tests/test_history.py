"""Conversations that last: the history index, notebook records, replay without a model,
feedback that becomes examples, and secrets that never land."""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import uuid

import nbformat
import pytest
from IPython.utils.capture import capture_output
from nbclient import NotebookClient

import querygpt_jupyter as qg
from conftest import BIN, loaded_shell
from conftest import run_cell_ok as run
from fakes.openai_server import Reply, ScriptedOpenAIServer
from querygpt_jupyter.history.index import HistoryIndex, default_index
from querygpt_jupyter.history.records import TurnRecord

GOOD = 'SELECT "Origin", COUNT(*) AS n FROM cars GROUP BY "Origin" ORDER BY n DESC'


@pytest.fixture()
def shell(home):
    with loaded_shell() as shell:
        yield shell


def record(question="How many cars?", **overrides) -> TurnRecord:
    fields = dict(id=uuid.uuid4().hex, conversation_id="c", created_at=1.0, question=question, explanation=None,
                  sql="SELECT 1", dialect="duckdb", connection="demo", fingerprint="fp", model="m", status="ok",
                  error_code=None, row_count=1, truncated=False, chart=None)
    return TurnRecord(**{**fields, **overrides})


def test_the_index_is_wal_with_full_text_search(home):
    index = default_index()
    index.add(record("Average horsepower by origin", sql='SELECT AVG("Horsepower") FROM cars'))
    index.add(record("Rainy days in seattle", sql="SELECT COUNT(*) FROM seattle_weather"))
    assert sqlite3.connect(index.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r.question for r in index.search("horsepower")] == ["Average horsepower by origin"]
    assert [r.question for r in index.search("seattle_weather")] == ["Rainy days in seattle"]
    assert index.search("") == [] and index.search('"; DROP TABLE turns; --') == []


def test_records_are_small_and_keep_no_rows(home):
    answer = qg.ask("Average horsepower by origin", db="demo")
    stored = default_index().recent(1)[0]
    assert stored.question == "Average horsepower by origin" and stored.row_count == 3 and stored.source == "api"
    assert stored.chart and "data" not in stored.chart and "datasets" not in stored.chart
    assert "Europe" not in json.dumps(stored.to_dict())  # no result values
    assert stored.fingerprint == answer.fingerprint and stored.connection == answer.connection


def test_a_magic_turn_is_recorded_and_its_output_carries_the_record(shell):
    captured = run(shell, "%%ask\nHow many cars per origin?")
    carried = [o.metadata["querygpt"] for o in captured.outputs if "querygpt" in (o.metadata or {})]
    assert len(carried) == 1 and carried[0]["question"] == "How many cars per origin?" and carried[0]["format"] == 1
    assert default_index().recent(1)[0].id == carried[0]["id"]


def test_history_and_search_magics(shell):
    run(shell, "%%ask\nHow many cars per origin?")
    run(shell, "%%ask\nAverage precipitation by weather")
    history = run(shell, "%ask history").outputs[0].data["text/plain"]
    assert history.index("Average precipitation") < history.index("How many cars per origin")
    found = run(shell, "%ask search precipitation").outputs[0].data["text/plain"]
    assert "Average precipitation by weather" in found and "cars" not in found.split("\n")[0]


def test_cli_history_json_all_search_and_limit(home):
    for question in ("How many cars are there?", "Average horsepower by origin", "Maximum wheat in wheat"):
        assert qg.ask(question, db="demo").error is None
    def cli(*args):
        proc = subprocess.run([os.path.join(BIN, "querygpt"), "history", *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout
    everything = json.loads(cli("--json", "--all"))["turns"]
    assert [t["question"] for t in everything] == ["How many cars are there?", "Average horsepower by origin", "Maximum wheat in wheat"]
    assert [t["question"] for t in json.loads(cli("--json", "--limit", "1"))["turns"]] == ["Maximum wheat in wheat"]
    assert [t["question"] for t in json.loads(cli("--json", "--search", "horsepower"))["turns"]] == ["Average horsepower by origin"]
    assert "Maximum wheat in wheat" in cli()


def test_rerunning_a_cell_replays_the_recorded_sql_without_the_model(shell):
    with ScriptedOpenAIServer([Reply(f"```sql\n{GOOD}\n```")]) as server:
        run(shell, f"%ask model openai/gpt-4o-mini --api-base {server.base_url}")
        run(shell, "%config Ask.tools = 'off'")
        first = run(shell, "%%ask --name first\nHow many cars per origin?")
        assert len(server.requests) == 1
    # the server is gone: a rerun must not need it
    again = run(shell, "%%ask --name again\nHow many cars per origin?")
    html = "".join(o.data.get("text/html", "") for o in again.outputs)
    assert "Replayed the SQL openai/gpt-4o-mini wrote" in html and "history index" in html
    assert shell.user_ns["again"].equals(shell.user_ns["first"])
    assert first.outputs and again.outputs


def test_fresh_asks_the_model_again(shell):
    with ScriptedOpenAIServer([Reply(f"```sql\n{GOOD}\n```"), Reply(f"```sql\n{GOOD} LIMIT 2\n```")]) as server:
        run(shell, f"%ask model openai/gpt-4o-mini --api-base {server.base_url}")
        run(shell, "%config Ask.tools = 'off'")
        run(shell, "%%ask\nHow many cars per origin?")
        run(shell, "%%ask --fresh --name fresh\nHow many cars per origin?")
        assert len(server.requests) == 2 and len(shell.user_ns["fresh"]) == 2


def test_new_starts_a_new_conversation(shell):
    with ScriptedOpenAIServer([Reply(f"```sql\n{GOOD}\n```"), Reply(f"```sql\n{GOOD}\n```"),
                               Reply(f"```sql\n{GOOD}\n```")]) as server:
        run(shell, f"%ask model openai/gpt-4o-mini --api-base {server.base_url}")
        run(shell, "%config Ask.tools = 'off'")
        run(shell, "%%ask\nHow many cars per origin?")
        run(shell, "%%ask\nand per cylinders?")
        run(shell, "%%ask --new\nHow many cars per origin, again?")
        followup, fresh = server.requests[1]["messages"], server.requests[2]["messages"]
        assert any(m["content"] == "How many cars per origin?" for m in followup)
        assert [m["role"] for m in fresh] == ["system", "user"]


def test_feedback_is_recorded_and_correct_turns_become_examples(shell):
    with ScriptedOpenAIServer([Reply(f"```sql\n{GOOD}\n```"), Reply(f"```sql\n{GOOD}\n```")]) as server:
        run(shell, f"%ask model openai/gpt-4o-mini --api-base {server.base_url}")
        run(shell, "%config Ask.tools = 'off'")
        run(shell, "%%ask\nHow many cars per origin?")
        captured = run(shell, "%ask feedback good")
        assert captured.outputs[0].metadata["querygpt_feedback"]["kind"] == "correct"
        assert default_index().recent(1)[0].feedback == {"kind": "correct", "text": None}
        run(shell, "%%ask --new\nHow many cars per cylinders and origin?")
        system = server.requests[1]["messages"][0]["content"]
        assert "Q: How many cars per origin?" in system and GOOD in system


def test_examples_can_be_switched_off(shell):
    with ScriptedOpenAIServer([Reply(f"```sql\n{GOOD}\n```"), Reply(f"```sql\n{GOOD}\n```")]) as server:
        run(shell, f"%ask model openai/gpt-4o-mini --api-base {server.base_url}")
        run(shell, "%config Ask.tools = 'off'")
        run(shell, "%%ask\nHow many cars per origin?")
        run(shell, "%ask feedback good")
        run(shell, "%config Ask.examples = False")
        run(shell, "%%ask --new\nHow many cars per cylinders and origin?")
        assert "Q: How many cars per origin?" not in server.requests[1]["messages"][0]["content"]


@pytest.mark.parametrize("word, kind", [("good", "correct"), ("partial", "partial"), ("bad", "wrong")])
def test_feedback_kinds(shell, word, kind):
    run(shell, "%%ask\nHow many cars are there?")
    run(shell, f"%ask feedback {word}")
    assert default_index().recent(1)[0].feedback["kind"] == kind


def test_a_suggestion_keeps_its_text(shell):
    run(shell, "%%ask\nHow many cars are there?")
    run(shell, "%ask feedback suggest count only cars with a name")
    assert default_index().recent(1)[0].feedback == {"kind": "suggestion", "text": "count only cars with a name"}


WRITER = """
import sys, time, uuid
from querygpt_jupyter.history.index import HistoryIndex
from querygpt_jupyter.history.records import TurnRecord
worker, count = int(sys.argv[1]), int(sys.argv[2])
index = HistoryIndex()
for i in range(count):
    index.add(TurnRecord(id=f"{worker}-{i}", conversation_id=str(worker), created_at=time.time(),
                         question=f"worker{worker} question {i}", explanation=None, sql="SELECT 1", dialect="duckdb",
                         connection="demo", fingerprint="fp", model="m", status="ok", error_code=None, row_count=1,
                         truncated=False, chart=None))
"""


def test_many_processes_writing_at_once_lose_nothing(home):
    import sys

    workers = [subprocess.Popen([sys.executable, "-c", WRITER, str(w), "25"]) for w in range(4)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0, 0]
    index = HistoryIndex()
    assert index.count() == 100
    assert {r.id for r in index.all()} == {f"{w}-{i}" for w in range(4) for i in range(25)}
    assert sqlite3.connect(index.path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(index.search("worker3", limit=50)) == 25


def test_headless_rerun_reproduces_sql_from_what_the_notebook_carries(tmp_path, demo_path):
    """Run once with a model (as in JupyterLab), then re-execute on 'another machine' (an empty
    history index) with no model reachable: same SQL, same table."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import os\n%load_ext querygpt_jupyter\n%config Ask.model = 'openai/gpt-4o-mini'\n"
                                  "%config Ask.api_base = os.environ.get('QG_TEST_API_BASE', 'http://127.0.0.1:9/v1')\n"
                                  "%config Ask.tools = 'off'"),
        nbformat.v4.new_code_cell("%%ask --name by_origin\nHow many cars per origin?"),
        nbformat.v4.new_code_cell("print(by_origin.to_json())"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "report.ipynb"

    def execute(home, api_base):
        home.mkdir(exist_ok=True)
        if not (home / "demo.duckdb").exists():
            os.link(demo_path, home / "demo.duckdb")
        # nbclient run from Python: the kernel is told its notebook (nbconvert/papermill are found)
        env = {"QUERYGPT_HOME": str(home), "QG_TEST_API_BASE": api_base, "OPENAI_API_KEY": "",
               "QUERYGPT_NOTEBOOK": str(path)}
        book = nbformat.read(path, as_version=4) if path.exists() else nb
        client = NotebookClient(book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            client.execute()
        finally:
            for k, v in old.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        nbformat.write(book, path)
        return book

    with ScriptedOpenAIServer([Reply(f"```sql\n{GOOD}\n```")]) as server:
        first = execute(tmp_path / "machine-a", server.base_url)
        assert len(server.requests) == 1
    second = execute(tmp_path / "machine-b", "http://127.0.0.1:9/v1")
    assert second.cells[2].outputs, second.cells[1].outputs
    out_first, out_second = first.cells[2].outputs[0]["text"], second.cells[2].outputs[0]["text"]
    assert out_first == out_second and "254" in out_second
    html = "".join(o.get("data", {}).get("text/html", "") for o in second.cells[1].outputs)
    assert "Replayed the SQL openai/gpt-4o-mini wrote" in html and "from the notebook" in html


def test_secrets_never_land_in_notebooks_index_or_logs(shell, tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-key-123")
    caplog.set_level(logging.DEBUG)
    secret_url = "postgresql://analyst:hunter2-password@127.0.0.1:9/sales"
    with capture_output() as refused:
        result = shell.run_cell(f"%ask connect {secret_url} --name pg")
    assert result.error_in_exec.code == "DB_CONN_FAIL"
    notebook_text = refused.stdout
    answer = qg.run_sql("SELECT 1", db=secret_url)
    captured = run(shell, "%%ask\nHow many cars per origin?")
    notebook = json.dumps([{"data": o.data, "metadata": o.metadata} for o in captured.outputs], default=str)
    notebook += json.dumps(answer.to_dict(), default=str) + notebook_text
    index_bytes = open(default_index().path, "rb").read() + b"".join(
        open(default_index().path + suffix, "rb").read() for suffix in ("-wal",) if os.path.exists(default_index().path + suffix))
    logs = caplog.text
    for secret in ("hunter2-password", "sk-very-secret-key-123"):
        assert secret not in notebook and secret.encode() not in index_bytes and secret not in logs
    assert answer.error.code == "DB_CONN_FAIL"


def test_a_replayed_answer_states_its_finding_once(shell):
    run(shell, "%%ask\nHow many cars per origin?")
    replayed = run(shell, "%%ask\nHow many cars per origin?")
    html = "".join(o.data.get("text/html", "") for o in replayed.outputs)
    assert "Replayed the SQL" in html and html.count("Highest: USA (254)") == 1
    assert "Highest" not in default_index().recent(1)[0].explanation
