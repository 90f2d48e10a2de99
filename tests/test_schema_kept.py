"""The developer view shows what the schema context kept and why: a model turn on a schema larger
than the prompt's budget records the kept tables, their reasons and the tokens on the answer, the
magic's developer view and the sidebar's developer notes show them, the user view does not."""
from __future__ import annotations

import duckdb
import pytest

import querygpt_jupyter as qg
from fakes.openai_server import Reply, ScriptedOpenAIServer
from querygpt_jupyter.agent.prompts import SCHEMA_TOKEN_BUDGET
from querygpt_jupyter.faces.render.answer import answer_html
from querygpt_jupyter.faces.widget._view import finished_turn

FILLER_TABLES = 120
SQL = 'SELECT "region", SUM("amount") AS total FROM "sales_orders" GROUP BY "region" ORDER BY total DESC'


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """A real DuckDB file: `sales_orders` among 120 unrelated tables of 12 columns each."""
    path = tmp_path_factory.mktemp("kept") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales_orders (id INTEGER PRIMARY KEY, region VARCHAR, amount DOUBLE)")
    con.execute("INSERT INTO sales_orders VALUES (1, 'North', 10), (2, 'South', 5), (3, 'North', 2.5)")
    for i in range(FILLER_TABLES):
        cols = ", ".join(f"sensor_reading_{i}_{j} DOUBLE" for j in range(12))
        con.execute(f"CREATE TABLE telemetry_device_{i} (device_id INTEGER, {cols})")
    con.close()
    return str(path)


@pytest.fixture()
def server():
    with ScriptedOpenAIServer([]) as s:
        yield s


def ask(server, db, question="Total sales order amount per region"):
    server.push(Reply(f"```sql\n{SQL}\n```"))
    return qg.ask(question, db=db, model="openai/gpt-4o-mini", api_base=server.base_url, tools="off",
                  view="developer")


def test_a_pruned_prompt_records_the_kept_tables_and_why(server, warehouse):
    answer = ask(server, warehouse)
    assert answer.error is None, answer.error
    kept = answer.schema_kept
    assert kept is not None and kept.of_tables == FILLER_TABLES + 1
    assert "sales_orders" in kept.tables and len(kept.tables) < kept.of_tables
    assert dict(kept.reasons)["sales_orders"]               # a reason, not an empty string
    assert 0 < kept.tokens <= kept.budget < SCHEMA_TOKEN_BUDGET
    system = server.requests[0]["messages"][0]["content"]
    shown = [line.split()[1] for line in system.splitlines() if line.startswith("TABLE ")]
    assert shown == list(kept.tables)                        # the record names what the prompt showed


def test_the_developer_views_show_it_and_the_user_view_does_not(server, warehouse):
    answer = ask(server, warehouse)
    note = answer.schema_kept.note()
    assert note.startswith(f"Schema context: {len(answer.schema_kept.tables)} of {FILLER_TABLES + 1} tables")
    assert "sales_orders (" in note and "more (no match" in note   # grouped by reason, the rest counted
    assert len(note) < 600
    developer = answer_html(answer, view="developer")
    assert "qg-schema-kept" in developer and "sales_orders (" in developer
    assert "qg-schema-kept" not in answer_html(answer, view="user")
    turn = finished_turn(answer.turn_id, answer, "sidebar")
    assert note in turn["developer"]["notes"]
    assert note not in answer.notes                          # not a user-facing note


def test_a_schema_that_fits_records_nothing(server, demo_path):
    server.push(Reply('```sql\nSELECT COUNT(*) AS n FROM cars\n```'))
    answer = qg.ask("How many cars?", db="demo", model="openai/gpt-4o-mini", api_base=server.base_url, tools="off")
    assert answer.error is None and answer.schema_kept is None
    assert "qg-schema-kept" not in answer_html(answer, view="developer")
    assert not any(n.startswith("Schema context:") for n in finished_turn(answer.turn_id, answer, "sidebar")["developer"]["notes"])
