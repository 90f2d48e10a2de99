"""Every sub-command declares its grammar, so `%ask help` and `querygpt … --help` cover them all
and a mistake names the usage."""
from __future__ import annotations

import pytest
from IPython.utils.capture import capture_output

from conftest import loaded_shell
from querygpt_jupyter import errors
from querygpt_jupyter.faces.cli import main

MAGIC_SUBCOMMANDS = ["connect", "tables", "model", "history", "search", "feedback", "stats", "chat", "help"]
CLI_SUBCOMMANDS = ["demo-db", "ask", "sql", "schema", "history"]


@pytest.fixture(scope="module")
def shell():
    with loaded_shell() as shell:
        yield shell


def _text(shell, line: str) -> str:
    with capture_output() as captured:
        result = shell.run_cell(line)
    assert result.success, result.error_in_exec or result.error_before_exec
    return "".join(o.data.get("text/plain", "") for o in captured.outputs) + captured.stdout


def test_ask_help_lists_every_sub_command_with_its_usage(shell):
    text = _text(shell, "%ask help")
    assert "--conn" in text and "--fresh" in text          # the %%ask options come first
    for name in MAGIC_SUBCOMMANDS:
        assert f"%ask {name}" in text, name


@pytest.mark.parametrize("name", MAGIC_SUBCOMMANDS)
def test_each_sub_command_has_its_own_help(shell, name):
    for line in (f"%ask help {name}", f"%ask {name} --help"):
        text = _text(shell, line)
        assert text.startswith(f"usage: %ask {name}"), line


@pytest.mark.parametrize("line, usage", [
    ("connect", "%ask connect [--name NAME] URL"),
    ("connect a.duckdb b.duckdb", "%ask connect [--name NAME] URL"),
    ("connect x.duckdb --name", "%ask connect [--name NAME] URL"),
    ("model --key-env", "%ask model [--key-env NAME] [--api-base URL] [MODEL]"),
    ("feedback", "%ask feedback KIND [TEXT]"),
    ("feedback splendid", "%ask feedback KIND [TEXT]"),
    ("search", "%ask search TEXT [TEXT ...]"),
    ("history --everything", "%ask history [--all] [N]"),
])
def test_a_sub_command_mistake_names_its_usage(shell, line, usage):
    result = shell.run_cell(f"%ask {line}")
    error = result.error_in_exec
    assert isinstance(error, errors.UsageError) and error.message == f"Usage: {usage}" and error.hint


def test_the_cli_lists_every_sub_command(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    for name in CLI_SUBCOMMANDS:
        assert name in out, name


@pytest.mark.parametrize("name", CLI_SUBCOMMANDS)
def test_each_cli_sub_command_has_its_own_help(capsys, name):
    with pytest.raises(SystemExit) as exited:
        main([name, "--help"])
    assert exited.value.code == 0 and capsys.readouterr().out.startswith(f"usage: querygpt {name}")
