"""Checks that a PromQL expression only selects series havip exports, with real labels.

Shared by the alert-rule and dashboard tests: both must name metrics from
havip/observe/names.py, their labels (plus Prometheus' job and instance), and for the labels
whose values come from the core's enums, only values those enums have.
"""

from __future__ import annotations

import re

import promql_parser

from havip.monitor.segment import MALFORMED_REASONS, EvictionKind, Field, PriorityClass
from havip.observe import names
from havip.proto.model import Reason, RejectReason, State

SCRAPE_LABELS = frozenset({"job", "instance"})
ENUM_LABEL_VALUES: dict[tuple[str, str], frozenset[str]] = {
    (names.VRRP_STATE.name, "state"): frozenset(State),
    (names.VRRP_TRANSITIONS.name, "from_state"): frozenset(State),
    (names.VRRP_TRANSITIONS.name, "to_state"): frozenset(State),
    (names.VRRP_TRANSITIONS.name, "reason"): frozenset(Reason),
    (names.VRRP_PACKETS_REJECTED.name, "reason"): frozenset(RejectReason),
    (names.MONITOR_DISAGREEMENT.name, "field"): frozenset(Field),
    (names.MONITOR_ADVERTS.name, "priority_class"): frozenset(PriorityClass),
    (names.MONITOR_PACKETS_MALFORMED.name, "reason"): frozenset(MALFORMED_REASONS),
    (names.MONITOR_EVICTIONS.name, "kind"): frozenset(EvictionKind),
}
LITERAL_ALTERNATIVES = re.compile(r"^\w+(\|\w+)*$")


def vector_selectors(expr: str) -> list[promql_parser.VectorSelector]:
    selectors: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            selectors.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return selectors


def check_selector(selector: promql_parser.VectorSelector) -> None:
    """The selector names an exported series, with labels and label values it has."""
    name = selector.name or ""
    metric = names.metric_for_series(name)
    assert metric is not None, f"{name} is not a metric havip exports"
    allowed = set(metric.labels) | SCRAPE_LABELS
    if name.endswith("_bucket"):
        allowed.add("le")
    for matcher in selector.matchers.matchers:
        assert matcher.name in allowed, f"{name} has no label {matcher.name}"
        known_values = ENUM_LABEL_VALUES.get((metric.name, matcher.name))
        if known_values and LITERAL_ALTERNATIVES.match(matcher.value):
            unknown = set(matcher.value.split("|")) - known_values
            assert unknown == set(), f"{name}{{{matcher.name}}} has no value(s) {unknown}"
