"""The dashboards the mixin renders answer the operator's questions, and every query in them is
valid PromQL over metrics havip exports (tests/observe/test_mixin.py proves the committed
dashboards/*.json are exactly what the mixin renders).

A dashboard is checked offline here: promtool parses each panel query (put into a throwaway
recording rule), and a second parser (promql-parser) lists the selectors so that each metric
name, label and label value can be compared with havip.observe.names. Whether the queries return
data from a running agent is for the live lab test, which uses panel_queries and
substitute_variables the same way.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from havip.observe import names
from havip.proto.model import State
from tests.observe import dashboard_queries as dashboards
from tests.observe.selectors import SCRAPE_LABELS, check_selector, vector_selectors
from tools import mixin

GRID_WIDTH = 24

# Values a live test would also pass: one router, one VRRP instance, Grafana's interval.
SAMPLE_VALUES = {
    "datasource": "prometheus",
    "job": "havip",
    "router": "router-a:10112",
    "vrrp_instance": "VI_1",
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
}
LABEL_VALUES_QUERY = re.compile(r"^label_values\((?P<selector>.+), (?P<label>\w+)\)$")

BOARDS = mixin.evaluate()["grafanaDashboards"]


def all_queries() -> list[tuple[str, str]]:
    """(dashboard uid, query) for every panel query of every dashboard."""
    return [
        (board["uid"], query)
        for board in BOARDS.values()
        for query in dashboards.panel_queries(board)
    ]


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in board["panels"] if panel["type"] != "row"]


def panel_titles(board: dict[str, Any]) -> dict[str, str]:
    return {panel["title"]: panel["type"] for panel in panels(board)}


def test_uids_titles_and_schema_are_stable() -> None:
    by_uid = {board["uid"]: board for board in BOARDS.values()}
    assert by_uid["havip-fleet"]["title"] == "havip / Fleet overview"
    assert by_uid["havip-instance"]["title"] == "havip / Instance"
    for board in BOARDS.values():
        assert board["schemaVersion"] == 39
        assert "id" not in board, "a fixed id breaks import into another Grafana"


def test_no_import_inputs_so_provisioning_works() -> None:
    for board in BOARDS.values():
        text = mixin.render_dashboard(board)
        assert "__inputs" not in text
        assert "${DS_" not in text


def test_every_panel_and_query_uses_the_datasource_variable() -> None:
    for board in BOARDS.values():
        for panel in panels(board):
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            for target in panel["targets"]:
                assert target["datasource"] == panel["datasource"], panel["title"]


@pytest.mark.parametrize(("uid", "multi"), [("havip-fleet", True), ("havip-instance", False)])
def test_template_variables(uid: str, multi: bool) -> None:
    board = next(board for board in BOARDS.values() if board["uid"] == uid)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert list(variables) == ["datasource", "job", "router", "vrrp_instance"]
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("job", "router", "vrrp_instance"):
        assert variables[name]["multi"] is multi
        assert variables[name]["includeAll"] is multi
    assert "instance" in variables["router"]["definition"], "router is the instance label"


def test_variable_queries_use_exported_metrics() -> None:
    for board in BOARDS.values():
        for variable in board["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = LABEL_VALUES_QUERY.match(variable["query"]["query"])
            assert match, variable["query"]
            expr = dashboards.substitute_variables(match["selector"], SAMPLE_VALUES)
            (selector,) = vector_selectors(expr)
            check_selector(selector)
            metric = names.metric_for_series(selector.name or "")
            assert metric is not None
            assert match["label"] in set(metric.labels) | SCRAPE_LABELS


def test_panel_ids_are_unique_and_panels_do_not_overlap() -> None:
    for board in BOARDS.values():
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids))
        occupied: dict[tuple[int, int], str] = {}
        for panel in board["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= GRID_WIDTH, panel["title"]
            for x in range(pos["x"], pos["x"] + pos["w"]):
                for y in range(pos["y"], pos["y"] + pos["h"]):
                    assert (x, y) not in occupied, f"{panel['title']} overlaps {occupied[x, y]}"
                    occupied[x, y] = panel["title"]


def test_fleet_overview_answers_the_fleet_questions() -> None:
    titles = panel_titles(BOARDS["havip-fleet-overview.json"])
    assert titles["Groups"] == "table"
    assert titles["Routers"] == "table"
    assert titles["Split brain"] == "stat"
    assert titles["No master"] == "stat"
    assert titles["VRRP state"] == "state-timeline"
    for title in (
        "Failover duration",
        "Advertisements sent",
        "Advertisements received",
        "Rejected packets by reason",
        "Authentication failures by reason",
        "Segment failovers",
        "Segment malformed packets",
    ):
        assert titles[title] == "timeseries", title
    for title in ("Segment split brain", "Segment silent groups", "Segment misconfigured groups"):
        assert titles[title] == "stat", title
    assert titles["Segment groups"] == "table"


def test_instance_drilldown_answers_the_instance_questions() -> None:
    titles = panel_titles(BOARDS["havip-instance.json"])
    assert titles["State history"] == "state-timeline"
    for title in ("Priority", "Peers", "Timers", "Transitions"):
        assert titles[title] == "timeseries", title
    priority = next(p for p in panels(BOARDS["havip-instance.json"]) if p["title"] == "Priority")
    queried = {sel.name for t in priority["targets"] for sel in vector_selectors(t["expr"])}
    assert queried == {
        names.VRRP_PRIORITY.name,
        names.VRRP_EFFECTIVE_PRIORITY.name,
        names.VRRP_MASTER_PRIORITY.name,
    }


def test_failover_percentiles_request_exemplars() -> None:
    for board in BOARDS.values():
        for title in ("Failover duration", "Takeover duration (havip's share)"):
            panel = next(p for p in panels(board) if p["title"] == title)
            assert any(target["exemplar"] for target in panel["targets"]), (board["uid"], title)
            assert all("histogram_quantile" in target["expr"] for target in panel["targets"])


def test_state_mapping_names_every_state() -> None:
    state = next(p for p in panels(BOARDS["havip-instance.json"]) if p["title"] == "State")
    (mapping,) = state["fieldConfig"]["defaults"]["mappings"]
    texts = {option["text"] for option in mapping["options"].values()}
    assert texts == {state.value.upper() for state in State}


def test_panel_queries_lists_every_target() -> None:
    for board in BOARDS.values():
        expected = [t["expr"] for panel in board["panels"] for t in panel.get("targets", [])]
        assert dashboards.panel_queries(board) == expected
        assert expected, board["uid"]


def test_substitute_variables_fills_both_syntaxes() -> None:
    expr = 'rate(x{job=~"$job", vrrp_instance=~"${vrrp_instance}"}[$__rate_interval])'
    assert (
        dashboards.substitute_variables(expr, SAMPLE_VALUES)
        == 'rate(x{job=~"havip", vrrp_instance=~"VI_1"}[1m])'
    )


def test_substitute_variables_does_not_confuse_prefixes() -> None:
    values = {"vrrp": "WRONG", "vrrp_instance": "VI_1"}
    assert dashboards.substitute_variables("$vrrp_instance", values) == "VI_1"


def test_substitute_variables_names_every_missing_variable() -> None:
    with pytest.raises(ValueError, match="router, vrrp_instance"):
        dashboards.substitute_variables('x{a="$vrrp_instance", b="${router}"}', {"job": "j"})


@pytest.mark.parametrize(("uid", "query"), all_queries())
def test_every_variable_a_query_uses_is_defined(uid: str, query: str) -> None:
    board = next(board for board in BOARDS.values() if board["uid"] == uid)
    defined = dashboards.variable_names(board) | dashboards.BUILTIN_VARIABLES
    dashboards.substitute_variables(query, dict.fromkeys(defined, "x"))


@pytest.mark.parametrize(("uid", "query"), all_queries())
def test_queries_select_exported_metrics_with_their_labels(uid: str, query: str) -> None:
    selectors = vector_selectors(dashboards.substitute_variables(query, SAMPLE_VALUES))
    assert selectors, f"{uid}: query selects no metric: {query}"
    for selector in selectors:
        check_selector(selector)


def test_promtool_parses_every_query(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip(
            "promtool not found on PATH: install Debian's prometheus package (scripts/setup) "
            "to parse the dashboard queries with Prometheus' own parser"
        )
    queries = [dashboards.substitute_variables(q, SAMPLE_VALUES) for _, q in all_queries()]
    rule_file = tmp_path / "dashboard-queries.rules.yml"
    rule_file.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "dashboard-queries",
                        "rules": [
                            {"record": f"dashboard:query:q{i}", "expr": query}
                            for i, query in enumerate(queries)
                        ],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [promtool, "check", "rules", str(rule_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    numbered = "\n".join(f"q{i}: {query}" for i, query in enumerate(queries))
    assert result.returncode == 0, f"{result.stdout}{result.stderr}\n{numbered}"
