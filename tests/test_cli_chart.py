"""`querygpt ask|sql --chart PATH`: the only place the command line draws an image. Without it the
answer describes its chart from the spec and never loads the SVG engine (or Altair)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import BIN


def querygpt(*args, cwd=None):
    return subprocess.run([os.path.join(BIN, "querygpt"), *args], capture_output=True, text=True, timeout=180, cwd=cwd)


@pytest.mark.parametrize("command", [("ask", "Average horsepower by origin"),
                                     ("sql", 'SELECT "Origin", AVG("Horsepower") AS hp FROM cars GROUP BY 1')])
@pytest.mark.parametrize("suffix, starts", [(".svg", b"<svg"), (".png", b"\x89PNG"), (".html", b"<!DOCTYPE html>")])
def test_chart_is_saved_where_asked(tmp_path, demo_path, command, suffix, starts):
    path = tmp_path / f"chart{suffix}"
    proc = querygpt(*command, "--db", demo_path, "--chart", str(path))
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes()[:len(starts)].lower() == starts.lower()
    assert f"Saved the chart to {path}" in proc.stderr
    assert "[Bar chart of" in proc.stdout          # still described in one line


def test_saved_html_opens_offline(tmp_path, demo_path):
    path = tmp_path / "chart.html"
    querygpt("ask", "Share of cars by origin", "--db", demo_path, "--chart", str(path))
    page = path.read_text()
    assert "cdn.jsdelivr" not in page and "vegaEmbed" in page


def test_no_chart_for_the_result_writes_nothing_and_says_so(tmp_path, demo_path):
    path = tmp_path / "chart.svg"
    proc = querygpt("sql", "SELECT COUNT(*) AS n FROM cars", "--db", demo_path, "--chart", str(path))
    assert proc.returncode == 0 and not path.exists()
    assert "No chart suits this result" in proc.stderr


@pytest.mark.parametrize("name", ["chart.pdf", "chart", "chart.svg.txt"])
def test_other_file_kinds_are_a_usage_error_before_anything_runs(tmp_path, demo_path, name):
    proc = querygpt("ask", "Average horsepower by origin", "--db", demo_path, "--chart", str(tmp_path / name))
    assert proc.returncode == 2 and ".svg, .png, .html" in proc.stderr
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_an_answer_only_read_draws_no_image(demo_path, flags):
    code = ("import sys; from querygpt_jupyter.faces.cli import main; "
            f"status = main(['ask', 'Average horsepower by origin', '--db', {demo_path!r}, *{flags!r}]); "
            "print('LOADED', sorted(m for m in ('vl_convert', 'altair') if m in sys.modules), status, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert "LOADED [] 0" in proc.stderr, proc.stderr
    assert "Bar chart of avg_Horsepower by Origin" in proc.stdout or '"chart": {' in proc.stdout
