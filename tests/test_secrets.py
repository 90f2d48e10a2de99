"""Secrets stay out of errors: a model server that echoes the rejected key, and a driver error that
quotes the connection's password, must not reach --json, the API's Answer, the history or logs."""
from __future__ import annotations

import json
import logging
import os
import subprocess

import pytest

import querygpt_jupyter as qg
from conftest import BIN
from fakes.openai_server import ScriptedOpenAIServer, Status
from servers import pg_server  # noqa: F401  (fixture)

KEY = "sk-team-Zq8v1TUVWXYZ0123456789secret"
PROVIDER_KEY = "prov-Kk29Xx7Qq-only-in-env"


def echo(code: int, key: str = KEY) -> Status:
    """An OpenAI-style error whose message quotes the key, as some servers and proxies do."""
    return Status(code, {"error": {"message": f"Incorrect API key provided: {key}. You can find your API key at "
                                              f"https://example.invalid (key={key})", "type": "invalid_request_error",
                                   "param": None, "code": "invalid_api_key"}})


@pytest.fixture()
def server():
    with ScriptedOpenAIServer([]) as s:
        yield s


def history_text() -> str:
    """Everything in the history index file (the WAL included), as text."""
    from querygpt_jupyter.paths import data_home

    text = ""
    for name in os.listdir(data_home()):
        if name.startswith("history.sqlite"):
            with open(os.path.join(data_home(), name), "rb") as f:
                text += f.read().decode("latin-1")
    return text


@pytest.mark.parametrize("code", [401, 400, 403])
def test_the_api_masks_a_key_the_server_echoes(server, monkeypatch, demo_path, code, caplog):
    monkeypatch.setenv("MY_TEAM_KEY", KEY)
    server.push(echo(code))
    with caplog.at_level(logging.DEBUG, logger="querygpt"):
        answer = qg.ask("How many cars?", db="demo", model="openai/gpt-4o-mini", api_base=server.base_url,
                        key_env="MY_TEAM_KEY", tools="off", model_retries=0)
    assert answer.error is not None and answer.error.code in ("MODEL_UNAVAILABLE", "AGENT_FAILURE")
    shown = json.dumps(answer.to_dict()) + str(answer.error) + repr(answer.error) + "".join(answer.error.args)
    assert KEY not in shown and "Zq8v1TUVWXYZ" not in shown
    assert "***" in str(answer.error)
    assert KEY not in history_text()
    assert KEY not in caplog.text


def test_the_cli_json_masks_a_key_the_server_echoes(server, demo_path):
    server.push(echo(401))
    env = {**os.environ, "MY_TEAM_KEY": KEY}
    proc = subprocess.run([os.path.join(BIN, "querygpt"), "ask", "How many cars?", "--db", demo_path, "--model",
                           "openai/gpt-4o-mini", "--api-base", server.base_url, "--key-env", "MY_TEAM_KEY",
                           "--tools", "off", "--json"], capture_output=True, text=True, timeout=120, env=env)
    out = json.loads(proc.stdout)
    assert proc.returncode == 5 and out["error"]["code"] == "MODEL_UNAVAILABLE"
    assert KEY not in proc.stdout and KEY not in proc.stderr and "***" in out["error"]["message"]
    assert KEY not in history_text()


def test_a_provider_key_litellm_reads_is_masked_without_key_env(server, monkeypatch, demo_path):
    monkeypatch.setenv("OPENAI_API_KEY", PROVIDER_KEY)
    server.push(echo(401, PROVIDER_KEY))
    answer = qg.ask("How many cars?", db="demo", model="openai/gpt-4o-mini", api_base=server.base_url, tools="off",
                    model_retries=0)
    assert answer.error is not None and PROVIDER_KEY not in json.dumps(answer.to_dict())


def test_the_magic_output_masks_the_key(server, monkeypatch, demo_path):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    monkeypatch.setenv("MY_TEAM_KEY", KEY)
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext querygpt_jupyter")
    try:
        shell.run_cell(f"%ask model openai/gpt-4o-mini --key-env MY_TEAM_KEY --api-base {server.base_url}")
        shell.run_cell("%config Ask.tools = 'off'")
        shell.run_cell("%config Ask.model_retries = 0")
        server.push(echo(401))
        with capture_output() as captured:
            result = shell.run_cell("%ask How many cars in total")
        assert result.error_in_exec is not None
        rendered = "".join(result.error_in_exec._render_traceback_()) + captured.stdout + captured.stderr
        assert "MODEL_UNAVAILABLE" in rendered and KEY not in rendered
    finally:
        shell.run_cell("%unload_ext querygpt_jupyter")


def test_a_postgres_password_in_a_driver_error_is_masked(pg_server):  # noqa: F811
    password = pg_server.password
    assert password and password in pg_server.url
    answer = qg.run_sql(f"SELECT CAST('{password}' AS INTEGER) AS n", db=pg_server.url)
    assert answer.error is not None and answer.error.label == "TYPE_ERROR"  # a value that is not an integer
    assert password not in json.dumps(answer.to_dict()["error"]) and "***" in str(answer.error)
    assert password not in history_text()  # not even in the recorded SQL, which quoted it


def test_a_password_in_an_unreadable_url_is_masked():
    answer = qg.run_sql("SELECT 1", db="postgresql://me:Hunter2Secret@127.0.0.1:notaport/db")
    assert answer.error is not None and answer.error.code == "DB_CONN_FAIL"
    assert "Hunter2Secret" not in json.dumps(answer.to_dict())


@pytest.mark.parametrize("text, secret", [
    ("postgresql://u:pa55word@h/db failed", "pa55word"),
    ("mysql+pymysql://u:p%40ss@h/db", "p%40ss"),
    ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
    ("Incorrect API key provided: sk-proj-ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOP"),
    ('{"api_key": "zz-1234567"}', "zz-1234567"),
])
def test_scrub_masks_key_shapes_and_url_passwords(text, secret):
    from querygpt_jupyter.redact import scrub

    assert secret not in scrub(text)


def test_scrub_keeps_sql_filters_on_password_columns_in_records():
    from querygpt_jupyter.redact import scrub

    sql = "SELECT * FROM users WHERE password = 'abcd1234'"
    assert scrub(sql, shapes=False) == sql
