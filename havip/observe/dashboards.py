"""havip's Grafana dashboards, generated from code.

Regenerate the committed files with `python -m havip.observe.dashboards --write dashboards/`.

Why code and not hand-edited JSON: every query is built from the metric names in
havip.observe.names, so a renamed metric fails a test instead of leaving an empty panel; the
grid is computed, so panels never overlap; and a diff of this file is reviewable where a diff of
Grafana's export is not. tests/observe/test_dashboards.py proves the committed JSON is what this
module writes.

Why plain dictionaries and not grafanalib or grafana-foundation-sdk: the output is one fixed
JSON model (Grafana 10/11, schemaVersion 39) with five panel types. grafanalib is untyped and
lags the schema (no typed state-timeline options, older defaults), and grafana-foundation-sdk
pins one Grafana release per package version and pulls a large generated API into the dev
dependencies; either would be one more thing to keep in step, for output that is plain data.

Both dashboards use a `datasource` variable (no `__inputs`), so file provisioning works, and
the variables `job`, `router` (Prometheus' `instance` label: the scraped router) and
`vrrp_instance`. `panel_queries` and `substitute_variables` give a live test every panel query
with the variables filled in.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from havip.observe import names
from havip.proto.model import State

Json = dict[str, Any]

SCHEMA_VERSION = 39
FLEET_UID = "havip-fleet"
INSTANCE_UID = "havip-instance"
GRID_WIDTH = 24

DATASOURCE: Json = {"type": "prometheus", "uid": "${datasource}"}

JOB = 'job=~"$job"'
ROUTER = 'instance=~"$router"'
VRRP_INSTANCE = 'vrrp_instance=~"$vrrp_instance"'
RATE = "[$__rate_interval]"

# Variables Grafana defines itself; a query may use them without a templating entry.
BUILTIN_VARIABLES = frozenset({"__rate_interval", "__interval", "__range"})

# The state timeline and stat panels need one number per state; the order follows State.
STATE_CODES: dict[State, int] = {state: code for code, state in enumerate(State, start=1)}
STATE_COLORS: dict[State, str] = {
    State.INIT: "text",
    State.BACKUP: "blue",
    State.MASTER: "green",
    State.FAULT: "red",
    State.STOP: "purple",
}

GROUP_LABELS = "vrid, family, vips"
INSTANCE_KEY = "job, instance, vrrp_instance"


# --- PromQL -------------------------------------------------------------------------------


def selector(metric: names.Metric, *matchers: str, series: str = "") -> str:
    """`name{matchers}`; `series` picks a histogram's _bucket/_sum/_count."""
    name = metric.name + series
    return f"{name}{{{', '.join(matchers)}}}"


def with_group_labels(expr: str) -> str:
    """Attach vrid, family and vips from havip_vrrp_instance_info to a per-instance vector."""
    info = selector(names.VRRP_INSTANCE_INFO, JOB)
    return f"{expr} * on ({INSTANCE_KEY}) group_left ({GROUP_LABELS}) {info}"


def group_state_count(state: State) -> str:
    """Routers per group (vrid, family, vips) in `state`, over every router of the job.

    Not filtered by router or VRRP instance: a split brain shows only with all routers.
    """
    states = selector(names.VRRP_STATE, JOB, state_matcher(state))
    return f"sum by ({GROUP_LABELS}) ({with_group_labels(states)})"


def group_adverts_received() -> str:
    """Advertisements per second the havip routers of each group hear, from any master."""
    received = f"rate({selector(names.VRRP_ADVERTS_RECEIVED, JOB)}{RATE})"
    return f"sum by ({GROUP_LABELS}) ({with_group_labels(received)})"


def state_matcher(state: State) -> str:
    return f'state="{state.value}"'


def state_code(*matchers: str) -> str:
    """One series per router and VRRP instance whose value is STATE_CODES of its state."""
    parts = [
        f"{selector(names.VRRP_STATE, *matchers, state_matcher(state))} * {code}"
        for state, code in STATE_CODES.items()
    ]
    return f"max by ({INSTANCE_KEY}) ({' or '.join(parts)})"


def quantile(q: float, metric: names.Metric, *matchers: str, by: str = "le") -> str:
    """The q-quantile of a histogram over the dashboard's rate interval."""
    buckets = f"rate({selector(metric, *matchers, series='_bucket')}{RATE})"
    return f"histogram_quantile({q}, sum by ({by}) ({buckets}))"


def counter_rate(metric: names.Metric, *matchers: str, by: str) -> str:
    return f"sum by ({by}) (rate({selector(metric, *matchers)}{RATE}))"


def counter_increase(metric: names.Metric, *matchers: str, by: str) -> str:
    return f"sum by ({by}) (increase({selector(metric, *matchers)}{RATE}))"


# --- Panels -------------------------------------------------------------------------------


def target(
    expr: str,
    legend: str = "",
    *,
    ref: str = "A",
    table: bool = False,
    exemplar: bool = False,
) -> Json:
    """A Prometheus query of a panel; tables ask for one instant value per series."""
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "exemplar": exemplar,
        "expr": expr,
        "format": "table" if table else "time_series",
        "instant": table,
        "legendFormat": legend or "__auto",
        "range": not table,
        "refId": ref,
    }


def targets(*queries: tuple[str, str], exemplar_first: bool = False) -> list[Json]:
    """Several (expr, legend) queries with refIds A, B, C..."""
    return [
        target(expr, legend, ref=chr(ord("A") + i), exemplar=exemplar_first and i == 0)
        for i, (expr, legend) in enumerate(queries)
    ]


def thresholds(*steps: tuple[str, float | None]) -> Json:
    return {
        "mode": "absolute",
        "steps": [{"color": color, "value": value} for color, value in steps],
    }


def value_mapping(texts: Mapping[str, tuple[str, str]]) -> list[Json]:
    """A Grafana value mapping: raw value -> (text, color)."""
    options = {
        raw: {"color": color, "index": index, "text": text}
        for index, (raw, (text, color)) in enumerate(texts.items())
    }
    return [{"options": options, "type": "value"}]


STATE_CODE_MAPPING = value_mapping(
    {str(code): (state.value.upper(), STATE_COLORS[state]) for state, code in STATE_CODES.items()}
)
STATE_LABEL_MAPPING = value_mapping(
    {state.value: (state.value.upper(), STATE_COLORS[state]) for state in State}
)
UP_MAPPING = value_mapping({"0": ("DOWN", "red"), "1": ("UP", "green")})


def _panel(kind: str, title: str, description: str, queries: list[Json]) -> Json:
    return {
        "datasource": DATASOURCE,
        "description": description,
        "targets": queries,
        "title": title,
        "type": kind,
    }


def timeseries(
    title: str,
    description: str,
    queries: list[Json],
    *,
    unit: str = "short",
    bars: bool = False,
    decimals: int | None = None,
) -> Json:
    defaults: Json = {
        "custom": {
            "drawStyle": "bars" if bars else "line",
            "fillOpacity": 60 if bars else 10,
            "lineWidth": 1,
            "showPoints": "never",
            "spanNulls": False,
        },
        "unit": unit,
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return _panel("timeseries", title, description, queries) | {
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {
                "calcs": [],
                "displayMode": "list",
                "placement": "bottom",
                "showLegend": True,
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def stat(
    title: str,
    description: str,
    queries: list[Json],
    *,
    unit: str = "none",
    steps: Json | None = None,
    mappings: list[Json] | None = None,
    text_mode: str = "value",
) -> Json:
    return _panel("stat", title, description, queries) | {
        "fieldConfig": {
            "defaults": {
                "color": {"mode": "thresholds"},
                "mappings": mappings or [],
                "thresholds": steps or thresholds(("blue", None)),
                "unit": unit,
            },
            "overrides": [],
        },
        "options": {
            "colorMode": "background",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": text_mode,
        },
    }


def state_timeline(title: str, description: str, queries: list[Json], mappings: list[Json]) -> Json:
    return _panel("state-timeline", title, description, queries) | {
        "fieldConfig": {
            "defaults": {
                "color": {"mode": "thresholds"},
                "custom": {"fillOpacity": 80, "lineWidth": 0},
                "mappings": mappings,
                "thresholds": thresholds(("text", None)),
            },
            "overrides": [],
        },
        "options": {
            "alignValue": "left",
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
            "mergeValues": True,
            "rowHeight": 0.9,
            "showValue": "auto",
            "tooltip": {"mode": "single", "sort": "none"},
        },
    }


def table(
    title: str,
    description: str,
    queries: list[Json],
    *,
    transformations: list[Json],
    overrides: list[Json],
) -> Json:
    return _panel("table", title, description, queries) | {
        "fieldConfig": {
            "defaults": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}}},
            "overrides": overrides,
        },
        "options": {"cellHeight": "sm", "showHeader": True},
        "transformations": transformations,
    }


def field_override(field_name: str, *properties: tuple[str, Any]) -> Json:
    return {
        "matcher": {"id": "byName", "options": field_name},
        "properties": [{"id": key, "value": value} for key, value in properties],
    }


def hide_and_rename(hidden: Sequence[str], renamed: Mapping[str, str] | None = None) -> Json:
    """An `organize` transformation: drop the columns a reader has no use for, name the rest."""
    return {
        "id": "organize",
        "options": {
            "excludeByName": dict.fromkeys(hidden, True),
            "renameByName": dict(renamed or {}),
        },
    }


class Grid:
    """Places panels left to right in Grafana's 24-column grid, wrapping to a new line.

    A row header always starts a new line. Panel ids are assigned in placement order.
    """

    def __init__(self) -> None:
        self.panels: list[Json] = []
        self._x = 0
        self._y = 0
        self._line_height = 0

    def _new_line(self) -> None:
        self._y += self._line_height
        self._x = 0
        self._line_height = 0

    def _place(self, panel: Json, width: int, height: int) -> None:
        panel["gridPos"] = {"h": height, "w": width, "x": self._x, "y": self._y}
        panel["id"] = len(self.panels) + 1
        self.panels.append(panel)
        self._x += width
        self._line_height = max(self._line_height, height)

    def add(self, panel: Json, width: int = 12, height: int = 8) -> None:
        if not 0 < width <= GRID_WIDTH:
            raise ValueError(f"panel width {width} outside 1..{GRID_WIDTH}")
        if self._x + width > GRID_WIDTH:
            self._new_line()
        self._place(panel, width, height)

    def row(self, title: str) -> None:
        self._new_line()
        self._place(
            {"collapsed": False, "panels": [], "title": title, "type": "row"}, GRID_WIDTH, 1
        )
        self._new_line()


# --- Variables and dashboard --------------------------------------------------------------


def datasource_variable() -> Json:
    return {
        "current": {},
        "hide": 0,
        "includeAll": False,
        "label": "Prometheus",
        "multi": False,
        "name": "datasource",
        "options": [],
        "query": "prometheus",
        "refresh": 1,
        "regex": "",
        "type": "datasource",
    }


def query_variable(name: str, label: str, query: str, *, multi: bool) -> Json:
    """A variable filled from label_values(); multi-valued ones offer All, as a regex."""
    variable: Json = {
        "current": {},
        "datasource": DATASOURCE,
        "definition": query,
        "hide": 0,
        "includeAll": multi,
        "label": label,
        "multi": multi,
        "name": name,
        "options": [],
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "type": "query",
    }
    if multi:
        variable["allValue"] = ".*"
    return variable


def havip_variables(*, multi: bool) -> list[Json]:
    build_info = names.BUILD_INFO.name
    instance_info = selector(names.VRRP_INSTANCE_INFO, JOB, ROUTER)
    return [
        datasource_variable(),
        query_variable("job", "Job", f"label_values({build_info}, job)", multi=multi),
        query_variable(
            "router", "Router", f"label_values({build_info}{{{JOB}}}, instance)", multi=multi
        ),
        query_variable(
            "vrrp_instance",
            "VRRP instance",
            f"label_values({instance_info}, vrrp_instance)",
            multi=multi,
        ),
    ]


def dashboard(uid: str, title: str, description: str, grid: Grid, *, multi: bool) -> Json:
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": description,
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "links": [
            {
                "asDropdown": False,
                "icon": "external link",
                "includeVars": True,
                "keepTime": True,
                "tags": ["havip"],
                "targetBlank": False,
                "title": "havip",
                "type": "dashboards",
            }
        ],
        "liveNow": False,
        "panels": grid.panels,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["havip", "vrrp"],
        "templating": {"list": havip_variables(multi=multi)},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


# --- Fleet overview -----------------------------------------------------------------------

INSTANCE_LINK = (
    f"/d/{INSTANCE_UID}/havip-instance?${{datasource:queryparam}}"
    "&var-job=${__data.fields.job}&var-router=${__data.fields.instance}"
    "&var-vrrp_instance=${__data.fields.vrrp_instance}&${__url_time_range}"
)


def _fleet_indicators(grid: Grid) -> None:
    masters = group_state_count(State.MASTER)
    backups = group_state_count(State.BACKUP)
    red_from_one = thresholds(("green", None), ("red", 1))
    groups = f"count(count by ({GROUP_LABELS}) ({selector(names.VRRP_INSTANCE_INFO, JOB)}))"
    grid.add(
        stat("Groups", "VRRP groups: distinct (vrid, family, vips).", targets((groups, ""))), 4, 4
    )
    routers = f"count({selector(names.BUILD_INFO, JOB)})"
    grid.add(stat("Routers", "havip processes scraped.", targets((routers, ""))), 4, 4)
    split_brain = f"count(({masters}) > 1) or vector(0)"
    grid.add(
        stat(
            "Split brain",
            "Groups with more than one MASTER (alert HavipSplitBrain).",
            targets((split_brain, "")),
            steps=red_from_one,
        ),
        4,
        4,
    )
    no_master = (
        f"count((({masters}) == 0) unless on ({GROUP_LABELS}) (({group_adverts_received()}) > 0))"
        " or vector(0)"
    )
    grid.add(
        stat(
            "No master",
            "Groups where no havip router is MASTER and none hears a master's advertisements "
            "(alert HavipNoMaster).",
            targets((no_master, "")),
            steps=red_from_one,
        ),
        4,
        4,
    )
    no_backup = f"count((({backups}) == 0) and on ({GROUP_LABELS}) (({masters}) == 1)) or vector(0)"
    grid.add(
        stat(
            "No backup",
            "Groups with a MASTER and no havip router in BACKUP. Groups whose backups are "
            "not havip (keepalived) show here too.",
            targets((no_backup, "")),
            steps=thresholds(("green", None), ("orange", 1)),
        ),
        4,
        4,
    )
    fault = selector(names.VRRP_STATE, JOB, ROUTER, VRRP_INSTANCE, state_matcher(State.FAULT))
    grid.add(
        stat(
            "In FAULT",
            "VRRP instances in FAULT (alert HavipInstanceFault).",
            targets((f"count(({fault}) == 1) or vector(0)", "")),
            steps=thresholds(("green", None), ("orange", 1)),
        ),
        4,
        4,
    )


def _fleet_tables(grid: Grid) -> None:
    routers = f"count by ({GROUP_LABELS}) ({selector(names.VRRP_INSTANCE_INFO, JOB)})"
    group_queries = [
        target(group_state_count(State.MASTER), ref="A", table=True),
        target(group_state_count(State.BACKUP), ref="B", table=True),
        target(routers, ref="C", table=True),
    ]
    grid.add(
        table(
            "Groups",
            "Every VRRP group with its number of MASTERs (red unless exactly one), BACKUPs "
            "and havip routers.",
            group_queries,
            transformations=[
                {"id": "merge", "options": {}},
                hide_and_rename(
                    ["Time"],
                    {"Value #A": "Masters", "Value #B": "Backups", "Value #C": "Routers"},
                ),
            ],
            overrides=[
                field_override(
                    "Masters",
                    ("color", {"mode": "thresholds"}),
                    ("custom.cellOptions", {"type": "color-background"}),
                    ("thresholds", thresholds(("red", None), ("green", 1), ("red", 2))),
                )
            ],
        ),
        12,
        9,
    )
    current = selector(names.VRRP_STATE, JOB, ROUTER, VRRP_INSTANCE)
    routers_state = (
        f"({current} == 1) * on ({INSTANCE_KEY}) group_left ({GROUP_LABELS}, interface) "
        f"{selector(names.VRRP_INSTANCE_INFO, JOB)}"
    )
    grid.add(
        table(
            "Routers",
            "The current state of every VRRP instance on every router, with its group. "
            "Click a VRRP instance for its drill-down.",
            [target(routers_state, table=True)],
            transformations=[
                hide_and_rename(["Time", "Value", "__name__"]),
            ],
            overrides=[
                field_override(
                    "state",
                    ("mappings", STATE_LABEL_MAPPING),
                    ("custom.cellOptions", {"type": "color-background"}),
                ),
                field_override(
                    "vrrp_instance",
                    ("links", [{"title": "havip / Instance", "url": INSTANCE_LINK}]),
                ),
            ],
        ),
        12,
        9,
    )


def fleet_overview() -> Json:
    """Every group of the fleet: who is master, what is wrong, how failovers went."""
    scope = (JOB, ROUTER, VRRP_INSTANCE)
    grid = Grid()
    grid.row("Groups")
    _fleet_indicators(grid)
    _fleet_tables(grid)

    grid.row("State")
    grid.add(
        state_timeline(
            "VRRP state",
            "State of each VRRP instance on each router over time.",
            targets((state_code(*scope), "{{instance}} {{vrrp_instance}}")),
            STATE_CODE_MAPPING,
        ),
        24,
        9,
    )
    transitions = counter_increase(
        names.VRRP_TRANSITIONS, *scope, by="instance, vrrp_instance, to_state, reason"
    )
    grid.add(
        timeseries(
            "Transitions",
            "State transitions per interval, by new state and reason.",
            targets((transitions, "{{instance}} {{vrrp_instance}} to {{to_state}} ({{reason}})")),
            bars=True,
            decimals=0,
        ),
    )
    by_instance = "instance, vrrp_instance"
    grid.add(
        timeseries(
            "Priority-0 adverts and master conflicts",
            "Priority-0 advertisements (a master leaving on purpose) and advertisements "
            "from another master heard while master (alert HavipMasterConflict).",
            targets(
                (
                    counter_increase(names.VRRP_PRIORITY_ZERO_SENT, *scope, by=by_instance),
                    "{{instance}} {{vrrp_instance}} priority 0 sent",
                ),
                (
                    counter_increase(names.VRRP_PRIORITY_ZERO_RECEIVED, *scope, by=by_instance),
                    "{{instance}} {{vrrp_instance}} priority 0 received",
                ),
                (
                    counter_increase(names.VRRP_MASTER_CONFLICTS, *scope, by=by_instance),
                    "{{instance}} {{vrrp_instance}} master conflicts",
                ),
            ),
            bars=True,
            decimals=0,
        ),
    )

    grid.row("Failover")
    _duration_panels(grid, scope)

    grid.row("Advertisements and packets")
    grid.add(
        timeseries(
            "Advertisements sent",
            "Advertisements sent per second: one per advertisement interval from each MASTER.",
            targets(
                (
                    counter_rate(names.VRRP_ADVERTS_SENT, *scope, by=by_instance),
                    "{{instance}} {{vrrp_instance}}",
                )
            ),
            unit="pps",
        ),
    )
    grid.add(
        timeseries(
            "Advertisements received",
            "Valid advertisements received per second.",
            targets(
                (
                    counter_rate(names.VRRP_ADVERTS_RECEIVED, *scope, by=by_instance),
                    "{{instance}} {{vrrp_instance}}",
                )
            ),
            unit="pps",
        ),
    )
    _packet_panels(grid, rejected_scope=(JOB, ROUTER), auth_scope=scope, per=("instance",))
    return dashboard(
        FLEET_UID,
        "havip / Fleet overview",
        "Every VRRP group havip routers take part in: masters, split brain, transitions, "
        "failover durations, advertisements and rejected packets.",
        grid,
        multi=True,
    )


def _duration_panels(grid: Grid, scope: Sequence[str]) -> None:
    """Failover and takeover percentiles; exemplars link a failover to its trace."""
    for metric, title, description in (
        (
            names.VRRP_FAILOVER_DURATION,
            "Failover duration",
            "From the old master's last advertisement heard to the VIPs installed and "
            "announced on the new master. Exemplars link to the transition's trace when the "
            "Prometheus datasource has a trace datasource for the trace_id label.",
        ),
        (
            names.VRRP_TAKEOVER_DURATION,
            "Takeover duration (havip's share)",
            "havip's own share of each failover: from deciding to become master to the VIPs "
            "announced. Exemplars link to the transition's trace.",
        ),
    ):
        # The takeover histogram is the router's (havip's own work), not an instance's.
        matchers = [m for m in scope if metric.labels or m != VRRP_INSTANCE]
        grid.add(
            timeseries(
                title,
                description,
                targets(
                    *(
                        (quantile(q, metric, *matchers), f"p{round(q * 100)}")
                        for q in (0.5, 0.9, 0.99)
                    ),
                    exemplar_first=True,
                ),
                unit="s",
            ),
            12,
            8,
        )


def _packet_panels(
    grid: Grid, *, rejected_scope: Sequence[str], auth_scope: Sequence[str], per: Sequence[str]
) -> None:
    """Rejected packets and auth failures by reason, split by the labels in `per` as well."""
    per_by = "".join(f"{label}, " for label in per)
    per_legend = "".join(f"{{{{{label}}}}} " for label in per)
    grid.add(
        timeseries(
            "Rejected packets by reason",
            "VRRP packets dropped per second, by interface and reason. vrid (other groups on "
            "the link) and own_advert are normal; see the runbook for the others.",
            targets(
                (
                    counter_rate(
                        names.VRRP_PACKETS_REJECTED,
                        *rejected_scope,
                        by=f"{per_by}interface, reason",
                    ),
                    per_legend + "{{interface}} {{reason}}",
                )
            ),
            unit="pps",
        ),
    )
    grid.add(
        timeseries(
            "Authentication failures by reason",
            "Advertisements dropped per second because authentication failed "
            "(invalid_type, type_mismatch, password).",
            targets(
                (
                    counter_rate(
                        names.VRRP_AUTH_FAILURES, *auth_scope, by=f"{per_by}vrrp_instance, reason"
                    ),
                    per_legend + "{{vrrp_instance}} {{reason}}",
                )
            ),
            unit="pps",
        ),
    )


# --- Instance drill-down ------------------------------------------------------------------


def _instance_now(grid: Grid, scope: Sequence[str]) -> None:
    grid.add(
        stat(
            "State",
            "Current VRRP state.",
            targets((state_code(*scope), "")),
            mappings=STATE_CODE_MAPPING,
        ),
        4,
        4,
    )
    for metric, title, description in (
        (names.VRRP_PRIORITY, "Base priority", "Configured priority."),
        (
            names.VRRP_EFFECTIVE_PRIORITY,
            "Effective priority",
            "Priority advertised now, after tracked scripts and interfaces.",
        ),
        (names.VRRP_MASTER_PRIORITY, "Master priority", "Priority of the current master."),
        (names.VRRP_PEERS, "Peers", "Other routers heard within the last master-down interval."),
    ):
        grid.add(stat(title, description, targets((selector(metric, *scope), ""))), 3, 4)
    last_transition = f"{selector(names.VRRP_LAST_TRANSITION_TIMESTAMP, *scope)} * 1000"
    grid.add(
        stat(
            "Last transition",
            "When the instance last changed state.",
            targets((last_transition, "")),
            unit="dateTimeFromNow",
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "havip version",
            "The havip release running on this router.",
            targets((selector(names.BUILD_INFO, JOB, ROUTER), "{{version}}")),
            text_mode="name",
        ),
        4,
        4,
    )
    grid.add(
        table(
            "Configuration",
            "The VRRP instance as havip runs it.",
            [target(selector(names.VRRP_INSTANCE_INFO, *scope), table=True)],
            transformations=[hide_and_rename(["Time", "Value", "__name__", "job"])],
            overrides=[],
        ),
        24,
        3,
    )


def _instance_history(grid: Grid, scope: Sequence[str]) -> None:
    grid.add(
        state_timeline(
            "State history",
            "VRRP state over time.",
            targets((state_code(*scope), "{{vrrp_instance}}")),
            STATE_CODE_MAPPING,
        ),
        24,
        5,
    )
    grid.add(
        timeseries(
            "Priority",
            "Base (configured) and effective (advertised) priority of this router, and the "
            "current master's. Effective below base: a tracker is failing.",
            targets(
                (selector(names.VRRP_PRIORITY, *scope), "base"),
                (selector(names.VRRP_EFFECTIVE_PRIORITY, *scope), "effective"),
                (selector(names.VRRP_MASTER_PRIORITY, *scope), "master"),
            ),
            decimals=0,
        ),
    )
    grid.add(
        timeseries(
            "Transitions",
            "State transitions per interval, by from/to state and reason.",
            targets(
                (
                    counter_increase(
                        names.VRRP_TRANSITIONS, *scope, by="from_state, to_state, reason"
                    ),
                    "{{from_state}} to {{to_state}} ({{reason}})",
                )
            ),
            bars=True,
            decimals=0,
        ),
    )
    grid.add(
        timeseries(
            "Peers",
            "Other routers heard within the last master-down interval.",
            targets((selector(names.VRRP_PEERS, *scope), "peers")),
            decimals=0,
        ),
    )
    grid.add(
        timeseries(
            "Timers",
            "This router's advertisement interval, the master's, and the master-down "
            "interval after which a backup takes over.",
            targets(
                (selector(names.VRRP_ADVERT_INTERVAL, *scope), "advertisement interval"),
                (
                    selector(names.VRRP_MASTER_ADVERT_INTERVAL, *scope),
                    "master advertisement interval",
                ),
                (selector(names.VRRP_MASTER_DOWN_INTERVAL, *scope), "master-down interval"),
            ),
            unit="s",
        ),
    )


def _instance_adverts(grid: Grid, scope: Sequence[str]) -> None:
    grid.add(
        timeseries(
            "Advertisements",
            "Advertisements sent and received per second.",
            targets(
                (counter_rate(names.VRRP_ADVERTS_SENT, *scope, by="vrrp_instance"), "sent"),
                (
                    counter_rate(names.VRRP_ADVERTS_RECEIVED, *scope, by="vrrp_instance"),
                    "received",
                ),
            ),
            unit="pps",
        ),
    )
    grid.add(
        timeseries(
            "Priority-0 adverts and master conflicts",
            "Priority-0 advertisements sent and received, and advertisements from another "
            "master heard while master.",
            targets(
                (
                    counter_increase(names.VRRP_PRIORITY_ZERO_SENT, *scope, by="vrrp_instance"),
                    "priority 0 sent",
                ),
                (
                    counter_increase(names.VRRP_PRIORITY_ZERO_RECEIVED, *scope, by="vrrp_instance"),
                    "priority 0 received",
                ),
                (
                    counter_increase(names.VRRP_MASTER_CONFLICTS, *scope, by="vrrp_instance"),
                    "master conflicts",
                ),
            ),
            bars=True,
            decimals=0,
        ),
    )


def _instance_vips_and_trackers(grid: Grid, scope: Sequence[str]) -> None:
    router = (JOB, ROUTER)
    grid.add(
        timeseries(
            "VIP changes",
            "Virtual addresses added and removed per interval, and changes the kernel refused.",
            targets(
                (counter_increase(names.VIP_CHANGES, *scope, by="op"), "{{op}}"),
                (counter_increase(names.VIP_CHANGE_FAILURES, *scope, by="op"), "{{op}} failed"),
            ),
            bars=True,
            decimals=0,
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Announcements",
            "Gratuitous ARP and unsolicited neighbour advertisements sent per interval.",
            targets((counter_increase(names.ANNOUNCEMENTS_SENT, *scope, by="kind"), "{{kind}}")),
            bars=True,
            decimals=0,
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Notify scripts",
            "Notify script runs per interval, by result.",
            targets((counter_increase(names.NOTIFY_RUNS, *scope, by="result"), "{{result}}")),
            bars=True,
            decimals=0,
        ),
        8,
        8,
    )
    grid.add(
        state_timeline(
            "Tracked scripts and interfaces",
            "Trackers on this router: a failing one lowers the priority or forces FAULT.",
            targets(
                (selector(names.TRACK_SCRIPT_UP, *router), "script {{script}}"),
                (selector(names.TRACK_INTERFACE_UP, *router), "interface {{interface}}"),
            ),
            UP_MAPPING,
        ),
    )
    grid.add(
        timeseries(
            "Track script duration (p90)",
            "90th percentile of each tracked script's run time.",
            targets(
                (
                    quantile(0.9, names.TRACK_SCRIPT_DURATION, *router, by="script, le"),
                    "{{script}}",
                )
            ),
            unit="s",
        ),
    )


def _instance_process(grid: Grid) -> None:
    router = (JOB, ROUTER)
    grid.add(
        timeseries(
            "CPU",
            "CPU time havip uses: near 100% of one core starves its event loop.",
            targets((f"rate({selector(names.PROCESS_CPU_SECONDS, *router)}{RATE})", "cpu")),
            unit="percentunit",
        ),
        8,
        7,
    )
    grid.add(
        timeseries(
            "Memory",
            "Resident memory of the havip process.",
            targets((selector(names.PROCESS_RESIDENT_MEMORY, *router), "resident")),
            unit="bytes",
        ),
        8,
        7,
    )
    grid.add(
        timeseries(
            "File descriptors",
            "Open file descriptors and the limit.",
            targets(
                (selector(names.PROCESS_OPEN_FDS, *router), "open"),
                (selector(names.PROCESS_MAX_FDS, *router), "max"),
            ),
            decimals=0,
        ),
        8,
        7,
    )


def instance_drilldown() -> Json:
    """One VRRP instance on one router: state, priorities, peers, timers, packets, trackers."""
    scope = (JOB, ROUTER, VRRP_INSTANCE)
    grid = Grid()
    grid.row("Now")
    _instance_now(grid, scope)
    grid.row("State and priority")
    _instance_history(grid, scope)
    grid.row("Advertisements and packets")
    _instance_adverts(grid, scope)
    _packet_panels(grid, rejected_scope=scope, auth_scope=scope, per=())
    grid.row("Failover")
    _duration_panels(grid, scope)
    grid.row("VIPs, trackers and notify scripts")
    _instance_vips_and_trackers(grid, scope)
    grid.row("havip process")
    _instance_process(grid)
    return dashboard(
        INSTANCE_UID,
        "havip / Instance",
        "One VRRP instance on one havip router: state and priority history, peers, timers, "
        "advertisements, rejected packets, failovers, VIPs and trackers.",
        grid,
        multi=False,
    )


# --- Files and queries --------------------------------------------------------------------


def all_dashboards() -> dict[str, Json]:
    """File name -> dashboard, as written to dashboards/."""
    return {
        "havip-fleet-overview.json": fleet_overview(),
        "havip-instance.json": instance_drilldown(),
    }


def render(board: Json) -> str:
    """The exact text of a dashboard file: stable key order, so regenerating is a no-op."""
    return json.dumps(board, indent=2, sort_keys=True) + "\n"


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, board in all_dashboards().items():
        path = directory / file_name
        path.write_text(render(board), encoding="utf-8")
        written.append(path)
    return written


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m havip.observe.dashboards",
        description="Write havip's Grafana dashboards as the JSON files users import.",
    )
    parser.add_argument(
        "--write", type=Path, required=True, metavar="DIR", help="directory for the JSON files"
    )
    args = parser.parse_args(argv)
    for path in write_all(args.write):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
