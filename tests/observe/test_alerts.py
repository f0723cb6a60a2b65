"""The shipped alert rules load in Prometheus, pass their promtool unit tests, and are complete.

promtool is the judge of syntax and behaviour (alerts/tests/*.yml); this module adds what
promtool does not check: every alert carries what on-call needs (for, severity, summary,
description, a runbook link that resolves), every alert is proven both to fire and to stay
quiet, and every selector names a metric havip exports, with labels and label values it has.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.observe.selectors import check_selector, vector_selectors

ALERTS_DIR = Path(__file__).resolve().parents[2] / "alerts"
RULES_FILE = ALERTS_DIR / "havip.rules.yml"
PROMTOOL_TEST_FILES = sorted((ALERTS_DIR / "tests").glob("*.yml"))
RUNBOOK = ALERTS_DIR / "runbook.md"
RUNBOOK_URL_PREFIX = "https://github.com/havip/havip/blob/main/alerts/runbook.md#"

# Labels Prometheus adds to every scraped series, and the synthetic scrape-health series.
SCRAPE_HEALTH_SERIES = "up"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(RULES_FILE)["groups"] for rule in group["rules"]]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def alert_ids() -> list[str]:
    return [rule["alert"] for rule in alert_rules()]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def promtool_alert_tests() -> Iterator[dict[str, Any]]:
    """Every alert_rule_test entry of every promtool test file."""
    for path in PROMTOOL_TEST_FILES:
        for test in load_yaml(path)["tests"]:
            yield from test.get("alert_rule_test", [])


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, - for space."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def runbook_anchors() -> set[str]:
    headings = re.findall(r"^#{1,6} +(.+)$", RUNBOOK.read_text(encoding="utf-8"), re.MULTILINE)
    return {github_anchor(heading) for heading in headings}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip(
            "promtool not found on PATH: install Debian's prometheus package (scripts/setup) "
            "to check and unit-test the alert rules"
        )
    return path


def run_promtool(promtool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_check_rules_accepts_the_rule_file(promtool: str) -> None:
    result = run_promtool(promtool, "check", "rules", RULES_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass(promtool: str) -> None:
    assert PROMTOOL_TEST_FILES, f"no promtool test files in {ALERTS_DIR / 'tests'}"
    result = run_promtool(promtool, "test", "rules", *PROMTOOL_TEST_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_names_are_unique() -> None:
    duplicates = sorted({name for name in alert_ids() if alert_ids().count(name) > 1})
    assert duplicates == []


def test_the_issue_alerts_exist() -> None:
    """The alerts the observability issue asks for, by name, so none is dropped silently."""
    required = {
        "HavipSplitBrain",
        "HavipNoMaster",
        "HavipInstanceFault",
        "HavipFlapping",
        "HavipAuthFailures",
        "HavipPacketsRejected",
        "HavipMasterNotAdvertising",
        "HavipEffectivePriorityBelowBase",
        "HavipNoBackup",
        "HavipSlowFailover",
        "HavipScrapeDown",
        "HavipMetricsAbsent",
        "HavipSegmentSplitBrain",
        "HavipSegmentSilent",
        "HavipSegmentMisconfigured",
        "HavipSegmentMalformedPackets",
    }
    assert required - set(alert_ids()) == set()


@pytest.mark.parametrize("rule", alert_rules(), ids=alert_ids())
def test_alert_has_for_severity_and_annotations(rule: dict[str, Any]) -> None:
    assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), "for: missing or not a duration"
    assert rule.get("labels", {}).get("severity") in {"warning", "critical"}
    annotations = rule.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        assert str(annotations.get(key, "")).strip(), f"annotation {key} missing or empty"


@pytest.mark.parametrize("rule", alert_rules(), ids=alert_ids())
def test_runbook_url_points_at_a_runbook_heading(rule: dict[str, Any]) -> None:
    url = rule["annotations"]["runbook_url"]
    assert url.startswith(RUNBOOK_URL_PREFIX)
    anchor = url.removeprefix(RUNBOOK_URL_PREFIX)
    assert anchor == github_anchor(rule["alert"]), "each alert has a section named after it"
    assert anchor in runbook_anchors(), f"no heading in {RUNBOOK.name} gives anchor #{anchor}"


def test_every_alert_fires_and_stays_quiet_in_promtool_tests() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in promtool_alert_tests():
        assert "exp_alerts" in case, f"{case['alertname']}: write exp_alerts: [] for quiet cases"
        (firing if case["exp_alerts"] else quiet).add(case["alertname"])
    alerts = set(alert_ids())
    assert alerts - firing == set(), "alerts never shown to fire"
    assert alerts - quiet == set(), "alerts never shown to stay quiet"


def test_promtool_tests_name_only_existing_alerts() -> None:
    """promtool passes a quiet case for an alert name that does not exist: catch typos here."""
    unknown = {case["alertname"] for case in promtool_alert_tests()} - set(alert_ids())
    assert unknown == set()


def test_firing_cases_check_annotations_exactly() -> None:
    for case in promtool_alert_tests():
        for expected in case["exp_alerts"]:
            annotations = expected.get("exp_annotations", {})
            assert set(annotations) == {"summary", "description", "runbook_url"}, case


def test_recording_rule_names_are_level_metric_operation() -> None:
    for name in recorded_names():
        assert re.fullmatch(r"havip:[a-z0-9_]+:[a-z0-9_]+", name), name


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule.get("alert") or rule["record"])
def test_rule_selectors_name_exported_metrics_and_their_labels(rule: dict[str, Any]) -> None:
    for selector in vector_selectors(rule["expr"]):
        name = selector.name or ""
        if name in recorded_names() or name == SCRAPE_HEALTH_SERIES:
            continue
        check_selector(selector)
