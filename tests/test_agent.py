"""The model-backed agent, driven through the real LiteLLM code paths by scripted models: a
custom provider (`scripted/…`) and an OpenAI-compatible server on 127.0.0.1."""
from __future__ import annotations

import _thread
import socket
import threading

import pytest

import querygpt_jupyter as qg
from fakes.openai_server import CutStream, Empty, Hang, Reply, ScriptedOpenAIServer, Status
from fakes.scripted_provider import scripted_llm  # noqa: F401  (fixture)
from querygpt_jupyter.agent.model_planner import extract_sql

GOOD = 'SELECT "Origin", COUNT(*) AS n FROM cars GROUP BY "Origin" ORDER BY n DESC'


def submit(sql, explanation="Counts cars per origin.", chart="bar"):
    return {"name": "submit_answer", "arguments": {"sql": sql, "explanation": explanation, "chart": chart}}


def user_texts(request) -> str:
    return "\n".join(str(m.get("content") or "") for m in request["messages"])


@pytest.fixture()
def server():
    with ScriptedOpenAIServer([]) as s:
        yield s


def ask_server(server, question="How many cars per origin?", **options):
    options.setdefault("tools", "off")
    return qg.ask(question, db="demo", model="openai/gpt-4o-mini", api_base=server.base_url, **options)


def test_tool_call_path_looks_up_the_schema_then_submits(scripted_llm, demo_path):
    scripted_llm.push(
        Reply(tool_calls=[{"name": "describe_table", "arguments": {"table": "cars"}}]),
        Reply(tool_calls=[submit(GOOD)]),
    )
    answer = qg.ask("How many cars per origin?", db="demo", model="scripted/sql-bot", tools="on")
    assert answer.error is None, answer.error
    assert answer.df.values.tolist() == [["USA", 254], ["Japan", 79], ["Europe", 73]]
    first, second = scripted_llm.calls
    assert {t["function"]["name"] for t in first["tools"]} >= {"describe_table", "sample_values", "run_probe", "submit_answer"}
    tool_reply = next(m for m in second["messages"] if m["role"] == "tool")
    assert 'CREATE TABLE cars' in tool_reply["content"] and '"Horsepower" DOUBLE' in tool_reply["content"]
    assert answer.explanation.startswith("Counts cars per origin") and "Highest: USA (254)" in answer.explanation


def test_prose_with_fenced_sql_works(server, demo_path):
    server.push(Reply(f"Sure! Here is the query:\n```sql\n{GOOD}\n```\nIt counts the cars of each origin."))
    answer = ask_server(server)
    assert answer.error is None and answer.sql == GOOD and answer.row_count == 3
    assert "counts the cars of each origin" in answer.explanation


def test_the_prompt_names_the_dialect_and_gives_the_schema_compactly(server, demo_path):
    server.push(Reply(f"```sql\n{GOOD}\n```"))
    ask_server(server)
    system = server.requests[0]["messages"][0]["content"]
    assert "DuckDB" in system and "dialect: duckdb" in system
    assert 'CREATE TABLE cars' in system and 'values: ["USA", "Japan", "Europe"' in system
    assert "406 rows" in system


def test_a_wrong_column_is_fixed_on_retry_with_the_error_in_the_next_prompt(server, demo_path):
    server.push(Reply("```sql\nSELECT Orign, COUNT(*) FROM cars GROUP BY Orign\n```"), Reply(f"```sql\n{GOOD}\n```"))
    answer = ask_server(server, view="developer")
    assert answer.error is None and answer.row_count == 3
    feedback = user_texts(server.requests[1])
    assert "SCHEMA_ERROR" in feedback and "orign" in feedback.lower() and "Did you mean cars.Origin?" in feedback
    assert [a.error.code if a.error else None for a in answer.attempts] == ["SCHEMA_ERROR", None]


def test_a_database_error_goes_back_to_the_model_too(server, demo_path):
    server.push(Reply("```sql\nSELECT CAST(Name AS INTEGER) AS n FROM cars\n```"), Reply(f"```sql\n{GOOD}\n```"))
    answer = ask_server(server)
    assert answer.error is None and "Conversion" in user_texts(server.requests[1])


def test_sql_in_another_dialect_is_transpiled(server, demo_path):
    server.push(Reply("```sql\nSELECT TOP 3 Name FROM cars ORDER BY Horsepower DESC\n```"))
    answer = ask_server(server, question="Three most powerful cars")
    assert answer.error is None and answer.row_count == 3
    assert "LIMIT 3" in answer.sql and "TOP" not in answer.sql
    assert answer.notes == ["Transpiled from tsql to duckdb."]


def test_429_is_retried_with_backoff_then_succeeds(server, demo_path, monkeypatch):
    monkeypatch.setattr("querygpt_jupyter.agent.llm.ModelSettings.backoff_s", 0.01)
    server.push(Status(429), Reply(f"```sql\n{GOOD}\n```"))
    answer = ask_server(server)
    assert answer.error is None and len(server.requests) == 2 and answer.usage["model_retries"] == 1


def test_a_model_timeout_is_model_unavailable_with_the_fix(server, demo_path):
    server.push(Hang(3))
    answer = ask_server(server, model_timeout_s=0.3, model_retries=0)
    assert answer.error.code == "MODEL_UNAVAILABLE" and "timed out" in answer.error.message
    assert "querygpt/offline" in answer.error.hint


def test_an_empty_answer_is_retried_then_an_agent_failure(server, demo_path):
    server.push(Empty(), Empty(), Empty(), Empty())
    answer = ask_server(server)
    assert answer.error.code == "AGENT_FAILURE" and "no SQL" in answer.error.message
    assert len(server.requests) == 4


def test_three_bad_answers_end_in_agent_failure_with_the_last_error(server, demo_path):
    server.push(*[Reply(f"```sql\nSELECT nope{i} FROM cars\n```") for i in range(4)])
    answer = ask_server(server)
    assert answer.error.code == "AGENT_FAILURE" and "nope3" in str(answer.error) and "SCHEMA_ERROR" in str(answer.error)
    assert len(server.requests) == 4  # the first try and three corrections


def test_a_write_from_the_model_is_refused_and_corrected(server, demo_path):
    server.push(Reply("```sql\nDELETE FROM cars\n```"), Reply(f"```sql\n{GOOD}\n```"))
    answer = ask_server(server)
    assert answer.error is None and "PERMISSION_DENIED" in user_texts(server.requests[1])


def test_a_follow_up_carries_the_previous_turn(server, demo_path):
    server.push(Reply(f"```sql\n{GOOD}\n```"),
                Reply("```sql\nSELECT COUNT(*) AS n FROM cars WHERE \"Origin\" = 'Europe'\n```"))
    first = ask_server(server)
    second = ask_server(server, question="only Europe", history=[first])
    assert second.error is None and second.df["n"].tolist() == [73]
    messages = server.requests[1]["messages"]
    assert messages[1] == {"role": "user", "content": "How many cars per origin?"}
    assert GOOD in messages[2]["content"] and "3 rows; columns: Origin, n" in messages[2]["content"]
    assert messages[-1]["content"] == "only Europe"


def test_tokens_stream_as_events(server, demo_path):
    server.push(Reply(f"Here you go:\n```sql\n{GOOD}\n```"))
    tokens = []
    ask_server(server, on_event=lambda e: tokens.append(e.data["token"]) if "token" in e.data else None)
    assert len(tokens) > 3 and "".join(tokens).startswith("Here you go")


def test_a_stream_cut_short_is_retried(server, demo_path, monkeypatch):
    monkeypatch.setattr("querygpt_jupyter.agent.llm.ModelSettings.backoff_s", 0.01)
    server.push(CutStream(after_chunks=3, content=f"```sql\n{GOOD}\n```"), Reply(f"```sql\n{GOOD}\n```"))
    answer = ask_server(server)
    assert answer.error is None and len(server.requests) == 2


EUROPE = 'SELECT COUNT(*) AS n FROM "cars" WHERE "Origin" = \'Europe\''
# the first 32 characters, 'SELECT COUNT(*) AS n FROM "cars"', are a complete query on their own
# (406 cars instead of 73): the role chunk and four 8-character pieces arrive before the cut
EUROPE_CUT = CutStream(after_chunks=5, content=EUROPE, graceful=True)


def test_a_stream_that_ends_without_finishing_is_retried_not_run(server, demo_path, monkeypatch):
    monkeypatch.setattr("querygpt_jupyter.agent.llm.ModelSettings.backoff_s", 0.01)
    server.push(EUROPE_CUT, Reply(EUROPE))
    answer = ask_server(server, question="How many European cars?")
    assert answer.error is None and answer.df["n"].tolist() == [73]
    assert len(server.requests) == 2


def test_a_stream_that_never_finishes_is_model_unavailable_and_nothing_runs(server, demo_path, monkeypatch):
    monkeypatch.setattr("querygpt_jupyter.agent.llm.ModelSettings.backoff_s", 0.01)
    server.push(EUROPE_CUT, EUROPE_CUT, EUROPE_CUT, EUROPE_CUT)
    answer = ask_server(server, question="How many European cars?")
    assert answer.error.code == "MODEL_UNAVAILABLE" and "stream was cut short" in answer.error.message
    assert answer.df is None and not answer.sql
    assert len(server.requests) == 4


def test_a_custom_provider_stream_cut_short_is_retried_not_run(scripted_llm, demo_path, monkeypatch):
    monkeypatch.setattr("querygpt_jupyter.agent.llm.ModelSettings.backoff_s", 0.01)
    scripted_llm.push(EUROPE_CUT, Reply(EUROPE))
    answer = qg.ask("How many European cars?", db="demo", model="scripted/sql-bot", tools="off")
    assert answer.error is None and answer.df["n"].tolist() == [73]
    assert len(scripted_llm.calls) == 2


def test_an_answer_cut_at_the_length_limit_is_not_run(server, demo_path):
    server.push(Reply(f"```sql\n{EUROPE}\n```", finish_reason="length"))
    answer = ask_server(server, question="How many European cars?")
    assert answer.error.code == "AGENT_FAILURE" and "length limit" in answer.error.message
    assert answer.df is None and len(server.requests) == 1


def test_usage_and_cost_are_reported(server, demo_path):
    server.push(Reply(f"```sql\n{GOOD}\n```", prompt_tokens=1000, completion_tokens=100))
    answer = ask_server(server)
    assert answer.usage["prompt_tokens"] == 1000 and answer.usage["completion_tokens"] == 100
    assert answer.usage["cost_usd"] == pytest.approx(0.00021)
    assert answer.to_dict()["timings_ms"]["generating_sql"] > 0


def test_a_missing_key_is_model_unavailable_before_any_request(monkeypatch, demo_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    answer = qg.ask("How many cars?", db="demo", model="openai/gpt-4o-mini")
    assert answer.error.code == "MODEL_UNAVAILABLE" and "OPENAI_API_KEY" in str(answer.error)


def test_key_env_names_the_variable_and_the_key_is_sent_not_stored(server, monkeypatch, demo_path):
    monkeypatch.setenv("MY_TEAM_KEY", "sk-test-secret-123")
    server.push(Reply(f"```sql\n{GOOD}\n```"))
    answer = ask_server(server, key_env="MY_TEAM_KEY")
    assert answer.error is None
    assert server.request_headers[0]["authorization"] == "Bearer sk-test-secret-123"
    assert "sk-test-secret-123" not in repr(answer.to_dict())


def test_a_server_that_is_down_is_model_unavailable(demo_path, monkeypatch):
    monkeypatch.setattr("querygpt_jupyter.agent.llm.ModelSettings.backoff_s", 0.01)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    answer = qg.ask("How many cars?", db="demo", model="openai/local", api_base=f"http://127.0.0.1:{port}/v1",
                    tools="off", model_retries=1)
    assert answer.error.code == "MODEL_UNAVAILABLE" and "2 attempts" in answer.error.message


def test_a_prose_refusal_is_an_agent_failure(server, demo_path):
    server.push(*[Reply("I cannot answer that from these tables.")] * 4)
    answer = ask_server(server, question="What is the meaning of life?")
    assert answer.error.code == "AGENT_FAILURE"


def test_ctrl_c_during_a_stream_stops_cleanly(server, demo_path):
    server.push(Reply("x" * 400, chunk_delay=0.05), Reply(f"```sql\n{GOOD}\n```"))
    timer = threading.Timer(0.4, _thread.interrupt_main)
    timer.start()
    answer = ask_server(server)
    timer.join()
    assert answer.error.code == "QUERY_TIMEOUT" and "stopped" in answer.error.message
    assert ask_server(server).error is None  # the kernel (and the agent) stay usable


def test_steps_are_bounded(server, demo_path):
    server.push(*[Reply(tool_calls=[{"name": "list_tables", "arguments": {}}])] * 3)
    answer = ask_server(server, tools="on", max_steps=3)
    assert answer.error.code == "AGENT_FAILURE" and len(server.requests) == 3


@pytest.mark.parametrize("text, sql", [
    ("```sql\nSELECT 1\n```", "SELECT 1"),
    ("Here:\n```\nSELECT a FROM t;\n```\nDone.", "SELECT a FROM t"),
    ("SELECT a FROM t WHERE b = 1;\nThis filters.", "SELECT a FROM t WHERE b = 1"),
    ("with x as (select 1) select * from x", "with x as (select 1) select * from x"),
    ("No SQL here.", ""),
])
def test_sql_is_extracted_from_prose(text, sql):
    assert extract_sql(text)[0] == sql


def test_cli_ask_with_a_local_server_prints_one_json_object(server, demo_path):
    import json
    import os
    import subprocess

    from conftest import BIN

    server.push(Reply(f"```sql\n{GOOD}\n```", prompt_tokens=500, completion_tokens=20))
    proc = subprocess.run([os.path.join(BIN, "querygpt"), "ask", "How many cars per origin?", "--db", demo_path,
                           "--model", "openai/gpt-4o-mini", "--api-base", server.base_url, "--tools", "off", "--json"],
                          capture_output=True, text=True, timeout=120)
    out = json.loads(proc.stdout)
    assert proc.returncode == 0 and out["row_count"] == 3 and out["model"] == "openai/gpt-4o-mini"
    assert out["usage"]["prompt_tokens"] == 500 and out["usage"]["cost_usd"] > 0


def test_cli_exit_5_when_the_model_is_unavailable(demo_path):
    import os
    import subprocess

    from conftest import BIN

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run([os.path.join(BIN, "querygpt"), "ask", "How many cars?", "--db", demo_path, "--model", "openai/x",
                           "--api-base", f"http://127.0.0.1:{port}/v1", "--tools", "off"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 5 and proc.stderr.startswith("MODEL_UNAVAILABLE") and proc.stdout == ""


def test_magic_session_stats_model_and_developer_attempts(server, demo_path):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    try:
        shell.run_cell("%load_ext querygpt_jupyter")
        server.push(Reply("```sql\nSELECT Orign FROM cars\n```", prompt_tokens=300, completion_tokens=10),
                    Reply(f"```sql\n{GOOD}\n```", prompt_tokens=400, completion_tokens=12),
                    Reply("```sql\nSELECT COUNT(*) AS n FROM cars WHERE \"Origin\" = 'Japan'\n```"))
        with capture_output() as captured:
            shell.run_cell(f"%ask model openai/gpt-4o-mini --api-base {server.base_url}")
            shell.run_cell("%config Ask.tools = 'off'")
            result = shell.run_cell("%%ask --view developer --fresh\nHow many cars per origin?")
            follow = shell.run_cell("%%ask --fresh\nonly Japan")
            shell.run_cell("%ask stats")
        assert result.success and follow.success
        html = "".join(o.data.get("text/html", "") for o in captured.outputs)
        assert "attempt 1: SCHEMA_ERROR" in html and "attempt 2: accepted" in html
        assert server.requests[2]["messages"][1]["content"] == "How many cars per origin?"
        stats = captured.outputs[-1].data["text/plain"]
        assert stats.startswith("2 turns (0 failed)") and "712 prompt" in stats.replace(",", "")  # 300 + 400 + the follow-up's 12
        assert "Model: openai/gpt-4o-mini" in captured.outputs[0].data["text/plain"]
    finally:
        shell.run_cell("%unload_ext querygpt_jupyter")
        InteractiveShell.clear_instance()


def test_tables_in_other_schemas_are_named_and_checked_with_their_schema():
    from querygpt_jupyter.agent.prompts import table_ddl
    from querygpt_jupyter.connections.catalog import Catalog, Column, Table
    from querygpt_jupyter.errors import SchemaError
    from querygpt_jupyter.sql.schema_check import normalize_sql

    catalog = Catalog("postgres", "fp", (Table("orders", (Column("id", "INTEGER"),)),
                                         Table("reporting.revenue", (Column("Country", "TEXT"),))))
    assert table_ddl(catalog.tables[1]).startswith("CREATE TABLE reporting.revenue (")
    assert normalize_sql('SELECT "Country" FROM reporting.revenue', catalog)[0] == 'SELECT "Country" FROM reporting.revenue'
    with pytest.raises(SchemaError) as info:
        normalize_sql("SELECT * FROM reporting.revenu", catalog)
    assert "reporting.revenu" in info.value.message and "reporting.revenue" in info.value.hint
