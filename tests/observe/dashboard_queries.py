"""The PromQL inside a Grafana dashboard, for the offline and the live dashboard tests.

`panel_queries` lists every panel query; `substitute_variables` fills Grafana's variables the
way Grafana would, so a query can go to promtool or to a real Prometheus.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Json = dict[str, Any]

# Variables Grafana defines itself; a query may use them without a templating entry.
BUILTIN_VARIABLES = frozenset({"__rate_interval", "__interval", "__range"})


def panel_queries(board: Json) -> list[str]:
    """Every PromQL expression of every panel, in panel order, variables still in place."""
    queries: list[str] = []
    for panel in board["panels"]:
        for nested in [panel, *panel.get("panels", [])]:
            queries.extend(t["expr"] for t in nested.get("targets", []))
    return queries


def variable_names(board: Json) -> frozenset[str]:
    """The template variables a dashboard defines."""
    return frozenset(v["name"] for v in board["templating"]["list"])


_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def substitute_variables(expr: str, values: Mapping[str, str]) -> str:
    """Replace Grafana's `$name` and `${name}` with `values[name]`, as Grafana would.

    Raises ValueError naming every variable without a value, so a live test cannot send a
    query with a `$` left in it.
    """
    missing = sorted(
        {m[1] or m[2] for m in _VARIABLE.finditer(expr) if (m[1] or m[2]) not in values}
    )
    if missing:
        raise ValueError(f"no value for variable(s) {', '.join(missing)} in: {expr}")
    return _VARIABLE.sub(lambda m: values[m[1] or m[2]], expr)
