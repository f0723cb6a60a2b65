"""CPU benchmark: N VRRP instances at 1 s adverts, havip next to keepalived.

Two cases, each with N instances spread evenly over K interfaces (eth0..eth{K-1}, at most 250
per interface, VRIDs 1.. counted again on every interface, one /32 VIP each from the
documentation ranges):

- `--role master`: the measured router is alone on its segments, so every instance becomes
  master and sends one advert a second.
- `--role backup`: a keepalived master (priority 150) shares every segment with the measured
  router (priority 100), which stays backup for every instance and receives N adverts a second.
  The master is keepalived for both measured implementations, so the offered load is the same.

After a warm-up, the CPU time (user + system, as the scheduler counts it per thread) of the
measured daemon's whole process group over the window is divided by the window: the share of
one core. Each implementation runs in its own fresh lab, one after the other, in the same
invocation.

    sudo .venv/bin/python -m bench.cpu [--role master|backup] [--instances 250]
        [--interfaces 1] [--version 3] [--seconds 60] [--repeats 3]
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
from havip.lab.netns import Host, Lab, LabError, run
from havip.lab.processes import Router, start_havip, start_keepalived, wait_for

PER_INTERFACE = 250
MAX_INTERFACES = 8
"""Interface i of router r gets 192.0.2.(16 i + r)/28, so 192.0.2.0/25 holds 8 interfaces."""
VIP_POOL = [
    *(f"198.51.100.{n}" for n in range(1, 255)),
    *(f"203.0.113.{n}" for n in range(1, 255)),
    *(f"192.0.2.{n}" for n in range(129, 255)),
]
"""634 VIPs: distinct on each interface; reused only on different interfaces of a host."""


def layout(count: int, interfaces: int) -> list[tuple[int, int, str]]:
    """(interface, vrid, vip) of every instance, spread evenly over the interfaces."""
    instances = []
    for interface in range(interfaces):
        share = count // interfaces + (interface < count % interfaces)
        for vrid in range(1, share + 1):
            vip = VIP_POOL[(interface * PER_INTERFACE + vrid - 1) % len(VIP_POOL)]
            instances.append((interface, vrid, vip))
    return instances


def many_instances_conf(
    count: int, interfaces: int = 1, priority: int = 150, version: int = 3, advert_int: float = 1.0
) -> str:
    """One keepalived.conf with `count` instances over eth0..eth{interfaces-1}."""
    specs = [
        RouterSpec(
            priority=priority,
            instance=f"VI_{interface}_{vrid}",
            vrid=vrid,
            version=version,
            advert_int=advert_int,
            interface=f"eth{interface}",
            vips=(f"{vip}/32",),
        )
        for interface, vrid, vip in layout(count, interfaces)
    ]
    return keepalived_conf(*specs)


def address(interface: int, router: int) -> str:
    return f"192.0.2.{16 * interface + router}/28"


def add_interfaces(lab: Lab, host: Host, router: int, interfaces: int) -> None:
    """eth1.. in `host`, each on bridge br<i> in the lab's switch namespace (br0 has eth0)."""
    index = list(lab.hosts).index(host.name)
    for interface in range(1, interfaces):
        bridge, port = f"br{interface}", f"p{index}{host.name}e{interface}"[:15]
        link = ["ip", "-n", lab.switch, "link"]
        if run([*link, "show", bridge], check=False).returncode:
            run([*link, "add", bridge, "type", "bridge"])
            run([*link, "set", bridge, "up"])
        peer = ["peer", "name", f"eth{interface}", "netns", host.namespace]
        run([*link, "add", port, "type", "veth", *peer])
        run([*link, "set", port, "master", bridge, "up"])
        host.exec("ip", "link", "set", f"eth{interface}", "up")
        host.exec("ip", "addr", "add", address(interface, router), "dev", f"eth{interface}")


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds used so far by every live thread of every process in a process group.

    From each thread's schedstat (the scheduler's own nanosecond count of time on a CPU),
    not from /proc/PID/stat's clock ticks: at 0.3 % of a core, a 30 s window is only nine
    10 ms ticks, too coarse to tell two daemons apart."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # field 5 of stat: pgrp
                continue
            for thread in os.listdir(f"/proc/{entry}/task"):
                schedstat = Path(f"/proc/{entry}/task/{thread}/schedstat").read_text()
                total += int(schedstat.split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def entered(router: Router, state: str) -> int:
    """How many times instances entered a state (both daemons log keepalived's wording)."""
    return router.log_text().count(f"Entering {state} STATE")


def measure(kind: str, args: argparse.Namespace, workdir: Path) -> float:
    count, interfaces, version = args.instances, args.interfaces, args.version
    start = start_havip if kind == "havip" else start_keepalived
    timeout = 60 + count / 10
    with Lab("hvu") as lab:
        routers = ("r1", "r2") if args.role == "backup" else ("r1",)
        for number, name in enumerate(routers, 1):
            add_interfaces(lab, lab.add_host(name, address(0, number)), number, interfaces)
        if args.role == "backup":
            master = start_keepalived(
                lab.hosts["r1"], many_instances_conf(count, interfaces, 150, version), workdir / "m"
            )
            wait_for(lambda: entered(master, "MASTER") >= count, timeout, "the masters", 0.5)
            conf = many_instances_conf(count, interfaces, 100, version)
            router = start(lab.hosts["r2"], conf, workdir / kind)
            wait_for(lambda: entered(router, "BACKUP") >= count, timeout, f"{kind} backups", 0.5)
        else:
            conf = many_instances_conf(count, interfaces, 150, version)
            router = start(lab.hosts["r1"], conf, workdir / kind)
            wait_for(lambda: entered(router, "MASTER") >= count, timeout, f"{kind} masters", 0.5)
        time.sleep(5)
        pgid = router.process.pid
        before, started = group_cpu_seconds(pgid), time.monotonic()
        time.sleep(args.seconds)
        used, elapsed = group_cpu_seconds(pgid) - before, time.monotonic() - started
        if router.process.poll() is not None:
            raise LabError(f"{kind} exited during the window; log in {router.log_path}")
        if args.role == "backup" and entered(router, "MASTER"):
            raise LabError(f"{kind} took over {entered(router, 'MASTER')} times: adverts lost?")
        router.stop()
    return used / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU for N VRRP instances, havip vs keepalived")
    parser.add_argument("--role", choices=("master", "backup"), default="master")
    parser.add_argument("--instances", type=int, default=250)
    parser.add_argument("--interfaces", type=int, default=1)
    parser.add_argument("--version", type=int, choices=(2, 3), default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not 1 <= args.interfaces <= MAX_INTERFACES:
        parser.error(f"--interfaces must be 1..{MAX_INTERFACES}")
    if not 1 <= args.instances <= PER_INTERFACE * args.interfaces:
        parser.error(f"--instances must be 1..{PER_INTERFACE} per interface")
    case = (
        f"role {args.role}, {args.instances} instances on {args.interfaces} interface(s), "
        f"VRRPv{args.version} at 1 s adverts"
    )
    print(f"case: {case}", file=sys.stderr, flush=True)
    shares: dict[str, list[float]] = {"havip": [], "keepalived": []}
    with tempfile.TemporaryDirectory(prefix="havip-cpu-") as tmp:
        for repeat in range(args.repeats):
            for kind in shares:
                workdir = Path(tmp) / f"{kind}-{repeat}"
                shares[kind].append(measure(kind, args, workdir))
                print(
                    f"{kind} run {repeat + 1}: {shares[kind][-1] * 100:.2f} % of a core",
                    file=sys.stderr,
                    flush=True,
                )
    medians = {kind: statistics.median(values) for kind, values in shares.items()}
    print(f"CPU, {case}, {args.repeats} x {args.seconds:g} s (% of one core):")
    for kind, values in shares.items():
        runs = ", ".join(f"{value * 100:.2f}" for value in values)
        print(f"  {kind:<10} runs {runs}; median {medians[kind] * 100:.2f} %")
    ratio = medians["havip"] / medians["keepalived"] if medians["keepalived"] else float("nan")
    print(f"  ratio havip/keepalived (medians) {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
