"""The text of many series, fast: each group's lines are cached and only re-formatted when a value
changes.

prometheus_client formats every sample on every scrape (label escaping, float formatting, one
Sample tuple each): about 5 us a series, 0.4 s for 1,000 instances. An instance's series are
fixed when it is created, so here each line's prefix (name and escaped labels) is built once,
and a scrape compares each group's values with the last ones and joins cached strings. The
output is what prometheus_client's encoders write for the same samples, in the Prometheus
text format 0.0.4 and in OpenMetrics 1.0 (the only one that carries exemplars).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

from prometheus_client import utils

from havip.observe.names import Kind, Metric

format_value: Callable[[float], str] = utils.floatToGoString
"""prometheus_client's value formatting (typed here): Go's, so values read the same."""

Format = Literal["text", "openmetrics"]
"""The Prometheus text format 0.0.4, or OpenMetrics 1.0."""

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def choose_format(accept: str) -> Format:
    """OpenMetrics when the client asks for it (Prometheus does), else the text format."""
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        if media.strip() == "application/openmetrics-text":
            versions = [p.strip() for p in params.split(";") if p.strip().startswith("version=")]
            if not versions or versions[0] in ("version=1.0.0", "version=0.0.1"):
                return "openmetrics"
    return "text"


def content_type(fmt: Format) -> str:
    return OPENMETRICS_CONTENT_TYPE if fmt == "openmetrics" else TEXT_CONTENT_TYPE


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def label_text(labels: Mapping[str, str]) -> str:
    """`{a="x",b="y"}`, names sorted as prometheus_client sorts them; empty for no labels."""
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"


def header(metric: Metric, fmt: Format) -> str:
    """# HELP and # TYPE of a family; the text format names a counter with its _total."""
    name = metric.name
    if metric.kind is Kind.COUNTER and fmt == "openmetrics":
        name = name.removesuffix("_total")
    documentation = metric.help.replace("\\", r"\\").replace("\n", r"\n")
    if fmt == "openmetrics":
        documentation = documentation.replace('"', r"\"")
    return f"# HELP {name} {documentation}\n# TYPE {name} {metric.kind.value}\n"


class Lines:
    """A fixed group of series (say one instance's share of a family): prefixes built once,
    text formatted again only when the values differ from the last scrape's."""

    __slots__ = ("_prefixes", "_text", "_values")

    def __init__(self, metric: Metric, label_sets: Iterable[Mapping[str, str]]) -> None:
        self._prefixes = tuple(metric.name + label_text(labels) + " " for labels in label_sets)
        self._values: tuple[float, ...] | None = None
        self._text = ""

    def render(self, values: tuple[float, ...]) -> str:
        if values != self._values:
            self._values = values
            self._text = "".join(
                f"{prefix}{format_value(value)}\n"
                for prefix, value in zip(self._prefixes, values, strict=True)
            )
        return self._text


class DynamicLines:
    """Series whose label sets appear as they happen (transitions): re-built on any change."""

    __slots__ = ("_metric", "_text", "_values")

    def __init__(self, metric: Metric) -> None:
        self._metric = metric
        self._values: tuple[tuple[tuple[tuple[str, str], ...], float], ...] | None = None
        self._text = ""

    def render(self, values: tuple[tuple[tuple[tuple[str, str], ...], float], ...]) -> str:
        if values != self._values:
            self._values = values
            name = self._metric.name
            self._text = "".join(
                f"{name}{label_text(dict(labels))} {format_value(value)}\n"
                for labels, value in values
            )
        return self._text


class Exemplar:
    """The last observation of a bucket with the trace it belongs to (OpenMetrics only)."""

    __slots__ = ("text",)

    def __init__(self, trace_id: str, value: float, timestamp: float) -> None:
        self.text = f' # {{trace_id="{_escape(trace_id)}"}} {format_value(value)} {timestamp}'


class Histogram:
    """One histogram series group: buckets, sum, count and each bucket's latest exemplar.

    Observations come from the agent's loop and rendering from a worker thread; every update
    is a plain attribute or list-item store, so a scrape sees a count at most one observation
    behind, never a torn value.
    """

    __slots__ = (
        "_bounds",
        "_buckets",
        "_count_prefix",
        "_counts",
        "_exemplars",
        "_sum",
        "_sum_prefix",
    )

    def __init__(self, metric: Metric, bounds: Sequence[float], labels: Mapping[str, str]) -> None:
        self._bounds = (*bounds, float("inf"))
        self._counts = [0] * len(self._bounds)
        self._exemplars: list[Exemplar | None] = [None] * len(self._bounds)
        self._sum = 0.0
        bucket = Metric(metric.name + "_bucket", metric.kind, (), metric.help)
        self._buckets = Lines(bucket, ({**labels, "le": format_value(b)} for b in self._bounds))
        self._count_prefix = f"{metric.name}_count{label_text(labels)} "
        self._sum_prefix = f"{metric.name}_sum{label_text(labels)} "

    def observe(self, value: float, trace_id: str | None, timestamp: float) -> None:
        index = next(i for i, bound in enumerate(self._bounds) if value <= bound)
        self._counts[index] += 1
        self._sum += value
        if trace_id is not None:
            self._exemplars[index] = Exemplar(trace_id, value, timestamp)

    def render(self, fmt: Format) -> str:
        cumulative: list[float] = []
        total = 0
        for count in list(self._counts):
            total += count
            cumulative.append(total)
        buckets = self._buckets.render(tuple(cumulative))
        exemplars = list(self._exemplars)
        if fmt == "openmetrics" and any(exemplars):
            buckets = "".join(
                f"{line}{exemplar.text if exemplar else ''}\n"
                for line, exemplar in zip(buckets.splitlines(), exemplars, strict=True)
            )
        return (
            f"{buckets}{self._count_prefix}{format_value(total)}\n"
            f"{self._sum_prefix}{format_value(self._sum)}\n"
        )
