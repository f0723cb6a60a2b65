"""Flood benchmark: does a VRRP master keep advertising on time under a wrong-password flood?

For each implementation (havip, then keepalived, each in its own fresh lab) a switch joins:
r1, the measured master (priority 150), and r2, a backup of the same implementation (priority
100), both VRRPv2 with PASS auth "right", VRID 51, advert_int 1 s, VIP 192.0.2.100/24; N
flooder hosts, each sending as fast as one process can (a tight loop on a raw IPPROTO 112
socket, TTL 255, to 224.0.0.18) well-formed VRRPv2 adverts for VRID 51 with priority 200 and
the wrong password; and an observer running tcpdump, which stamps every VRRP packet from r1
and r2 with the kernel's capture time.

Once r1 holds the VIP and the group has settled, the flood starts; after a second of ramp-up
the window opens. Over the window it reports the flood rate the flooders achieved, the gaps
between consecutive r1 adverts (median, p99, max), whether r2 ever took over (the VIP
sampled every 100 ms, and "Entering MASTER STATE" in r2's log, which also catches takeovers
shorter than a sample) and r1's CPU share (its whole process group, from /proc, as bench/cpu.py).

    sudo .venv/bin/python -m bench.flood [--seconds 20] [--flooders 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from itertools import pairwise
from pathlib import Path
from types import FrameType

from bench.cpu import group_cpu_seconds
from bench.failover import percentile
from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Host, Lab, LabError
from havip.lab.processes import Router, start_havip, start_keepalived, wait_for
from havip.proto.model import AUTH_PASS, Advertisement
from havip.proto.packet import encode

VIP = "192.0.2.100"
GROUP = "224.0.0.18"
R1, R2, OBSERVER = "192.0.2.1", "192.0.2.2", "192.0.2.3"
FLOODER_BASE = 10  # flooder i is 192.0.2.(10 + i)
SAMPLE_INTERVAL = 0.1
RAMP_UP = 1.0

FLOODER = """\
import socket, sys, time
packet, source = bytes.fromhex(sys.argv[1]), sys.argv[2]
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
sock.bind((source, 0))
sock.connect((sys.argv[3], 0))
send, sent, errors, due = sock.send, 0, 0, 0.0
while True:
    for _ in range(256):
        try:
            send(packet)
            sent += 1
        except OSError:
            errors += 1
    now = time.time()
    if now >= due:
        print(now, sent, errors, flush=True)
        due = now + 0.25
"""
"""Run as `python -c` in a flooder namespace; prints `time sent errors` (cumulative) 4x a second."""


@dataclass
class Result:
    implementation: str
    seconds: float = 0.0
    flood_rates: list[float] = field(default_factory=list)
    send_errors: int = 0
    r1_rx_rate: float = 0.0
    r1_rx_dropped: int = 0
    r1_tx: int = 0
    gaps: list[float] = field(default_factory=list)
    open_gap: float = 0.0
    r2_adverts: int = 0
    r2_took: int = 0
    r2_samples: int = 0
    r2_masters: int = 0
    r2_vip_samples: int = 0
    r1_lost_vip: int = 0
    cpu_share: float = 0.0
    r1_exit: int | None = None
    r1_errors: list[str] = field(default_factory=list)
    r1_log_bytes: int = 0
    capture_note: str = ""


class LineReader:
    """Collects a child's output lines in a thread, each with the wall-clock time it was read."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._stream = stream
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in self._stream:
            line = raw.decode(errors="replace")
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.lines)


class Flooder:
    """One flooder process and its cumulative `(time, sent, errors)` reports."""

    def __init__(self, host: Host, address: str) -> None:
        advert = Advertisement(
            version=2,
            vrid=51,
            priority=200,
            interval_cs=100,
            addresses=(IPv4Address(VIP),),
            auth_type=AUTH_PASS,
            auth_data=b"wrong\0\0\0",
        )
        packet = encode(advert, source=IPv4Address(address), destination=IPv4Address(GROUP))
        self.process = host.popen(
            [sys.executable, "-c", FLOODER, packet.hex(), address, GROUP],
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        self.output = LineReader(self.process.stdout)

    def latest(self) -> tuple[float, int, int] | None:
        lines = self.output.snapshot()
        if not lines:
            return None
        stamp, sent, errors = lines[-1].split()
        return float(stamp), int(sent), int(errors)


class Capture:
    """tcpdump on the observer: capture times of VRRP packets from r1 and r2 (kernel filter)."""

    def __init__(self, host: Host) -> None:
        self.process = host.popen(
            [
                "tcpdump",
                "-i",
                "eth0",
                "-n",
                "-tt",
                "-l",
                "--immediate-mode",
                "-B",
                "4096",
                f"ip proto 112 and (src host {R1} or src host {R2})",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self.output = LineReader(self.process.stdout)
        self.errors = LineReader(self.process.stderr)
        wait_for(
            lambda: any("listening on" in line for line in self.errors.snapshot()),
            10,
            "tcpdump to start",
        )

    def packets(self) -> list[tuple[float, str]]:
        found = []
        for line in self.output.snapshot():
            words = line.split()
            if len(words) > 2 and words[1] == "IP":
                found.append((float(words[0]), words[2]))
        return found

    def stop(self) -> str:
        """Stop tcpdump; its closing statistics (e.g. packets dropped by kernel)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        time.sleep(0.2)
        return "; ".join(line for line in self.errors.snapshot() if "dropped" in line)


def link_counters(host: Host) -> tuple[int, int, int]:
    """Packets received, dropped on receive, and sent so far on a host's eth0."""
    text = host.exec("ip", "-s", "-j", "link", "show", "dev", "eth0").stdout
    stats = json.loads(text)[0]["stats64"]
    return int(stats["rx"]["packets"]), int(stats["rx"]["dropped"]), int(stats["tx"]["packets"])


def masters(router: Router) -> int:
    """How often a router has entered MASTER (both daemons log keepalived's wording)."""
    return router.log_text().count("Entering MASTER STATE")


def error_lines(router: Router) -> list[str]:
    """Lines of r1's log that say something went wrong (havip's tracebacks, errors)."""
    markers = ("Traceback", "Error", "ERROR", "CRITICAL", "exception")
    return [line for line in router.log_text().splitlines() if any(m in line for m in markers)]


def router_conf(priority: int) -> str:
    """r1 and r2 differ only in priority: VRRPv2, PASS "right", VRID 51, 1 s, the one VIP."""
    spec = RouterSpec(
        priority, vips=(f"{VIP}/24",), vrid=51, version=2, advert_int=1.0, password="right"
    )
    return keepalived_conf(spec)


def measure(implementation: str, flooders: int, seconds: float, workdir: Path) -> Result:
    result = Result(implementation)
    start = start_havip if implementation == "havip" else start_keepalived
    with Lab("hvf") as lab:
        r1_host = lab.add_host("r1", f"{R1}/24")
        r2_host = lab.add_host("r2", f"{R2}/24")
        observer = lab.add_host("obs", f"{OBSERVER}/24")
        flood_hosts = [
            (lab.add_host(f"f{i}", f"192.0.2.{FLOODER_BASE + i}/24"), f"192.0.2.{FLOODER_BASE + i}")
            for i in range(flooders)
        ]
        capture = Capture(observer)
        r1 = start(r1_host, router_conf(150), workdir / "r1")
        r2 = start(r2_host, router_conf(100), workdir / "r2")
        wait_for(
            lambda: VIP in r1_host.addresses_on() and VIP not in r2_host.addresses_on(),
            20,
            f"{implementation} r1 to hold the VIP",
            0.2,
        )
        time.sleep(4.0)  # longer than r2's master-down interval: the group is settled
        floods = [Flooder(host, address) for host, address in flood_hosts]
        wait_for(lambda: all(f.latest() is not None for f in floods), 10, "flooders to start")
        time.sleep(RAMP_UP)

        pgid = r1.process.pid
        cpu_before = group_cpu_seconds(pgid)
        rx_before = link_counters(r1_host)
        sent_before = [f.latest() for f in floods]
        r2_masters_before = masters(r2)
        window_start = time.time()
        r2_had, r1_had = False, True
        while (now := time.time()) < window_start + seconds:
            r2_has = VIP in r2_host.addresses_on()
            r1_has = VIP in r1_host.addresses_on()
            result.r2_took += r2_has and not r2_had
            result.r1_lost_vip += r1_had and not r1_has
            r2_had, r1_had = r2_has, r1_has
            result.r2_samples += 1
            result.r2_vip_samples += r2_has
            time.sleep(max(0.0, SAMPLE_INTERVAL - (time.time() - now)))
        window_end = time.time()
        cpu_used = group_cpu_seconds(pgid) - cpu_before
        result.r2_masters = masters(r2) - r2_masters_before
        rx_after = link_counters(r1_host)
        sent_after = [f.latest() for f in floods]
        result.seconds = window_end - window_start
        result.cpu_share = cpu_used / result.seconds

        for before, after in zip(sent_before, sent_after, strict=True):
            assert before is not None and after is not None
            result.flood_rates.append((after[1] - before[1]) / (after[0] - before[0]))
            result.send_errors += after[2] - before[2]
        result.r1_rx_rate = (rx_after[0] - rx_before[0]) / result.seconds
        result.r1_rx_dropped = rx_after[1] - rx_before[1]
        result.r1_tx = rx_after[2] - rx_before[2]

        for flood in floods:
            flood.process.kill()
            flood.process.wait()
        time.sleep(0.5)
        result.capture_note = capture.stop()
        packets = capture.packets()
        r1_times = [t for t, source in packets if source == R1]
        before_window = [t for t in r1_times if t < window_start]
        in_window = [t for t in r1_times if window_start <= t <= window_end]
        series = before_window[-1:] + in_window
        result.gaps = [b - a for a, b in pairwise(series)]
        result.open_gap = window_end - (series[-1] if series else window_start)
        result.r2_adverts = sum(
            1 for t, source in packets if source == R2 and window_start <= t <= window_end
        )
        result.r1_exit = r1.process.poll()
        result.r1_errors = error_lines(r1)
        result.r1_log_bytes = r1.log_path.stat().st_size if r1.log_path.exists() else 0
    return result


def row(result: Result) -> str:
    total = sum(result.flood_rates)
    per = "+".join(f"{rate:.0f}" for rate in result.flood_rates)
    if result.gaps:
        ms = [value * 1000 for value in result.gaps]
        longest = max(max(ms), result.open_gap * 1000)
        gaps = f"{statistics.median(ms):.0f} / {percentile(ms, 0.99):.0f} / {longest:.0f}"
    else:
        gaps = f"no adverts (silent {result.open_gap * 1000:.0f} ms)"
    took = "no"
    if result.r2_took or result.r2_masters:
        times = max(result.r2_took, result.r2_masters)
        held = result.r2_vip_samples * SAMPLE_INTERVAL
        took = (
            f"yes, {times}x (log {result.r2_masters}, samples {result.r2_took}; held {held:.1f} s)"
        )
    return (
        f"| {result.implementation} | {total:.0f} ({per}) | {gaps} | {took} "
        f"| {result.cpu_share * 100:.1f} |"
    )


def details(result: Result) -> list[str]:
    name = result.implementation
    lines = [
        f"{name}: window {result.seconds:.1f} s, {len(result.gaps)} r1 advert gaps, "
        f"{result.r2_adverts} r2 adverts seen, r1 lost the VIP {result.r1_lost_vip}x, "
        f"{result.r2_samples} VIP samples; r1 eth0 received {result.r1_rx_rate:.0f} pkt/s "
        f"({result.r1_rx_dropped} dropped) and sent {result.r1_tx} packets; "
        f"flooder send errors {result.send_errors}",
        f"{name}: r1 {'still running' if result.r1_exit is None else f'EXITED {result.r1_exit}'}"
        f", log {result.r1_log_bytes} bytes, {len(result.r1_errors)} error lines; "
        f"tcpdump: {result.capture_note or 'no statistics'}",
    ]
    late = [g for g in result.gaps if g > 1.5]
    if late:
        lines.append(f"{name}: gaps over 1.5 s: " + ", ".join(f"{g:.2f}" for g in late))
    lines += [f"{name}: r1 log: {line[:160]}" for line in result.r1_errors[:5]]
    return lines


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring window")
    parser.add_argument("--flooders", type=int, default=2, help="flooder hosts (one process each)")
    parser.add_argument(
        "--only", choices=("havip", "keepalived"), help="measure one implementation only"
    )
    parser.add_argument("--keep", type=Path, help="keep the routers' configs and logs here")
    args = parser.parse_args(argv)
    if not 1 <= args.flooders <= 200:
        parser.error("--flooders must be between 1 and 200")
    # Ctrl-C and SIGTERM unwind through the labs' `with` blocks, which remove everything (SIGINT
    # is reset too: a shell starts background jobs with it ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    implementations = [args.only] if args.only else ["havip", "keepalived"]
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="havip-flood-") as scratch:
        tmp = str(args.keep) if args.keep else scratch
        for implementation in implementations:
            print(f"{implementation} ...", file=sys.stderr, flush=True)
            try:
                results.append(
                    measure(implementation, args.flooders, args.seconds, Path(tmp) / implementation)
                )
            except LabError as error:
                print(f"{implementation}: {error}", file=sys.stderr, flush=True)
                for log in sorted(Path(tmp, implementation).glob("*/log")):
                    tail = log.read_text(errors="replace").splitlines()[-10:]
                    print(f"--- {log}", *tail, sep="\n", file=sys.stderr)
    print(
        f"Wrong-password VRRPv2 flood, {args.flooders} flooders, {args.seconds:g} s window, "
        f"r1 advert_int 1 s ({time.strftime('%Y-%m-%d')}, `sudo .venv/bin/python -m bench.flood`)"
    )
    print()
    print(
        "| implementation | flood pkt/s | r1 advert gap median / p99 / max (ms) "
        "| r2 took VIP | r1 CPU % |"
    )
    print("|---|---|---|---|---|")
    for result in results:
        print(row(result))
    print()
    for result in results:
        print(*details(result), sep="\n")
    return 0 if len(results) == len(implementations) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; labs removed", file=sys.stderr)
        sys.exit(130)
