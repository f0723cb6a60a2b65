"""Failover benchmark: havip and keepalived side by side on the same namespace lab.

For each implementation and timer setting, two routers (priority 150 and 100) and a switch
are built; each run cuts the master's switch port and measures, with the kernel's own event
times (`ip -ts monitor`), the time from the port going down to the VIP appearing on the
backup. The master's port is then restored and the group allowed to preempt back before the
next run. For havip it also reads both routers' takeover-overhead histograms (decision to
VIPs installed and first announcement sent) after every run: the backup's failover and the
master's preemption back are one takeover each, so every run gives two samples.

`--takeovers N` adds havip-only runs at the fastest setting until N takeovers are sampled, for
a p99 that rests on hundreds of takeovers rather than a handful.

    sudo .venv/bin/python -m bench.failover --runs 20 [--takeovers 200] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab
from havip.lab.processes import Router, start_havip, start_keepalived, wait_for

VIP = "192.0.2.100"
STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\]\s*(.*)$")


@dataclass
class Setting:
    name: str
    version: int
    advert_int: float


SETTINGS = [Setting("VRRPv3 50 ms", 3, 0.05), Setting("VRRPv2 1 s", 2, 1.0)]


@dataclass
class Series:
    implementation: str
    setting: str
    failover: list[float] = field(default_factory=list)
    takeover: list[float] = field(default_factory=list)


class Monitor:
    """`ip -ts monitor` in one namespace; lines with their kernel-event timestamps."""

    def __init__(self, namespace: str, *objects: str) -> None:
        self.process = subprocess.Popen(
            ["ip", "-n", namespace, "-ts", "monitor", *objects],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            match = STAMP.match(line)
            if match:
                stamp = datetime.fromisoformat(match.group(1)).timestamp()
                self.lines.put((stamp, match.group(2)))

    def drain(self) -> None:
        while not self.lines.empty():
            self.lines.get_nowait()

    def wait(self, pattern: str, timeout: float) -> float:
        """The timestamp of the next line matching `pattern`."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(pattern)
            stamp, text = self.lines.get(timeout=left)
            if regex.search(text):
                return stamp

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()


def takeover_sum(router: Router) -> float:
    """Total takeover overhead observed so far by a havip router (histogram _sum)."""
    for line in router.metrics().splitlines():
        if line.startswith("havip_vrrp_takeover_duration_seconds_sum"):
            return float(line.split()[-1])
    return 0.0


def measure(implementation: str, setting: Setting, runs: int, workdir: Path) -> Series:
    """`runs` link-cut failovers and preemptions back; a havip takeover is sampled per router
    per run (the _sum of its histogram moves by exactly that takeover)."""
    series = Series(implementation, setting.name)
    with Lab("hb") as lab:
        lab.add_host("r1", "192.0.2.1/24")
        lab.add_host("r2", "192.0.2.2/24")
        start = start_havip if implementation == "havip" else start_keepalived
        specs = {"version": setting.version, "advert_int": setting.advert_int}
        master = start(lab.hosts["r1"], keepalived_conf(RouterSpec(150, **specs)), workdir / "r1")  # type: ignore[arg-type]
        backup = start(lab.hosts["r2"], keepalived_conf(RouterSpec(100, **specs)), workdir / "r2")  # type: ignore[arg-type]
        switch = Monitor(lab.switch, "link")
        backup_addresses = Monitor(lab.hosts["r2"].namespace, "address")
        port = lab.hosts["r1"].port
        settle = 3 * setting.advert_int + 1.0
        wait_for(lambda: VIP in lab.hosts["r1"].addresses_on(), 15, "r1 master")
        try:
            for _ in range(runs):
                time.sleep(settle)
                havip = implementation == "havip"
                before = takeover_sum(backup) if havip else 0.0
                before_back = takeover_sum(master) if havip else 0.0
                switch.drain()
                backup_addresses.drain()
                lab.cut("r1")
                cut_at = switch.wait(rf"{port}\S*: .*state DOWN", 5)
                added_at = backup_addresses.wait(rf"^\d+: eth0\s+inet {re.escape(VIP)}/", 30)
                series.failover.append(added_at - cut_at)
                if implementation == "havip":
                    series.takeover.append(takeover_sum(backup) - before)
                lab.restore("r1")
                wait_for(
                    lambda: (
                        VIP in lab.hosts["r1"].addresses_on()
                        and VIP not in lab.hosts["r2"].addresses_on()
                    ),
                    30,
                    "preemption back to r1",
                )
                if havip:
                    wait_for(
                        lambda floor=before_back: takeover_sum(master) > floor,
                        5,
                        "r1 takeover counted",
                    )
                    series.takeover.append(takeover_sum(master) - before_back)
        finally:
            switch.close()
            backup_addresses.close()
    return series


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def report(results: list[Series], runs: int) -> str:
    lines = [
        f"Failover benchmark ({runs} runs each, {time.strftime('%Y-%m-%d')}, "
        "`sudo .venv/bin/python -m bench.failover`)",
        "",
        "| setting | implementation | median (ms) | p95 (ms) | havip/keepalived (median) |",
        "|---|---|---|---|---|",
    ]
    by_key = {(s.setting, s.implementation): s for s in results}
    for setting in SETTINGS:
        havip = by_key.get((setting.name, "havip"))
        keepalived = by_key.get((setting.name, "keepalived"))
        for s in (havip, keepalived):
            if s is None or not s.failover:
                continue
            median = statistics.median(s.failover)
            ratio = ""
            if s is havip and keepalived is not None and keepalived.failover:
                ratio = f"{median / statistics.median(keepalived.failover):.3f}"
            lines.append(
                f"| {setting.name} | {s.implementation} | {median * 1000:.1f}"
                f" | {percentile(s.failover, 0.95) * 1000:.1f} | {ratio} |"
            )
    takeovers = [t for s in results if s.implementation == "havip" for t in s.takeover]
    if takeovers:
        lines += [
            "",
            f"havip takeover overhead (master-down timer -> VIPs installed and first announcement"
            f" sent), {len(takeovers)} takeovers: p50 {percentile(takeovers, 0.5) * 1000:.3f} ms,"
            f" p99 {percentile(takeovers, 0.99) * 1000:.3f} ms, max {max(takeovers) * 1000:.3f} ms",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    parser.add_argument(
        "--takeovers", type=int, default=0, help="havip takeovers to sample at the least"
    )
    args = parser.parse_args(argv)
    results: list[Series] = []
    with tempfile.TemporaryDirectory(prefix="havip-bench-") as tmp:
        for setting in SETTINGS:
            for implementation in ("havip", "keepalived"):
                print(f"{setting.name}: {implementation} ...", file=sys.stderr, flush=True)
                workdir = Path(tmp) / f"{implementation}-{setting.version}"
                results.append(measure(implementation, setting, args.runs, workdir))
        sampled = sum(len(s.takeover) for s in results)
        if args.takeovers > sampled:
            fastest = SETTINGS[0]
            more = (args.takeovers - sampled + 1) // 2
            print(f"{fastest.name}: havip, {more} more runs ...", file=sys.stderr, flush=True)
            extra = measure("havip", fastest, more, Path(tmp) / "havip-takeovers")
            results.append(Series("havip", "takeovers only", takeover=extra.takeover))
    text = report(results, args.runs)
    print(text)
    if args.json:
        args.json.write_text(json.dumps([s.__dict__ for s in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
