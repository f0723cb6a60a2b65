"""Memory over time: resident set size of N instances in both roles, havip next to keepalived.

Two labs run at once for the whole window, each a master router (priority 150) and a backup
router (priority 100) sharing N instances spread over K interfaces (bench.cpu's layout):
one lab of two havip routers, one of two keepalived routers. Every `--every` seconds the
benchmark reads the resident set size (VmRSS, summed over each daemon's process group) of
all four daemons. Memory that is not flat grows with time or with packets: the report gives
each daemon's RSS at the first sample, the last, and the growth between the first sample
after warm-up and the last.

    sudo .venv/bin/python -m bench.rss [--instances 1000] [--interfaces 4] [--minutes 30]
        [--every 60] [--advert-int 1] [--keep-logs DIR]

A backup must stay a backup for the whole window: the report counts each backup's takeovers
(havip's and keepalived's alike) and the run fails if any took over. `--keep-logs` keeps the
four daemons' configurations and logs in DIR, so a takeover can be traced afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import AbstractContextManager, ExitStack, nullcontext
from pathlib import Path

from bench.cpu import (
    MAX_INTERFACES,
    PER_INTERFACE,
    add_interfaces,
    address,
    entered,
    many_instances_conf,
)
from havip.lab.netns import Lab, LabError
from havip.lab.processes import Router, start_havip, start_keepalived, wait_for


def group_rss_kib(pgid: int) -> int:
    """Resident memory (KiB) of every live process in a process group."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[2]) != pgid:
                continue
            for line in Path(f"/proc/{entry}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total


def start_pair(
    stack: ExitStack, kind: str, args: argparse.Namespace, workdir: Path
) -> dict[str, Router]:
    """A lab with a master and a backup router of `kind`, both settled."""
    count, interfaces = args.instances, args.interfaces
    start = start_havip if kind == "havip" else start_keepalived
    lab = stack.enter_context(Lab("hvr" + kind[0]))
    routers: dict[str, Router] = {}
    for number, (role, priority) in enumerate((("master", 150), ("backup", 100)), 1):
        host = lab.add_host(f"r{number}", address(0, number))
        add_interfaces(lab, host, number, interfaces)
        conf = many_instances_conf(count, interfaces, priority, 3, args.advert_int)
        routers[role] = start(host, conf, workdir / f"{kind}-{role}")
        stack.callback(routers[role].stop)
        settle(routers[role], "MASTER" if role == "master" else "BACKUP", count, f"{kind} {role}")
    return routers


def settle(router: Router, state: str, count: int, what: str) -> None:
    """Wait until all `count` instances of `router` have entered `state`."""
    wait_for(lambda: entered(router, state) >= count, 60 + count / 10, what, 0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="RSS over time, havip vs keepalived")
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--interfaces", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--advert-int", type=float, default=1.0, help="seconds (VRRPv3)")
    parser.add_argument(
        "--keep-logs", type=Path, metavar="DIR", help="keep configurations and logs in DIR"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.interfaces <= MAX_INTERFACES:
        parser.error(f"--interfaces must be 1..{MAX_INTERFACES}")
    if not 1 <= args.instances <= PER_INTERFACE * args.interfaces:
        parser.error(f"--instances must be 1..{PER_INTERFACE} per interface")
    print(
        f"case: {args.instances} instances on {args.interfaces} interface(s),"
        f" VRRPv3 at {args.advert_int:g} s,"
        f" {args.minutes:g} minutes, a sample every {args.every:g} s",
        file=sys.stderr,
        flush=True,
    )
    workdir: AbstractContextManager[str]
    if args.keep_logs is not None:
        args.keep_logs.mkdir(parents=True, exist_ok=True)
        workdir = nullcontext(str(args.keep_logs))
    else:
        workdir = tempfile.TemporaryDirectory(prefix="havip-rss-")
    with workdir as tmp, ExitStack() as stack:
        daemons: dict[str, Router] = {}
        for kind in ("havip", "keepalived"):
            for role, router in start_pair(stack, kind, args, Path(tmp)).items():
                daemons[f"{kind} {role}"] = router
        time.sleep(args.warmup)
        samples: dict[str, list[tuple[float, int]]] = {name: [] for name in daemons}
        started = time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            for name, router in daemons.items():
                if router.process.poll() is not None:
                    raise LabError(f"{name} exited; log in {router.log_path}")
                samples[name].append((elapsed, group_rss_kib(router.process.pid)))
            line = ", ".join(f"{name} {kib[-1][1] / 1024:.1f}" for name, kib in samples.items())
            print(f"{elapsed / 60:5.1f} min: {line} MiB", file=sys.stderr, flush=True)
            if elapsed >= args.minutes * 60:
                break
            time.sleep(args.every)
        # a master enters BACKUP once at start-up; a backup must never become master
        takeovers = {
            name: entered(router, "MASTER") for name, router in daemons.items() if "backup" in name
        }
    print(f"RSS, {args.instances} instances, {args.minutes:g} min (MiB):")
    print("| daemon | first sample | last sample | growth | growth per hour |")
    print("|---|---|---|---|---|")
    for name, points in samples.items():
        (t0, first), (t1, last) = points[0], points[-1]
        hours = max(t1 - t0, 1.0) / 3600
        growth = (last - first) / 1024
        print(
            f"| {name} | {first / 1024:.1f} | {last / 1024:.1f} | {growth:+.2f}"
            f" | {growth / hours:+.2f} |"
        )
    print("| backup | takeovers during the window |")
    print("|---|---|")
    for name, count in takeovers.items():
        print(f"| {name} | {count} |")
    if any(takeovers.values()):
        raise LabError("a backup took over during the window: adverts lost?")
    return 0


if __name__ == "__main__":
    sys.exit(main())
