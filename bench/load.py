"""Timing under load: 10 ms adverts while every core is busy, havip next to keepalived.

A measured master (priority 150) and a keepalived backup (priority 100) share one VRRPv3
group at 10 ms adverts (Master_Down_Interval about 36 ms). Busy loops, one per core, run on
the host at the default nice value for the whole window. tcpdump on the backup's side stamps
every advert of the master; from those the benchmark reports the send jitter (how far each
interval strays from 10 ms: median, p99, worst) and counts false failovers (the backup taking
the VIP while the master runs). The master is havip or keepalived, each with and without its
real-time setting (`vrrp_rt_priority 10` in keepalived.conf, for both), one after the other in
the same invocation.

    sudo .venv/bin/python -m bench.load [--seconds 120] [--realtime-only]
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab
from havip.lab.processes import start_havip, start_keepalived, wait_for

VIP = "192.0.2.100"
INTERVAL = 0.01
ADVERT = re.compile(r"^(\d+\.\d+) IP 192\.0\.2\.1 > 224\.0\.0\.18: VRRPv3")


@dataclass
class Result:
    name: str
    intervals: list[float]
    false_failovers: int

    def line(self) -> str:
        jitter = sorted(abs(i - INTERVAL) for i in self.intervals)
        if not jitter:
            return f"| {self.name} | no adverts captured | | | | {self.false_failovers} |"
        p99 = jitter[min(len(jitter) - 1, round(0.99 * (len(jitter) - 1)))]
        return (
            f"| {self.name} | {len(self.intervals)} | {statistics.median(jitter) * 1000:.3f}"
            f" | {p99 * 1000:.3f} | {jitter[-1] * 1000:.1f} | {self.false_failovers} |"
        )


def hog(cores: int) -> list[subprocess.Popen[bytes]]:
    """One busy loop per core, at the default priority, in the host's namespace."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]


def measure(name: str, implementation: str, realtime: bool, seconds: float, tmp: Path) -> Result:
    extra = ("vrrp_rt_priority 10",) if realtime else ()
    timers = {"version": 3, "advert_int": INTERVAL}
    with Lab("hl") as lab:
        r1 = lab.add_host("r1", "192.0.2.1/24")
        r2 = lab.add_host("r2", "192.0.2.2/24")
        start = start_havip if implementation == "havip" else start_keepalived
        start(r1, keepalived_conf(RouterSpec(150, global_extra=extra, **timers)), tmp / name)  # type: ignore[arg-type]
        start_keepalived(r2, keepalived_conf(RouterSpec(100, **timers)), tmp / f"{name}-backup")  # type: ignore[arg-type]
        wait_for(lambda: VIP in r1.addresses_on() and VIP not in r2.addresses_on(), 15, "r1")
        time.sleep(1.0)
        capture = r2.popen(
            ["tcpdump", "-i", "eth0", "-n", "-tt", "-l", "-p", "ip proto 112"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert capture.stdout is not None
        stamps: list[float] = []

        def read() -> None:
            assert capture.stdout is not None
            for raw in capture.stdout:
                match = ADVERT.match(raw.decode(errors="replace"))
                if match:
                    stamps.append(float(match.group(1)))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        busy = hog(os.cpu_count() or 1)
        false_failovers = 0
        held = False
        try:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                on_backup = VIP in r2.addresses_on()
                if on_backup and not held:
                    false_failovers += 1
                held = on_backup
                time.sleep(0.05)
        finally:
            for process in busy:
                process.kill()
            capture.terminate()
            capture.wait(5)
            reader.join(5)
    intervals = [b - a for a, b in itertools.pairwise(stamps)]
    return Result(name, intervals, false_failovers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument(
        "--realtime-only",
        action="store_true",
        help="only the two masters with vrrp_rt_priority (for long windows)",
    )
    args = parser.parse_args(argv)
    cases = [
        ("havip", "havip", False),
        ("havip, vrrp_rt_priority 10", "havip", True),
        ("keepalived", "keepalived", False),
        ("keepalived, vrrp_rt_priority 10", "keepalived", True),
    ]
    if args.realtime_only:
        cases = [case for case in cases if case[2]]
    results = []
    with tempfile.TemporaryDirectory(prefix="havip-load-") as tmp:
        for name, implementation, realtime in cases:
            print(f"{name} ...", file=sys.stderr, flush=True)
            results.append(measure(name, implementation, realtime, args.seconds, Path(tmp)))
    print(
        f"Timing under load: VRRPv3 at 10 ms, {os.cpu_count()} busy loops, "
        f"{args.seconds:g} s each, {time.strftime('%Y-%m-%d')}\n"
    )
    print(
        "| master | adverts | jitter median (ms) | jitter p99 (ms) | worst (ms)"
        " | false failovers |\n|---|---:|---:|---:|---:|---:|"
    )
    for result in results:
        print(result.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
