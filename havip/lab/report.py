"""`havip lab --report FILE.html`: the drill as one self-contained page.

The page shows what the lab recorded (havip/lab/timeline.py): each router's state over time
with the reason and trace id of every transition, the gaps between the client's ping replies,
each router's effective priority, and per step the client's outage next to the failover
duration havip recorded. The charts are plotly's, with plotly.js embedded in the page, so it
opens from a file, offline, years later. plotly is an optional dependency (`havip[lab]`):
only this command needs it, and it is imported only when a report is asked for.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from havip.lab.drill import StepResult, outage_cell
from havip.lab.timeline import INFERRED_REASON, STOPPED, DrillRecord, Transition

STATE_COLOURS = {
    "master": "#2ca02c",
    "backup": "#1f77b4",
    "fault": "#d62728",
    "init": "#9467bd",
    "stop": "#ff7f0e",
    "starting": "#bcbd22",
    STOPPED: "#c7c7c7",
}
"""One colour per state, the same in the chart and its legend."""
STARTING = "starting"
"""A router's process runs but has not logged its first state yet."""
ACTION_MERGE_SECONDS = 0.5
"""Actions closer than this share one label on the timeline (the election starts three)."""
TIMELINE_ID = "timeline"
FAILOVERS_ID = "failovers"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


def plotly_missing() -> str | None:
    """Why a report cannot be written here, None when plotly is installed."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        return "--report needs plotly: pip install 'havip[lab]' (scripts/setup installs it)"
    return None


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of time one router spent in one state, and why it entered it."""

    router: str
    state: str
    start: float
    end: float
    reason: str
    trace_id: str | None


def state_segments(record: DrillRecord) -> list[Segment]:
    """Every router's states, back to back, from its first observation to the drill's end:
    one segment per change, even one that lasted less than the logs' millisecond.

    havip routers: the transitions they logged, plus the lab's own knowledge of when each
    process started and exited. keepalived: the changes between the lab's samples.
    """
    segments: list[Segment] = []
    for router in record.routers:
        changes: list[tuple[float, str, str, str | None]] = []
        for action in record.actions:
            if action.router != router.name:
                continue
            if action.what == "started":
                changes.append((action.at, STARTING, "process started", None))
            elif action.what == "exited":
                changes.append((action.at, STOPPED, "process exited", None))
        if router.kind == "havip":
            changes.extend(
                (t.at, t.state, t.reason, t.trace_id)
                for t in record.transitions
                if t.router == router.name
            )
        else:
            previous = None
            for sample in record.samples:
                if sample.router == router.name and sample.state != previous:
                    changes.append((sample.at, sample.state, INFERRED_REASON, None))
                    previous = sample.state
        changes.sort(key=lambda change: change[0])
        ends = [change[0] for change in changes[1:]] + [record.ended]
        segments.extend(
            Segment(router.name, state, at, end, reason, trace_id)
            for (at, state, reason, trace_id), end in zip(changes, ends, strict=True)
        )
    return segments


def step_trace_id(step: StepResult, transitions: Sequence[Transition]) -> str | None:
    """The trace id of the step's new master becoming master (its first such transition
    after the action), None when it is not havip or logged none."""
    for transition in sorted(transitions, key=lambda t: t.at):
        if (
            transition.router == step.master
            and transition.state == "master"
            and transition.at >= step.acted_at
        ):
            return transition.trace_id
    return None


def _utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S.%f")[:-3]


def timeline_figure(record: DrillRecord) -> Any:
    """States, ping gaps and priorities on one time axis (seconds since the drill began)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    t0 = record.started
    names = [router.name for router in record.routers]
    figure = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        row_heights=[0.4, 0.35, 0.25],
        subplot_titles=(
            "Router state (havip: its own log; keepalived: read from the VIP)",
            f"Client: ms since the previous ping reply (a request every "
            f"{record.probe_interval * 1000:g} ms)",
            "Effective priority (each havip router's /status)",
        ),
    )
    segments = state_segments(record)
    for state, colour in STATE_COLOURS.items():
        chosen = [segment for segment in segments if segment.state == state]
        if not chosen:
            continue
        figure.add_trace(
            go.Bar(
                name=state,
                orientation="h",
                y=[segment.router for segment in chosen],
                base=[segment.start - t0 for segment in chosen],
                x=[segment.end - segment.start for segment in chosen],
                marker={"color": colour},
                customdata=[
                    [segment.reason, segment.trace_id or "-", _utc(segment.start)]
                    for segment in chosen
                ],
                hovertemplate=(
                    "%{y} " + state + " from %{base:.3f} s (%{customdata[2]} UTC)"
                    "<br>for %{x:.3f} s<br>reason: %{customdata[0]}"
                    "<br>trace id: %{customdata[1]}<extra></extra>"
                ),
                legendgroup="state",
                legendgrouptitle={"text": "state"},
            ),
            row=1,
            col=1,
        )
    replies = record.replies
    figure.add_trace(
        go.Scatter(
            name="ping gap",
            x=[after.at - t0 for _, after in itertools.pairwise(replies)],
            y=[(after.at - before.at) * 1000 for before, after in itertools.pairwise(replies)],
            mode="lines",
            line={"color": "#444", "width": 1},
            hovertemplate=(
                "reply at %{x:.3f} s<br>%{y:.0f} ms after the previous one<extra></extra>"
            ),
        ),
        row=2,
        col=1,
    )
    for router in record.routers:
        samples = [
            sample
            for sample in record.samples
            if sample.router == router.name and sample.effective_priority is not None
        ]
        if not samples:
            continue
        figure.add_trace(
            go.Scatter(
                name=f"{router.name} priority",
                x=[sample.at - t0 for sample in samples],
                y=[sample.effective_priority for sample in samples],
                mode="lines",
                line={"shape": "hv"},
                legendgroup="priority",
                legendgrouptitle={"text": "priority"},
            ),
            row=3,
            col=1,
        )
    for at, label in _action_labels(record):
        figure.add_vline(x=at - t0, line={"dash": "dot", "color": "#888", "width": 1})
        figure.add_annotation(
            x=at - t0,
            y=1.0,
            xref="x",
            yref="paper",
            text=label,
            showarrow=False,
            textangle=-30,
            xanchor="left",
            yanchor="bottom",
            yshift=24,  # above the first chart's title
            font={"size": 10},
        )
    figure.update_yaxes(categoryorder="array", categoryarray=list(reversed(names)), row=1, col=1)
    figure.update_yaxes(title_text="ms", row=2, col=1)
    figure.update_xaxes(title_text="seconds since the drill began", row=3, col=1)
    figure.update_layout(barmode="overlay", height=780, margin={"t": 140})
    return figure


def _action_labels(record: DrillRecord) -> list[tuple[float, str]]:
    """The drill's actions as (time, label), with near-simultaneous ones merged."""
    labels: list[tuple[float, str]] = []
    for action in sorted(record.actions, key=lambda action: action.at):
        if action.what == "exited":
            continue  # drawn as the start of the grey `stopped` bar
        text = f"{action.router} {action.what}"
        if labels and action.at - labels[-1][0] < ACTION_MERGE_SECONDS:
            labels[-1] = (labels[-1][0], f"{labels[-1][1]}, {text}")
        else:
            labels.append((action.at, text))
    return labels


def failovers_figure(record: DrillRecord) -> Any:
    """Per step: the outage the client saw next to the failover havip recorded."""
    import plotly.graph_objects as go

    steps = [step for step in record.steps if step.outage is not None]
    names = [f"{step.name} ({step.master})" for step in steps]
    outages = [step.outage.seconds * 1000 if step.outage else None for step in steps]
    recorded = [None if step.recorded is None else step.recorded * 1000 for step in steps]
    figure = go.Figure(
        [
            go.Bar(
                name="client outage (largest gap between replies)",
                x=names,
                y=outages,
                text=[f"{value:.0f} ms" if value is not None else "" for value in outages],
            ),
            go.Bar(
                name="havip failover (havip_vrrp_failover_duration_seconds)",
                x=names,
                y=recorded,
                text=[
                    f"{value:.0f} ms" if value is not None else step.recorded_note
                    for value, step in zip(recorded, steps, strict=True)
                ],
            ),
        ]
    )
    figure.update_layout(
        barmode="group",
        height=420,
        title="Each step: what the client lost and what havip recorded",
        yaxis={"title": {"text": "ms"}},
    )
    return figure


def render(record: DrillRecord) -> str:
    """The whole page: both charts (plotly.js inline, once) and the tables behind them."""
    import plotly.io as pio

    timeline = pio.to_html(
        timeline_figure(record),
        include_plotlyjs=True,
        full_html=False,
        div_id=TIMELINE_ID,
        config=PLOTLY_CONFIG,
    )
    failovers = pio.to_html(
        failovers_figure(record),
        include_plotlyjs=False,
        full_html=False,
        div_id=FAILOVERS_ID,
        config=PLOTLY_CONFIG,
    )
    title = html.escape(f"havip lab drill: {record.title}")
    began = datetime.fromtimestamp(record.started, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{title}</title>",
            f"<style>{_STYLE}</style>",
            "</head><body>",
            f"<h1>{title}</h1>",
            f"<p>Began {began}; the client pinged the VIP {html.escape(record.vip)} every "
            f"{record.probe_interval * 1000:g} ms and got {len(record.replies)} replies. "
            "Dotted lines mark what the drill did; hover over a bar for its reason and trace "
            "id.</p>",
            timeline,
            _steps_table(record),
            failovers,
            _transitions_table(record),
            "</body></html>",
        ]
    )


def write_report(path: Path, record: DrillRecord) -> None:
    path.write_text(render(record), encoding="utf-8")


def _table(caption: str, header: Sequence[str], rows: Sequence[Sequence[str]], ident: str) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        f'<table id="{ident}"><caption>{html.escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _steps_table(record: DrillRecord) -> str:
    rows = []
    for step in record.steps:
        outage = "-" if step.outage is None else outage_cell(step.outage)
        recorded = step.recorded_note
        if step.recorded is not None:
            recorded = f"{step.recorded * 1000:.0f} ms {step.recorded_note}".rstrip()
        trace = step_trace_id(step, record.transitions) or "-"
        rows.append(
            [
                step.name,
                f"+{step.acted_at - record.started:.3f} s",
                step.what,
                step.master,
                outage,
                recorded,
                trace,
            ]
        )
    header = ("step", "at", "what happened", "new master", "client outage", "havip failover")
    return _table("The drill's steps", (*header, "trace id"), rows, "steps")


def _transitions_table(record: DrillRecord) -> str:
    rows = [
        [
            f"+{transition.at - record.started:.3f} s",
            _utc(transition.at),
            transition.router,
            transition.state,
            transition.reason,
            transition.trace_id or "-",
        ]
        for transition in sorted(record.transitions, key=lambda t: t.at)
    ]
    return _table(
        "Every transition the havip routers logged",
        ("at", "UTC", "router", "new state", "reason", "trace id"),
        rows,
        "transitions",
    )


_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 1.5em 0; font-size: 0.9em; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.4em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td:last-child { font-family: monospace; }
"""
