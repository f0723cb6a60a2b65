"""CPU benchmark: 250 VRRP instances at 1 s adverts as master, havip next to keepalived.

One router namespace on a lab bridge runs 250 instances (VRIDs 1..250, one VIP each from
198.51.100.0/24); alone on the segment, every instance becomes master and advertises once a
second. After a warm-up, the CPU time (user + system, from /proc) the daemon's whole process
group used over the measuring window is divided by the window: the share of one core. Each
implementation runs in its own fresh lab, one after the other, in the same invocation.

    sudo .venv/bin/python -m bench.cpu [--instances 250] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab
from havip.lab.processes import Router, start_havip, start_keepalived, wait_for

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def many_instances_conf(count: int) -> str:
    """One keepalived.conf with `count` master-only instances."""
    specs = [
        RouterSpec(priority=150, instance=f"VI_{vrid}", vrid=vrid, vips=(f"198.51.100.{vrid}/32",))
        for vrid in range(1, count + 1)
    ]
    return keepalived_conf(*specs)


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds used so far by every live process in a process group."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def masters(router: Router) -> int:
    """How many instances have entered MASTER (both daemons log keepalived's wording)."""
    return router.log_text().count("Entering MASTER STATE")


def measure(kind: str, count: int, seconds: float, workdir: Path) -> float:
    with Lab("hc") as lab:
        host = lab.add_host("r1", "192.0.2.1/24")
        start = start_havip if kind == "havip" else start_keepalived
        router = start(host, many_instances_conf(count), workdir)
        wait_for(lambda: masters(router) >= count, 60, f"{count} {kind} masters", 0.5)
        time.sleep(5)
        pgid = router.process.pid
        before, started = group_cpu_seconds(pgid), time.monotonic()
        time.sleep(seconds)
        used, elapsed = group_cpu_seconds(pgid) - before, time.monotonic() - started
        router.stop()
    return used / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU for N master instances, havip vs keepalived")
    parser.add_argument("--instances", type=int, default=250)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    shares: dict[str, list[float]] = {"havip": [], "keepalived": []}
    with tempfile.TemporaryDirectory(prefix="havip-cpu-") as tmp:
        for repeat in range(args.repeats):
            for kind in shares:
                workdir = Path(tmp) / f"{kind}-{repeat}"
                shares[kind].append(measure(kind, args.instances, args.seconds, workdir))
                print(
                    f"{kind} run {repeat + 1}: {shares[kind][-1] * 100:.2f} % of a core",
                    file=sys.stderr,
                    flush=True,
                )
    havip, keepalived = (statistics.median(shares[k]) for k in ("havip", "keepalived"))
    print(
        f"CPU, {args.instances} master instances at 1 s adverts, median of {args.repeats} x "
        f"{args.seconds:g} s: havip {havip * 100:.2f} % of a core, keepalived "
        f"{keepalived * 100:.2f} %, ratio havip/keepalived {havip / keepalived:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
