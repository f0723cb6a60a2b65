"""Tracing benchmark: what the always-on `vrrp.transition` spans cost per transition.

havip creates a span for every transition even when nothing exports it, so that trace ids are
in logs, /status and exemplars without a collector. This measures that cost as the agent pays
it: the reports of one takeover (the step with its state change, the VIP change, the
announcement round, the takeover done) and of one move back to BACKUP go through a fan-out
whose only observer is the TracingObserver, on a provider set up from an empty environment
(no OTEL_* variable: no span processor, no exporter). The same reports through a fan-out
with no observer give the baseline, so the difference is tracing alone.

It prints the median and the 10th/90th percentiles of many rounds of both.

    .venv/bin/python -m bench.tracing [--rounds 20] [--transitions 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from ipaddress import IPv4Address

from havip.observe.fanout import FanoutObserver
from havip.observe.tracing import TracingObserver, setup_tracing
from havip.observer import (
    Announced,
    InstanceRuntime,
    Observer,
    Report,
    Started,
    Stepped,
    TookOver,
    VipsChanged,
)
from havip.proto.events import StateChanged
from havip.proto.instance import InstanceSettings, VrrpInstance
from havip.proto.model import Family, Reason, State

VIPS = (IPv4Address("192.0.2.100"),)
LOCAL = IPv4Address("192.0.2.2")
PEER = IPv4Address("192.0.2.1")


def runtime() -> InstanceRuntime:
    settings = InstanceSettings(name="VI_1", vrid=51, priority=100, addresses=VIPS)
    return InstanceRuntime(
        name="VI_1",
        vrid=51,
        interface="eth0",
        family=Family.IPV4,
        version=3,
        vips=tuple(str(vip) for vip in VIPS),
        machine=VrrpInstance(settings, local_address=LOCAL),
    )


def transition_reports(instance: InstanceRuntime, at: float) -> list[Report]:
    """A takeover (four reports) and a return to BACKUP (one): two transitions."""
    up = StateChanged(State.BACKUP, State.MASTER, Reason.MASTER_DOWN, at, 100, PEER, at - 3.6)
    down = StateChanged(State.MASTER, State.BACKUP, Reason.HIGHER_PRIORITY, at + 1, 100, PEER, at)
    return [
        Stepped(instance, [up], at),
        VipsChanged(instance, "add", list(instance.vips), [], at, at + 0.001),
        Announced(instance, "garp", 5, at + 0.001, at + 0.002),
        TookOver(instance, up, at + 0.002),
        Stepped(instance, [down], at + 1),
    ]


def seconds_per_transition(observers: Sequence[Observer], transitions: int) -> float:
    """Feed `transitions` transitions' reports through a fan-out of `observers`."""
    instance = runtime()
    fanout = FanoutObserver(observers)
    fanout.observe(Started([instance], time.time() - time.monotonic()))
    batches = [transition_reports(instance, 10.0 + 2 * i) for i in range(transitions // 2)]
    began = time.perf_counter()
    for reports in batches:
        for report in reports:
            fanout.observe(report)
    return (time.perf_counter() - began) / (2 * len(batches))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--transitions", type=int, default=2000)
    args = parser.parse_args(argv)
    provider = setup_tracing({})
    traced, bare = [], []
    for _ in range(args.rounds):
        traced.append(seconds_per_transition([TracingObserver(provider)], args.transitions))
        bare.append(seconds_per_transition([], args.transitions))
    provider.shutdown()
    for name, values in (("with spans", traced), ("without", bare)):
        deciles = statistics.quantiles(values, n=10)
        print(
            f"{name:>10}: median {statistics.median(values) * 1e6:6.1f} µs per transition "
            f"(p10 {deciles[0] * 1e6:.1f}, p90 {deciles[-1] * 1e6:.1f}; "
            f"{args.rounds} rounds of {args.transitions})"
        )
    cost = statistics.median(t - b for t, b in zip(traced, bare, strict=True))
    print(f"tracing costs {cost * 1e6:.1f} µs per transition (median of the differences)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
