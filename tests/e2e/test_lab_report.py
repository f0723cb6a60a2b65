"""`havip lab --report`: a real drill's page, opened in a real browser (Debian's chromium).

The report is written by a real `havip lab --once --fast` run (about 20 s), then chromium
renders it with no network: the test reads the DOM as it stands after plotly drew the charts,
the console messages, and a screenshot (its path is printed). The page's tables must hold the
same numbers as the lab's own summary, and every transition havip logged must be drawn.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .browser import CHROMIUM, Element, by_id, elements, render, select
from .conftest import NETNS_UNAVAILABLE

LAB_TIMEOUT = 90
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
STARTS = 4
"""Processes the drill starts: three routers, then r1 again."""
EXITS = 1
"""Processes it stops: r1, with SIGTERM."""

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian package chromium; scripts/setup)"
)


def run_lab_with_report(report: Path) -> str:
    """`havip lab --once --fast --report REPORT`, as a user runs it; its output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "havip", "lab", "--once", "--fast", "--report", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=LAB_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)  # it removes its namespaces on the way out
        output, _ = process.communicate(timeout=30)
        pytest.fail(f"havip lab did not finish within {LAB_TIMEOUT} s:\n{output}")
    assert process.returncode == 0, output
    return output


def summary_cells(output: str, step: str) -> str:
    (row,) = [line for line in output.splitlines() if re.match(rf"^{step}\s{{2,}}", line)]
    return row


def table_rows(found: list[Element], table: str) -> list[list[str]]:
    """The cells of each body row of the table with id `table`."""
    rows: list[list[str]] = []
    for element in found:
        if element.tag == "tr" and table in element.within:
            rows.append([])
        elif element.tag == "td" and table in element.within and rows:
            rows[-1].append(element.text)
    return [row for row in rows if row]


@needs_chromium
@pytest.mark.netns
@pytest.mark.skipif(
    NETNS_UNAVAILABLE is not None,
    reason=f"this machine cannot run namespace labs: {NETNS_UNAVAILABLE}",
)
def test_a_real_drills_report_renders_its_charts_in_chromium(tmp_path: Path) -> None:
    report = tmp_path / "drill.html"
    output = run_lab_with_report(report)
    assert f"report: {report}" in output, output
    page = report.read_text()
    assert "<script src" not in page and "<link" not in page, "the page must be self-contained"

    rendered = render(report, tmp_path)
    print(f"screenshot of the drill's report: {rendered.screenshot}")
    assert rendered.console == []
    assert rendered.fetched == [], "the page reached for the network"
    png = rendered.screenshot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 50_000

    found = elements(rendered.dom)
    for chart in ("timeline", "failovers"):
        assert "js-plotly-plot" in by_id(found, chart).classes, f"plotly did not draw {chart}"
        assert select(found, chart, "svg", "main-svg"), chart

    transitions = table_rows(found, "transitions")
    assert transitions, "no transition in the report"
    for _at, _utc, router, state, reason, trace_id in transitions:
        assert router in {"r1", "r2", "r3"} and state and reason
        assert TRACE_ID.match(trace_id), trace_id
    assert any(row[2:5] == ["r3", "master", "priority_zero"] for row in transitions)
    # One bar per state each router was in: each logged transition, each start and exit.
    state_bars = len(select(found, "timeline", "g", "point"))
    assert state_bars == len(transitions) + STARTS + EXITS
    legend = {element.text for element in select(found, "timeline", "text", "legendtext")}
    assert {"master", "backup", "stopped", "ping gap"} <= legend
    assert {"r1 priority", "r2 priority", "r3 priority"} <= legend
    assert len(select(found, "timeline", "path", "js-line")) >= 4  # ping gaps, 3 priorities

    steps = {row[0]: row for row in table_rows(found, "steps")}
    assert list(steps) == ["election", "failover", "preemption", "handoff", "rejoin"]
    for step in ("failover", "preemption", "handoff", "rejoin"):
        assert " ms" in steps[step][4] and steps[step][4] in summary_cells(output, step)
    handoff_trace = steps["handoff"][6]
    assert [row[2:5] for row in transitions if row[5] == handoff_trace] == [
        ["r3", "master", "priority_zero"]
    ]
    assert len(select(found, "failovers", "g", "point")) == 2 * (len(steps) - 1)


@needs_chromium
def test_the_browser_check_sees_a_page_that_fails(tmp_path: Path) -> None:
    """The browser checks above can fail: a script error and a fetch are both seen."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><div id='chart'></div>"
        "<img src='http://192.0.2.1/x.png'>"
        "<script>document.getElementById('chart').className = 'drawn';"
        "undefinedFunction();</script></body></html>"
    )
    rendered = render(page, tmp_path)
    assert any("undefinedFunction is not defined" in line for line in rendered.console)
    assert set(rendered.fetched) == {"192.0.2.1"}
    assert "drawn" in by_id(elements(rendered.dom), "chart").classes
