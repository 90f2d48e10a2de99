"""The chat sidebar in a real JupyterLab, driven in headless Chromium (Debian's, via Playwright):
open a notebook, dock the chat, ask the demo database with the offline planner, see progress, SQL,
table and chart; insert the SQL as a cell; give feedback; see a `%%ask` cell's turn in the sidebar;
stop a slow streamed model turn. Screenshots go to test-artifacts/sidebar/ (printed).

`bash scripts/browser` (run by scripts/test) installs chromium and builds the front end."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from fakes.openai_server import Reply, ScriptedOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "sidebar"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
LAB_EXTENSION = ROOT / "querygpt_jupyter" / "static" / "labextension"
PENGUINS_CSV = ROOT / "tests" / "data" / "penguins.csv"
WAIT_MS = 60_000          # every wait is bounded; a turn with the offline planner takes well under a second

import playwright.sync_api as playwright_api  # noqa: E402  (a missing package fails the run; it never skips)


@pytest.fixture(autouse=True)
def _chromium_is_installed():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: bash scripts/browser installs it")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(path: Path, sources: list[str]) -> None:
    cells = [{"cell_type": "code", "execution_count": None, "id": uuid.uuid4().hex[:8], "metadata": {}, "outputs": [],
              "source": src} for src in sources]
    path.write_text(json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                              "language": "python"}},
                                "nbformat": 4, "nbformat_minor": 5}))


@pytest.fixture(scope="module")
def model_server():
    """A slow streamed model on loopback, to watch tokens arrive and to stop a turn midway."""
    sql = "SELECT Origin, COUNT(*) AS n FROM cars GROUP BY Origin -- " + "thinking " * 60
    with ScriptedOpenAIServer([Reply(sql, chunk_delay=0.15)] * 3) as server:
        yield server


@pytest.fixture(scope="module")
def lab(tmp_path_factory, demo_path, model_server):
    """A JupyterLab server on a free loopback port, with window.jupyterapp exposed; killed at teardown."""
    root = tmp_path_factory.mktemp("lab-root")
    state = tmp_path_factory.mktemp("lab-state")
    _notebook(root / "chat.ipynb", ["%load_ext querygpt_jupyter\n"
                                    f"%config Ask.api_base = {model_server.base_url!r}"])
    notification = state / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))   # no news pop-up
    port, token = _free_port(), uuid.uuid4().hex
    ext_dirs = []
    if not (Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "querygpt-jupyter").exists():
        linked = state / "labextensions"
        linked.mkdir()
        (linked / "querygpt-jupyter").symlink_to(LAB_EXTENSION)
        ext_dirs.append(str(linked))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "OPENAI_API_KEY": "sk-test-not-a-key", "JUPYTER_CONFIG_DIR": str(state / "config"),
           "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    command = [sys.executable, "-m", "jupyter", "lab", "--allow-root", "--no-browser", f"--port={port}",
               "--ip=127.0.0.1", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.expose_app_in_browser=True", f"--LabApp.workspaces_dir={state / 'workspaces'}",
               f"--LabApp.user_settings_dir={state / 'settings'}", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if ext_dirs:
        command.append(f"--LabApp.extra_labextensions_path={json.dumps(ext_dirs)}")
    log = open(state / "server.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{(state / 'server.log').read_text()[-3000:]}")
                time.sleep(0.25)
        yield {"url": f"{base}/lab/tree/chat.ipynb?token={token}", "log": state / "server.log"}
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
        log.close()


@pytest.fixture(scope="module")
def page(lab):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(lab["url"])
        page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')")
        page.wait_for_function("() => jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'")
        yield page
        browser.close()


# -- helpers ------------------------------------------------------------------------------------

def _cells(page) -> list[dict]:
    return page.evaluate("""() => jupyterapp.shell.currentWidget.content.model.sharedModel.cells
        .map(c => ({source: c.getSource(), count: c.execution_count ?? null,
                    outputs: (c.outputs || []).map(o => JSON.stringify(o))}))""")


def _run_cell(page, source: str) -> int:
    """Append a cell, run it, wait until it has run; returns its index."""
    index = page.evaluate("""async (source) => {
        const nb = jupyterapp.shell.currentWidget.content;
        const i = nb.model.cells.length;
        nb.model.sharedModel.insertCell(i, {cell_type: 'code', source});
        nb.deselectAll(); nb.activeCellIndex = i;
        await jupyterapp.commands.execute('notebook:run-cell');
        return i; }""", source)
    page.wait_for_function("""(i) => jupyterapp.shell.currentWidget.content.model.sharedModel.cells[i].execution_count != null
        && jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'""", arg=index)
    return index


def _shot(target, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    target.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def _sidebar(page):
    return page.locator("#jp-right-stack .qg-chat")


# -- the scenario (one JupyterLab, steps in order) ------------------------------------------------

def test_opens_docked_from_the_command(page):
    page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function("() => jupyterapp.shell.currentWidget.content.model.sharedModel.cells[0].execution_count != null")
    page.wait_for_function("() => jupyterapp.commands.hasCommand('querygpt:open-chat')")
    page.evaluate("() => jupyterapp.commands.execute('querygpt:open-chat')")
    _sidebar(page).wait_for(state="visible")
    assert page.locator("#jp-right-stack .qg-connection option[value='demo']").count() == 1
    _shot(page, "01-opened")


def _ask_timed(page, question: str) -> dict:
    """Type a question, press Enter, wait for the chart; returns in-page times (ms) of: the turn on
    screen, the first stage event from the kernel, the chart."""
    box = _sidebar(page).locator(".qg-input")
    box.fill(question)
    page.evaluate("""() => {
        const marks = window.__qgMarks = {};
        const stack = document.getElementById('jp-right-stack');
        const input = stack.querySelector('.qg-input');
        input.addEventListener('keydown', (e) => { if (e.key === 'Enter') marks.enter = performance.now(); }, {capture: true, once: true});
        const observer = new MutationObserver(() => {
            const now = performance.now();
            const turn = stack.querySelector('.qg-turn[data-status="running"]');
            if (!marks.shown && turn) marks.shown = now;
            if (!marks.progress && turn && turn.querySelector('.qg-event[data-stage]:not([data-stage=""])')) marks.progress = now;
            if (!marks.chart && marks.shown && stack.querySelectorAll('.qg-chart img').length > window.__qgCharts) {
                marks.chart = now; observer.disconnect();
            }
        });
        window.__qgCharts = stack.querySelectorAll('.qg-chart img').length;
        observer.observe(stack, {subtree: true, childList: true, attributes: true});
    }""")
    box.press("Enter")
    page.wait_for_function("() => window.__qgMarks.chart")
    marks = page.evaluate("() => window.__qgMarks")
    return {key: marks[key] - marks["enter"] for key in ("shown", "progress", "chart") if key in marks}


def test_asks_and_shows_progress_sql_table_and_chart(page):
    sidebar = _sidebar(page)
    cold = _ask_timed(page, "Average horsepower by origin")
    turn = sidebar.locator(".qg-turn[data-status='done']").last
    page.wait_for_function("() => [...document.querySelectorAll('#jp-right-stack .qg-chart img')].every(i => i.complete && i.naturalWidth > 0)")
    assert 'AVG("Horsepower")' in turn.locator(".qg-sql").inner_text()
    assert turn.locator(".qg-sql .qg-tok-keyword").count() >= 4          # highlighted
    rows = turn.locator(".qg-table tbody tr")
    assert rows.count() == 3 and "Europe" in rows.first.inner_text()
    assert sidebar.locator(".qg-input").input_value() == ""
    _shot(page, "02-answer")
    _shot(sidebar, "02-answer-sidebar")
    warm = _ask_timed(page, "Average weight by origin")
    for name, marks in (("first question", cold), ("second question", warm)):
        print(f"figure: {name}, offline planner on the demo database: Enter -> turn on screen {marks['shown']:.0f} ms, "
              f"-> first stage event {marks['progress']:.0f} ms, -> chart {marks['chart']:.0f} ms"
              if "progress" in marks else f"figure: {name}: no stage event drawn before the answer: {marks}")
    assert "progress" in warm and warm["chart"] < 10_000


def test_inserts_the_sql_as_a_cell_below(page):
    before = len(_cells(page))
    _sidebar(page).locator(".qg-turn[data-status='done']").first.locator(".qg-insert").click()
    page.wait_for_function("(n) => jupyterapp.shell.currentWidget.content.model.cells.length > n", arg=before)
    inserted = [c["source"] for c in _cells(page) if c["source"].startswith("%%ask --sql")]
    assert inserted and 'AVG("Horsepower")' in inserted[0] and "--conn demo" in inserted[0]
    active = page.evaluate("() => { const nb = jupyterapp.shell.currentWidget.content; return nb.activeCell.model.sharedModel.getSource(); }")
    assert active == inserted[0]
    _shot(page, "03-inserted")


def test_insert_and_run_runs_the_new_cell(page):
    before = len(_cells(page))
    _sidebar(page).locator(".qg-turn[data-status='done']").last.locator(".qg-run").click()
    page.wait_for_function("(n) => jupyterapp.shell.currentWidget.content.model.cells.length > n", arg=before)
    page.wait_for_function("""() => { const nb = jupyterapp.shell.currentWidget.content;
        const c = nb.activeCell.model.sharedModel; return c.getSource().startsWith('%%ask --sql') && c.execution_count != null
        && c.outputs.length > 0; }""")


def test_feedback_is_recorded_in_the_kernel(page):
    turn = _sidebar(page).locator(".qg-turn[data-status='done']").last
    turn.locator(".qg-fb-correct").click()
    turn = _sidebar(page).locator(".qg-turn[data-status='done']").last
    page.wait_for_function("() => [...document.querySelectorAll('#jp-right-stack .qg-feedback')].some(f => f.textContent.includes('Feedback: Correct'))")
    index = _run_cell(page, "from querygpt_jupyter.session import current_session\n"
                            "print('FEEDBACK', [a.feedback for a in current_session().answers if a.feedback])")
    outputs = " ".join(_cells(page)[index]["outputs"])
    assert "FEEDBACK" in outputs and "correct" in outputs
    # a suggestion with text
    turn = _sidebar(page).locator(".qg-turn[data-status='done']").first
    turn.locator(".qg-fb-suggestion").click()
    turn.locator(".qg-suggest-text").fill("Round to one decimal")
    turn.locator(".qg-suggest-send").click()
    page.wait_for_function("() => document.querySelector('#jp-right-stack .qg-feedback').textContent.includes('Round to one decimal')")


def test_a_magic_turn_appears_in_the_sidebar(page):
    _run_cell(page, "%%ask\nHow many cars per origin?")
    sidebar = _sidebar(page)
    turn = sidebar.locator(".qg-turn", has=page.locator(".qg-badge")).filter(has_text="How many cars per origin?")
    turn.wait_for(state="visible")
    assert "COUNT" in turn.locator(".qg-sql").inner_text().upper()
    _shot(page, "04-magic-turn")


def _ask_and_wait(page, question: str):
    sidebar = _sidebar(page)
    done = sidebar.locator(".qg-turn[data-status='done'], .qg-turn[data-status='error']").count()
    box = sidebar.locator(".qg-input")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function("""(n) => document.querySelectorAll(
        '#jp-right-stack .qg-turn[data-status="done"], #jp-right-stack .qg-turn[data-status="error"]').length > n""", arg=done)
    return sidebar.locator(".qg-turn[data-status='done'], .qg-turn[data-status='error']").last


def test_asks_about_a_dataframe_and_says_which_connection_answered(page):
    """A DataFrame in the kernel (Palmer penguins) answers from the sidebar; the demo database
    still answers the next question; each turn names its connection."""
    _run_cell(page, f"import pandas as pd\npenguins = pd.read_csv({str(PENGUINS_CSV)!r})")
    turn = _ask_and_wait(page, "Average body mass per species")
    assert turn.get_attribute("data-status") == "done", turn.inner_text()
    rows = turn.locator(".qg-table tbody tr")
    assert rows.count() == 3 and "Adelie" in rows.first.inner_text()
    assert turn.locator(".qg-connection-used").inner_text().startswith("Connection: dataframes — chosen automatically")
    turn.scroll_into_view_if_needed()
    _shot(turn, "08-dataframe-turn")
    turn = _ask_and_wait(page, "Average horsepower by origin")
    assert turn.get_attribute("data-status") == "done", turn.inner_text()
    assert turn.locator(".qg-connection-used").inner_text().startswith("Connection: demo — chosen automatically")
    picker = _sidebar(page).locator(".qg-connection")
    assert picker.locator("option[value='dataframes']").count() == 1
    picker.select_option("demo")          # the picker wins over the question
    turn = _ask_and_wait(page, "Average body mass per species")
    assert turn.get_attribute("data-status") == "error" and "Connection: demo" in turn.inner_text()
    assert "chosen automatically" not in turn.locator(".qg-connection-used").inner_text()
    turn.scroll_into_view_if_needed()
    _shot(turn, "09-picker-wins-turn")
    picker.select_option("")


def test_streams_tokens_and_stops_on_escape(page, model_server):
    sidebar = _sidebar(page)
    model = sidebar.locator(".qg-model")
    model.fill("openai/gpt-4o-mini")
    model.dispatch_event("change")
    box = sidebar.locator(".qg-input")
    failed_before = sidebar.locator(".qg-turn[data-status='error']").count()
    box.fill("How many cars per origin, slowly?")
    box.press("Enter")
    sidebar.locator(".qg-turn[data-status='running'] .qg-tokens").wait_for(state="visible")
    assert sidebar.locator(".qg-stop").is_visible()
    _shot(sidebar, "05-streaming")
    started = time.perf_counter()
    box.press("Escape")
    page.wait_for_function("(n) => document.querySelectorAll('#jp-right-stack .qg-turn[data-status=\"error\"]').length > n",
                           arg=failed_before, timeout=15_000)
    stopped = sidebar.locator(".qg-turn[data-status='error']").last
    print(f"figure: Escape -> turn stopped on screen {1000 * (time.perf_counter() - started):.0f} ms")
    assert "QUERY_TIMEOUT" in stopped.locator(".qg-error").inner_text()
    assert "stopped" in stopped.locator(".qg-error").inner_text()
    assert sidebar.locator(".qg-send").is_visible()
    model.fill("querygpt/offline")
    model.dispatch_event("change")


def test_shift_enter_is_a_new_line_not_a_question(page):
    sidebar = _sidebar(page)
    turns = sidebar.locator(".qg-turn").count()
    box = sidebar.locator(".qg-input")
    box.fill("")
    box.type("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    assert sidebar.locator(".qg-turn").count() == turns
    box.fill("")


def test_opening_again_keeps_one_sidebar_tab(page):
    page.evaluate("() => jupyterapp.commands.execute('querygpt:open-chat')")
    page.wait_for_timeout(1500)
    _sidebar(page).wait_for(state="visible")
    assert page.locator("#jp-right-stack .qg-chat").count() == 1
    tabs = page.locator(".jp-SideBar.jp-mod-right .lm-TabBar-tab", has_text="QueryGPT")
    assert tabs.count() == 1
    # the conversation survives: the new view draws the same turns
    assert _sidebar(page).locator(".qg-turn").count() >= 4


def test_inline_chat_is_another_view_of_the_same_conversation(page):
    index = _run_cell(page, "import querygpt_jupyter\nquerygpt_jupyter.chat()")
    inline = page.locator(".jp-Notebook .jp-OutputArea .qg-chat")
    inline.wait_for(state="visible")
    docked = _sidebar(page).locator(".qg-turn").count()
    page.wait_for_function("(n) => document.querySelectorAll('.jp-Notebook .qg-chat .qg-turn').length === n", arg=docked)
    box = inline.locator(".qg-input")
    box.fill("How many cars per origin?")
    done = _sidebar(page).locator(".qg-turn[data-status='done']").count()
    box.press("Enter")       # asked inline, answered in both views
    page.wait_for_function("(n) => document.querySelectorAll('#jp-right-stack .qg-turn[data-status=\"done\"]').length > n",
                           arg=done)
    inline.scroll_into_view_if_needed()
    _shot(inline, "07-inline")
    assert index >= 0


def test_developer_view_and_dark_theme(page):
    sidebar = _sidebar(page)
    sidebar.locator(".qg-view").click()
    sidebar.locator(".qg-developer").first.wait_for(state="visible")
    assert sidebar.locator(".qg-events .qg-event").count() >= 5
    page.evaluate("() => jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)
    background = sidebar.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background != "rgb(255, 255, 255)"
    _shot(page, "06-developer-dark")
    sidebar.locator(".qg-view").click()
    _shot(sidebar, "06-user-dark-sidebar")


def test_bundle_size_is_reported():
    static = ROOT / "querygpt_jupyter" / "static"
    widget = sum((static / name).stat().st_size for name in ("chat.js", "chat.css"))
    lab = sum(p.stat().st_size for p in (static / "labextension").rglob("*") if p.is_file())
    print(f"figure: shipped front end: widget {widget / 1024:.1f} KiB (chat.js + chat.css), "
          f"JupyterLab extension {lab / 1024:.1f} KiB")
    assert widget < 200 * 1024
