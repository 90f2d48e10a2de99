"""The notebook carries its conversation in its notebook-level `metadata.querygpt`, kept by the
JupyterLab extension (js/src/lab/conversation.js): in a real JupyterLab (the fixtures of
test_sidebar_browser.py) a `%%ask` turn and its `%ask feedback` reach `{"format": 1, "turns": [...]}`,
are saved in the .ipynb, survive "clear all outputs", and are what the kernel's replay reads back."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from querygpt_jupyter.history.notebook import notebook_records
import test_sidebar_browser as sidebar
from test_sidebar_browser import CHROMIUM, _cells, _run_cell

lab, model_server, page = sidebar.lab, sidebar.model_server, sidebar.page   # its fixtures: a JupyterLab of this module's own

QUESTION = "Average horsepower by origin"
NAME = "conversation.ipynb"


@pytest.fixture(autouse=True)
def _needs_chromium():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: bash scripts/browser installs it")


def _open(page, path: str, content: dict | None = None) -> None:
    """Open `path` (written first through the contents API when `content` is given) and wait for its kernel."""
    page.evaluate("""async ([path, content]) => {
        if (content) await jupyterapp.serviceManager.contents.save(path, {type: 'notebook', format: 'json', content});
        await jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook', kernel: {name: 'python3'}}); }""",
                  [path, content])
    page.wait_for_function("""(path) => { const w = jupyterapp.shell.currentWidget;
        return w?.context?.path === path && w.sessionContext?.session?.kernel?.status === 'idle'; }""", arg=path)


def _metadata(page):
    return page.evaluate("() => jupyterapp.shell.currentWidget.context.model.getMetadata('querygpt') ?? null")


def _save(page) -> None:
    page.evaluate("() => jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !jupyterapp.shell.currentWidget.context.model.dirty")


def _clear_outputs(page) -> None:
    page.evaluate("() => jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.wait_for_function("() => jupyterapp.shell.currentWidget.content.model.sharedModel.cells.every(c => !(c.outputs || []).length)")


def _output_records(nb) -> list[dict]:
    return [o.metadata["querygpt"] for c in nb.cells for o in c.get("outputs", []) if "querygpt" in o.get("metadata", {})]


def _check_turn(turns: list[dict], turn_id: str) -> None:
    assert [t["id"] for t in turns] == [turn_id]
    assert turns[0]["question"] == QUESTION and 'AVG("Horsepower")' in turns[0]["sql"]
    assert turns[0]["feedback"]["kind"] == "correct"


def test_the_conversation_is_saved_in_notebook_metadata_and_survives_clearing_outputs(page):
    empty = {"cells": [], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
             "nbformat": 4, "nbformat_minor": 5}
    _open(page, NAME, empty)
    where = _run_cell(page, "%load_ext querygpt_jupyter\nimport os\nprint('CWD=' + os.getcwd())")
    stream = json.loads(_cells(page)[where]["outputs"][0])
    path = Path(stream["text"].split("CWD=", 1)[1].strip()) / NAME
    _run_cell(page, f"%%ask --conn demo\n{QUESTION}")
    _run_cell(page, "%ask feedback good")
    page.wait_for_function("() => jupyterapp.shell.currentWidget.context.model.getMetadata('querygpt')?.turns?.[0]?.feedback")
    _save(page)

    saved = nbformat.read(path, as_version=4)
    kept = saved.metadata["querygpt"]
    assert kept["format"] == 1
    records = _output_records(saved)
    assert len(records) == 1 and records[0]["feedback"] is None      # the output keeps the record as the kernel wrote it
    _check_turn(kept["turns"], records[0]["id"])
    turn_id = records[0]["id"]
    assert [r.id for r in notebook_records(str(path))] == [turn_id]   # once, although the file holds it twice

    _clear_outputs(page)
    _save(page)
    cleared = nbformat.read(path, as_version=4)
    assert _output_records(cleared) == []
    assert cleared.metadata["querygpt"]["format"] == 1
    _check_turn(cleared.metadata["querygpt"]["turns"], turn_id)

    # the kernel side, from the file alone (no browser): replay finds the turn with its feedback
    records = notebook_records(str(path))
    assert [(r.id, r.question, r.feedback["kind"]) for r in records] == [(turn_id, QUESTION, "correct")]
    assert 'AVG("Horsepower")' in records[0].sql

    # a notebook run elsewhere (nbconvert: records in the outputs only) is not modified by opening
    # it; clearing its outputs moves its turns into the notebook metadata
    elsewhere = json.loads(json.dumps(saved))
    del elsewhere["metadata"]["querygpt"]
    _open(page, "elsewhere.ipynb", elsewhere)
    page.wait_for_timeout(500)
    assert _metadata(page) is None
    _clear_outputs(page)
    page.wait_for_function("() => jupyterapp.shell.currentWidget.context.model.getMetadata('querygpt')")
    _save(page)
    _check_turn(nbformat.read(path.with_name("elsewhere.ipynb"), as_version=4).metadata["querygpt"]["turns"], turn_id)


def test_turns_are_ordered_deduplicated_merged_with_feedback_and_capped(page):
    """js/src/lab/conversation.js's merge, run in the browser from the source."""
    source = (Path(__file__).resolve().parent.parent / "js" / "src" / "lab" / "conversation.js").read_text()
    result = page.evaluate("""async (source) => {
        const js = await import(URL.createObjectURL(new Blob([source], {type: 'text/javascript'})));
        const r = (id, t, more = {}) => ({format: 1, id, question: 'q ' + id, created_at: t, feedback: null, ...more});
        const first = js.merge(undefined, [r('b', 2), r('a', 1)], new Map());
        const rated = js.merge(first, [r('a', 1)], new Map([['a', {kind: 'correct', text: null}], ['sidebar', {kind: 'wrong', text: null}]]));
        const again = js.merge({...rated, other: 'kept'}, [r('a', 1), r('c', 0.5)], new Map());
        const many = js.merge(again, Array.from({length: 600}, (_, i) => r('x' + i, 10 + i)), new Map());
        return {first, rated, again, many: {n: many.turns.length, oldest: many.turns[0].id, newest: many.turns.at(-1).id}}; }""",
                           source)
    assert result["first"] == {"format": 1, "turns": [
        {"format": 1, "id": "a", "question": "q a", "created_at": 1, "feedback": None},
        {"format": 1, "id": "b", "question": "q b", "created_at": 2, "feedback": None}]}
    assert [(t["id"], t["feedback"]) for t in result["rated"]["turns"]] == [("a", {"kind": "correct", "text": None}), ("b", None)]
    # the output's record again (no feedback in it) keeps the feedback; other keys stay
    assert [(t["id"], t["feedback"]) for t in result["again"]["turns"]] == [
        ("c", None), ("a", {"kind": "correct", "text": None}), ("b", None)]
    assert result["again"]["other"] == "kept"
    assert result["many"] == {"n": 500, "oldest": "x100", "newest": "x599"}
