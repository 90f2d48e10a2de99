"""The example notebooks run top to bottom offline in a real kernel, with the outputs we promise."""
from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

VEGALITE = "application/vnd.vegalite.v5+json"


def execute(name: str, tmp_path):
    nb = nbformat.read(os.path.join(ROOT, "notebooks", name), as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    nbformat.validate(nb)
    return nb


def outputs_of(nb, startswith: str):
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(startswith))
    return cell.outputs


def html_of(outputs) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in outputs)


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    return execute("quickstart.ipynb", tmp_path_factory.mktemp("nb"))


def test_quickstart_runs_without_errors(quickstart):
    errors = [o for c in quickstart.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []


def test_quickstart_tables_lists_the_demo_catalogue(quickstart):
    text = outputs_of(quickstart, "%ask tables")[0]["data"]["text/plain"]
    assert "seattle_weather" in text and "Origin" in text


def test_quickstart_question_has_a_static_chart_and_a_table(quickstart):
    outputs = outputs_of(quickstart, "%%ask\nAverage horsepower by origin")
    charts = [o for o in outputs if VEGALITE in o.get("data", {})]
    assert len(charts) == 1 and charts[0]["data"]["image/svg+xml"].lstrip().startswith("<svg")
    assert "Europe" in html_of(outputs) and "3 rows" in html_of(outputs)


def test_quickstart_sql_cell_binds_its_dataframe(quickstart):
    text = outputs_of(quickstart, "hp_by_origin")[0]["data"]["text/plain"]
    assert "Europe" in text and "Japan" in text and "USA" in text


def test_quickstart_refusals_are_explained(quickstart):
    assert "AGENT_FAILURE" in outputs_of(quickstart, "import querygpt_jupyter as qg")[0]["text"]
    assert "PERMISSION_DENIED" in outputs_of(quickstart, "refused = ")[0]["text"]


def test_a_real_kernel_receives_the_inserted_cell(demo_path):
    """JupyterLab inserts the cell from the execute_reply's set_next_input payload."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        kc.execute_interactive("%load_ext querygpt_jupyter", timeout=60)
        reply = kc.execute_interactive("%%ask\nHow many cars per origin?", timeout=120, output_hook=lambda msg: None)
        payloads = reply["content"]["payload"]
        assert [p["source"] for p in payloads] == ["set_next_input"]
        assert payloads[0]["text"].startswith("%%ask --sql --conn demo --name cars_origin") and payloads[0]["replace"] is False
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_the_report_runs_headless_and_replays_on_the_second_run(tmp_path):
    """A report notebook: the first headless run answers; a re-run of the saved notebook replays
    the recorded SQL (no planner or model involved) and prints the same figures."""
    first = execute("report.ipynb", tmp_path)
    nbformat.write(first, tmp_path / "report.ipynb")
    summary = outputs_of(first, "print(f\"Rain fell")[0]["text"]
    assert summary.startswith("Rain fell on ") and "mm" in summary
    again = nbformat.read(tmp_path / "report.ipynb", as_version=4)
    NotebookClient(again, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert outputs_of(again, "print(f\"Rain fell")[0]["text"] == summary
    replayed = html_of(outputs_of(again, "%%ask --name rainy_days"))
    assert "Replayed the SQL querygpt/offline wrote" in replayed
    carried = [o["metadata"]["querygpt"] for o in outputs_of(first, "%%ask --name precipitation") if "querygpt" in o.get("metadata", {})]
    assert carried and carried[0]["sql"] and carried[0]["format"] == 1


PENGUINS_CSV = os.path.join(ROOT, "tests", "data", "penguins.csv")


@pytest.mark.parametrize("order", [("frames", "demo"), ("demo", "frames")])
def test_a_dataframe_and_the_demo_both_answer_in_a_real_kernel(order, tmp_path, demo_path):
    """A notebook with a DataFrame (Palmer penguins) asks about it and about the demo database,
    in either order: both answer, each output names its connection, and the inserted cells'
    SQL re-runs on the same connection."""
    cells = {
        "frames": "%%ask --name by_species\nAverage body mass per species",
        "demo": "%%ask --name by_origin\nAverage horsepower by origin",
    }
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import pandas as pd\n%load_ext querygpt_jupyter\n"
                                  f"penguins = pd.read_csv({PENGUINS_CSV!r})"),
        *[nbformat.v4.new_code_cell(cells[which]) for which in order],
        nbformat.v4.new_code_cell("expected = penguins.groupby('species')['body_mass_g'].mean()\n"
                                  "got = by_species.set_index('species').iloc[:, 0]\n"
                                  "print('SAME', bool(((got - expected).abs() < 1e-9).all()), sorted(by_origin.iloc[:, 0]))"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    frames_text = "".join(o.get("data", {}).get("text/plain", "") for o in outputs_of(nb, cells["frames"]))
    demo_text = "".join(o.get("data", {}).get("text/plain", "") for o in outputs_of(nb, cells["demo"]))
    assert "Connection: dataframes (DataFrames penguins)" in frames_text and "Gentoo" in frames_text
    assert "Connection: demo" in demo_text and "Europe" in demo_text
    assert outputs_of(nb, "expected = ")[0]["text"].strip() == "SAME True ['Europe', 'Japan', 'USA']"
