"""The monitoring mixin is the one source of the shipped alerts and dashboards.

The committed alerts/havip.rules.yml and dashboards/*.json must be exactly what mixin/ renders
with its default _config (the `jsonnet` PyPI bindings, through tools/mixin.py), and every
_config knob must reach the rules and dashboards it promises to change.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.observe.dashboard_queries import panel_queries
from tests.observe.selectors import vector_selectors
from tools import mixin

REPO = Path(__file__).resolve().parents[2]
MIXIN_DIR = REPO / "mixin"
RENDER = "scripts/render-mixin"
RENDERED = mixin.rendered_files()


@pytest.mark.parametrize("relative", sorted(RENDERED))
def test_committed_file_is_what_the_mixin_renders(relative: str) -> None:
    path = REPO / relative
    assert path.is_file(), f"{relative} missing: run {RENDER}"
    assert path.read_text(encoding="utf-8") == RENDERED[relative], (
        f"{relative} differs from the mixin: edit mixin/ and run {RENDER}"
    )


def test_no_dashboard_file_outside_the_mixin() -> None:
    committed = {f"dashboards/{path.name}" for path in (REPO / "dashboards").glob("*.json")}
    assert committed == {name for name in RENDERED if name.startswith("dashboards/")}


def test_every_mixin_part_is_imported_by_mixin_libsonnet() -> None:
    """A new alert group or dashboard file that mixin.libsonnet forgets would render nothing."""
    imports = set(re.findall(r"import '([^']+)'", (MIXIN_DIR / "mixin.libsonnet").read_text()))
    parts = {
        str(path.relative_to(MIXIN_DIR))
        for folder in ("rules", "alerts", "dashboards")
        for path in (MIXIN_DIR / folder).glob("*.libsonnet")
    }
    assert parts - imports == set()


def test_render_writes_the_files_and_check_finds_a_stale_one(tmp_path: Path) -> None:
    assert mixin.main(["--root", str(tmp_path)]) == 0
    for relative, text in RENDERED.items():
        assert (tmp_path / relative).read_text(encoding="utf-8") == text
    assert mixin.main(["--root", str(tmp_path), "--check"]) == 0
    (tmp_path / "dashboards" / "havip-instance.json").write_text("{}\n", encoding="utf-8")
    assert mixin.main(["--root", str(tmp_path), "--check"]) == 1


def test_render_script_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(REPO / RENDER), "--check"], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr


# --- _config ------------------------------------------------------------------------------------

CUSTOM = {
    "havipSelector": 'job="vrrp"',
    "jobSelector": 'job="vrrp"',
    "showMultiCluster": True,
    "clusterLabel": "site",
    "rateInterval": "3m",
    "runbookURLPattern": "https://wiki.example.net/havip#%s",
    "dashboardTags": ["network", "havip"],
    "dashboardUIDs": {"havip-fleet-overview.json": "fleet-x", "havip-instance.json": "inst-x"},
}


@pytest.fixture(scope="module")
def custom() -> dict[str, Any]:
    return mixin.evaluate(CUSTOM)


def rules_of(outputs: dict[str, Any]) -> list[dict[str, Any]]:
    groups = [*outputs["prometheusRules"]["groups"], *outputs["prometheusAlerts"]["groups"]]
    return [rule for group in groups for rule in group["rules"]]


def test_the_selectors_reach_every_rule(custom: dict[str, Any]) -> None:
    for rule in rules_of(custom):
        for selector in vector_selectors(rule["expr"]):
            name = selector.name or ""
            if name.startswith("havip:"):
                continue  # a recorded series: it keeps the labels of what it was built from
            jobs = [m for m in selector.matchers.matchers if m.name == "job"]
            assert [m.value for m in jobs] == ["vrrp"], f"{rule.get('alert')}: {name}"


def test_multi_cluster_keeps_groups_of_different_clusters_apart(custom: dict[str, Any]) -> None:
    records = {rule.get("record"): rule for rule in rules_of(custom)}
    masters = records["havip:vrrp_group_masters:count"]
    assert "sum by (site, vrid, family, vips)" in masters["expr"]
    for board in custom["grafanaDashboards"].values():
        variables = [v["name"] for v in board["templating"]["list"]]
        assert variables == ["datasource", "cluster", "job", "router", "vrrp_instance"]
        for query in panel_queries(board):
            if "job=~" in query:
                assert 'site=~"$cluster", job=~"$job"' in query, query


def test_rate_interval_names_the_recording_rule_and_its_users(custom: dict[str, Any]) -> None:
    exprs = "\n".join(rule["expr"] for rule in rules_of(custom))
    records = {rule.get("record") for rule in rules_of(custom)}
    assert "havip:vrrp_group_adverts_received:rate3m" in records
    assert "havip:vrrp_group_adverts_received:rate3m > 0" in exprs
    assert set(re.findall(r"\brate\([^[]*\[(\w+)\]", exprs)) == {"3m"}


def test_runbook_pattern_tags_and_uids(custom: dict[str, Any]) -> None:
    for rule in rules_of(custom):
        if "alert" in rule:
            url = rule["annotations"]["runbook_url"]
            assert url == f"https://wiki.example.net/havip#{rule['alert'].lower()}"
    boards = custom["grafanaDashboards"]
    assert {board["uid"] for board in boards.values()} == {"fleet-x", "inst-x"}
    for board in boards.values():
        assert board["tags"] == ["network", "havip"]
    fleet = mixin.render_dashboard(boards["havip-fleet-overview.json"])
    assert "/d/inst-x/havip-instance?" in fleet, "the drill-down link follows the instance UID"


def test_promtool_accepts_the_rules_rendered_with_another_config(
    custom: dict[str, Any], tmp_path: Path
) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not on PATH: install Debian's prometheus package (scripts/setup)")
    rules = tmp_path / "custom.rules.yml"
    rules.write_text(mixin.render_rules(custom), encoding="utf-8")
    assert yaml.safe_load(rules.read_text())["groups"]
    result = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
