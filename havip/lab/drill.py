"""The failover drill of `havip lab`, and the two numbers it measures for every step.

The drill runs on a lab of routers with distinct priorities and one client. It elects a
master, cuts the master's link, restores it (the master preempts back), stops it gracefully
with SIGTERM (a priority-0 advert hands over at once) and starts it again. After each action
it waits for the VIP to settle on the router VRRP must choose, and records:

- the outage the client saw: a pinger process in the client's namespace sends an echo request
  to the VIP every 10 ms for the whole drill and prints each reply's kernel receive time; a
  step's outage is the largest gap between two replies around the action. Nothing is
  inferred from router logs or timers. (iputils `ping -i 0.01` really sends every 16-20 ms
  here, too coarse for 50 ms timers, hence a pinger of our own: `python -m havip.lab.drill`.)
- the failover duration the new master's havip recorded itself, from the change of its
  havip_vrrp_failover_duration_seconds histogram across the step (from the old master's last
  advert heard to the VIPs installed and announced). Comparing both shows what havip's own
  number leaves out (the client's side) and what it adds (time before the old master died).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from havip.lab.forward import Forwarder
from havip.lab.netns import Host, Lab, LabError
from havip.lab.processes import Router, start_havip, start_keepalived, wait_for
from havip.proto.checksum import checksum

PROBE_INTERVAL = 0.01
"""Seconds between the client's echo requests."""
FAILOVER_METRIC = "havip_vrrp_failover_duration_seconds"
FETCH_TIMEOUT = 1.0
SEQUENCE_SPACE = 1 << 16
"""ICMP echo sequence numbers wrap at 65536."""
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
"""Linux's value (asm-generic): Python 3.11's socket module does not name it."""
REPLY_LINE = re.compile(rb"^(\d+\.\d+) (\d+)$")
"""What the pinger prints per reply: kernel receive time (Unix seconds) and sequence number."""
ECHO_TYPES = {4: (8, 0), 6: (128, 129)}
"""Echo request and reply ICMP types, by IP version."""
ECHO_PAYLOAD = b"havip lab probe!"

Narrate = Callable[[str], None]
NOT_A_FAILOVER = "not a failover"
"""The step's recorded-failover note when no router's failover histogram grew."""
ActionHook = Callable[[float, str, str], None]
"""Told (Unix time, router, what) each time the drill does something to a router."""


@dataclass(frozen=True, slots=True)
class FailoverRecord:
    """havip's failover histogram for one instance, as scraped: sum of seconds and count."""

    total: float
    count: int


def failover_record(metrics_text: str, instance: str) -> FailoverRecord | None:
    """The instance's failover histogram in a /metrics text, None if it is not exported."""
    total: float | None = None
    count: int | None = None
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.labels.get("vrrp_instance") != instance:
                continue
            if sample.name == FAILOVER_METRIC + "_sum":
                total = float(sample.value)
            elif sample.name == FAILOVER_METRIC + "_count":
                count = int(sample.value)
    if total is None or count is None:
        return None
    return FailoverRecord(total, count)


def fetch_text(url: str, timeout: float = FETCH_TIMEOUT) -> str | None:
    """The body of a GET, or None when nothing (or nothing healthy) answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body: bytes = response.read()
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return body.decode(errors="replace")


@dataclass
class LabRouter:
    """One router of the lab: its namespace, its configuration and the daemon running it."""

    name: str
    kind: str
    """"havip" or "keepalived"."""
    priority: int
    address: str
    host: Host
    config: str
    workdir: Path
    metrics_listen: str
    instance: str = "VI_1"
    own_addresses: frozenset[str] = frozenset()
    """Every address on its interface before the VIP (with IPv6, the link-local address its
    adverts come from), so that a master's address can be shown as a router's name."""
    forwarder: Forwarder | None = None
    """Relays the machine's 127.0.0.1:PORT to this router's /metrics (havip routers only)."""
    daemon: Router | None = None
    link_up: bool = True
    starts: int = 0

    def start(self) -> None:
        """Start (or start again) the daemon; each start logs to its own directory."""
        self.starts += 1
        directory = self.directory(self.starts)
        if self.kind == "havip":
            # JSON lines: each transition's time, reason and trace id for `havip lab --report`
            self.daemon = start_havip(
                self.host,
                self.config,
                directory,
                "--log-format",
                "json",
                metrics_listen=self.metrics_listen,
            )
        else:
            self.daemon = start_keepalived(self.host, self.config, directory)

    def directory(self, start: int) -> Path:
        """The config, pid files and log of this router's `start`-th process (from 1)."""
        return self.workdir / f"{self.name}.{start}"

    @property
    def running(self) -> bool:
        return self.daemon is not None and self.daemon.process.poll() is None

    def fetch(self, path: str) -> str | None:
        """GET `path` from this router's HTTP server through the forwarder."""
        if self.forwarder is None or not self.running:
            return None
        return fetch_text(self.forwarder.url + path)

    def status(self) -> dict[str, Any] | None:
        """This router's instance in havip's /status, None if it cannot be read."""
        text = self.fetch("/status")
        if text is None:
            return None
        try:
            document = json.loads(text)
        except ValueError:
            return None
        for instance in document.get("instances", []):
            if instance.get("name") == self.instance:
                return dict(instance)
        return None

    def failover_record(self) -> FailoverRecord | None:
        text = self.fetch("/metrics")
        return None if text is None else failover_record(text, self.instance)


@dataclass
class RunningLab:
    """Everything `havip lab` built: the namespaces, the routers, the client and the VIP."""

    lab: Lab
    routers: list[LabRouter]
    client: Host
    vip: str
    advert_int: float

    def router(self, name: str) -> LabRouter:
        return next(router for router in self.routers if router.name == name)

    def vip_holders(self) -> list[str]:
        """Routers with the VIP on a connected link (a cut link's addresses serve nobody)."""
        return [
            router.name
            for router in self.routers
            if router.link_up and self.vip in router.host.addresses_on()
        ]

    def expected_master(self) -> LabRouter:
        """The router VRRP must elect: the highest priority among running, connected ones."""
        candidates = [router for router in self.routers if router.running and router.link_up]
        if not candidates:
            raise LabError("no router is running with its link up")
        return max(candidates, key=lambda router: router.priority)

    def cut(self, name: str) -> None:
        self.lab.cut(name)
        self.router(name).link_up = False

    def restore(self, name: str) -> None:
        self.lab.restore(name)
        self.router(name).link_up = True


@dataclass(frozen=True, slots=True)
class Reply:
    at: float
    """When the reply arrived: the kernel's receive timestamp, Unix seconds."""
    seq: int


@dataclass(frozen=True, slots=True)
class Outage:
    """The largest silence the client saw: between two consecutive replies."""

    last_reply: float
    first_reply: float
    lost: int
    """Pings sent in between that were never answered."""

    @property
    def seconds(self) -> float:
        return self.first_reply - self.last_reply


def largest_gap(replies: Sequence[Reply], since: float, until: float) -> Outage | None:
    """The longest pause between consecutive replies that overlaps [since, until].

    None when no reply came before `since` (there was no service to interrupt) or none came
    after it (the service has not come back).
    """
    widest: Outage | None = None
    for before, after in itertools.pairwise(replies):
        if after.at <= since or before.at >= until:
            continue
        gap = Outage(before.at, after.at, (after.seq - before.seq - 1) % SEQUENCE_SPACE)
        if widest is None or gap.seconds > widest.seconds:
            widest = gap
    if widest is None or not replies or replies[0].at > since:
        return None
    return widest


class ClientProbe:
    """The client pinging the VIP every 10 ms for the whole drill, replies kept in order."""

    def __init__(self, client: Host, target: str) -> None:
        self._replies: list[Reply] = []
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] = client.popen(
            [sys.executable, "-m", "havip.lab.drill", target, f"--interval={PROBE_INTERVAL:g}"],
            stdout=subprocess.PIPE,
        )
        self._reader = threading.Thread(target=self._read, name="client-probe", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            match = REPLY_LINE.match(line.strip())
            if match:
                reply = Reply(float(match.group(1)), int(match.group(2)))
                with self._lock:
                    self._replies.append(reply)

    def replies(self) -> list[Reply]:
        with self._lock:
            return list(self._replies)

    def replied_since(self, moment: float) -> bool:
        with self._lock:
            return bool(self._replies) and self._replies[-1].at >= moment

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait()
        self._reader.join(timeout=2)


def echo_request(version: int, ident: int, seq: int) -> bytes:
    """An ICMP (v4) or ICMPv6 echo request; the kernel fills in the ICMPv6 checksum."""
    request_type = ECHO_TYPES[version][0]
    header = struct.pack("!BBHHH", request_type, 0, 0, ident, seq % SEQUENCE_SPACE)
    if version == 4:
        header = header[:2] + struct.pack("!H", checksum(header + ECHO_PAYLOAD)) + header[4:]
    return header + ECHO_PAYLOAD


def echo_reply_seq(version: int, ident: int, packet: bytes) -> int | None:
    """The sequence number of our echo reply in a received packet, None for anything else.

    Raw IPv4 sockets deliver the IP header too; raw ICMPv6 sockets deliver only ICMPv6.
    """
    if version == 4:
        if len(packet) < 20:
            return None
        packet = packet[(packet[0] & 0x0F) * 4 :]
    if len(packet) < 8:
        return None
    kind, _code, _sum, their_ident, seq = struct.unpack("!BBHHH", packet[:8])
    if kind != ECHO_TYPES[version][1] or their_ident != ident:
        return None
    return int(seq)


def receive_time(ancillary: list[tuple[int, int, bytes]]) -> float:
    """The kernel's receive timestamp (SO_TIMESTAMPNS), or now if it is missing."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("@qq", data[:16])
            return float(seconds) + float(nanoseconds) / 1e9
    return time.time()


def ping(target: str, interval: float) -> None:
    """Send echo requests to `target` every `interval` seconds forever; print each reply.

    Sends are paced against a fixed schedule (a late one does not delay the rest) from a
    thread; replies are stamped by the kernel on arrival, so printing late costs nothing.
    """
    version = ip_address(target).version
    if version == 4:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    else:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    ident = os.getpid() & 0xFFFF

    def send_forever() -> None:
        start = time.monotonic()
        for seq in itertools.count():
            time.sleep(max(0.0, start + seq * interval - time.monotonic()))
            with contextlib.suppress(OSError):  # no route or neighbour yet: a lost probe
                sock.sendto(echo_request(version, ident, seq), (target, 0))

    threading.Thread(target=send_forever, name="probe-send", daemon=True).start()
    while True:
        packet, ancillary, _flags, _source = sock.recvmsg(65535, socket.CMSG_SPACE(16))
        seq = echo_reply_seq(version, ident, packet)
        if seq is not None:
            print(f"{receive_time(ancillary):.6f} {seq}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """The client's pinger: `python -m havip.lab.drill TARGET` inside the client namespace."""
    parser = argparse.ArgumentParser(
        prog="python -m havip.lab.drill",
        description="Ping TARGET every --interval seconds; print '<receive time> <seq>' per reply.",
    )
    parser.add_argument("target")
    parser.add_argument("--interval", type=float, default=PROBE_INTERVAL)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    ping(args.target, args.interval)
    return 0


@dataclass(frozen=True, slots=True)
class StepResult:
    name: str
    what: str
    master: str
    outage: Outage | None
    """None for the election: the client had no service to lose yet."""
    recorded: float | None
    """havip's own failover duration on the new master, seconds."""
    recorded_note: str
    """Why `recorded` is None (or how it was obtained when it is not a single sample)."""
    acted_at: float
    """When the step's action began (Unix seconds): the routers' start for the election."""


class Drill:
    """Runs the steps in order on a running lab; `headline` and `narrate` show progress."""

    def __init__(
        self,
        running: RunningLab,
        headline: Narrate,
        narrate: Narrate,
        on_action: ActionHook | None = None,
    ) -> None:
        self.running = running
        self.headline = headline
        self.narrate = narrate
        self.on_action = on_action
        self.timeout = 10.0 + 10.0 * running.advert_int
        """Ample for any takeover: a master-down interval is about 3 advert intervals."""
        self.settle = max(1.0, 2.0 * running.advert_int)
        """How long a new master must stay the only one before a step counts as done."""
        self._probe: ClientProbe | None = None
        self.replies: list[Reply] = []
        """Every reply the client got during the drill, once `run` is done."""

    def run(self) -> list[StepResult]:
        self._probe = ClientProbe(self.running.client, self.running.vip)
        try:
            # In this order: each step starts from the state the previous one left.
            results = [
                self.election(),
                self.failover(),
                self.preemption(),
                self.handoff(),
                self.rejoin(),
            ]
        finally:
            self._probe.stop()
            self.replies = self._probe.replies()
        return results

    # --- the steps ----------------------------------------------------------------------------

    def election(self) -> StepResult:
        routers = self.running.routers
        self.headline(f"election: starting {len(routers)} routers")
        started = time.time()
        for router in routers:
            self._tell(router.name, "started")
            router.start()
        expected = self.running.expected_master()
        took = self._wait_master(expected, "the first election")
        self._wait_client(time.time(), "after the election")
        what = (
            f"{len(routers)} routers started; {expected.name} (priority {expected.priority}) "
            f"elected {took:.1f} s after start"
        )
        return self._done(StepResult("election", what, expected.name, None, None, "-", started))

    def failover(self) -> StepResult:
        old = self._current_master()

        def act() -> None:
            self._tell(old.name, "link cut")
            self.running.cut(old.name)

        return self._step(
            "failover",
            f"cutting {old.name}'s link at the switch",
            act,
            lambda new: f"{old.name}'s link cut; {new.name} took over",
        )

    def preemption(self) -> StepResult:
        old = self._current_master()
        cut = next(router for router in self.running.routers if not router.link_up)

        def act() -> None:
            self._tell(cut.name, "link restored")
            self.running.restore(cut.name)

        return self._step(
            "preemption",
            f"restoring {cut.name}'s link",
            act,
            lambda new: f"{cut.name}'s link restored; {new.name} preempted {old.name}",
        )

    def handoff(self) -> StepResult:
        old = self._current_master()
        daemon = old.daemon
        assert daemon is not None

        def act() -> None:
            self._tell(old.name, "SIGTERM")
            daemon.signal(signal.SIGTERM)
            try:
                code = daemon.process.wait(5)
            except subprocess.TimeoutExpired as error:
                raise LabError(f"{old.name} did not exit within 5 s of SIGTERM") from error
            if code != 0:
                raise LabError(f"{old.name} exited with status {code} after SIGTERM")
            self._tell(old.name, "exited")

        return self._step(
            "handoff",
            f"SIGTERM to {old.name} (graceful: a priority-0 advert)",
            act,
            lambda new: f"SIGTERM to {old.name}; priority 0 sent, {new.name} took over",
        )

    def rejoin(self) -> StepResult:
        old = self._current_master()
        stopped = next(router for router in self.running.routers if not router.running)

        def act() -> None:
            self._tell(stopped.name, "started")
            stopped.start()

        return self._step(
            "rejoin",
            f"starting {stopped.name} again",
            act,
            lambda new: f"{stopped.name} restarted; {new.name} preempted {old.name}",
        )

    # --- helpers ------------------------------------------------------------------------------

    def _step(
        self,
        name: str,
        action: str,
        act: Callable[[], None],
        describe: Callable[[LabRouter], str],
    ) -> StepResult:
        self._wait_client(time.time() - 0.1, f"before the {name}")
        before = {
            router.name: record
            for router in self.running.routers
            if (record := router.failover_record()) is not None
        }
        self.headline(f"{name}: {action}")
        acted_at = time.time()
        act()
        expected = self.running.expected_master()
        self._wait_master(expected, f"the {name}")
        self._wait_client(acted_at, f"after the {name}")
        outage = largest_gap(self._replies(), acted_at, time.time())
        if outage is None:
            raise LabError(f"the client's pings show no reply around the {name}")
        recorded, note = self._recorded(expected, before.get(expected.name))
        if recorded is None and note == NOT_A_FAILOVER:
            recorded, note = self._recorded_elsewhere(expected, before)
        return self._done(
            StepResult(name, describe(expected), expected.name, outage, recorded, note, acted_at)
        )

    def _tell(self, router: str, what: str) -> None:
        if self.on_action is not None:
            self.on_action(time.time(), router, what)

    def _done(self, result: StepResult) -> StepResult:
        self.narrate(f"{result.name}: {result.what}" + _outage_words(result))
        return result

    def _current_master(self) -> LabRouter:
        holders = self.running.vip_holders()
        if len(holders) != 1:
            raise LabError(f"expected one master before the next step, found {holders or 'none'}")
        return self.running.router(holders[0])

    def _wait_master(self, expected: LabRouter, what: str) -> float:
        """Wait until `expected` alone holds the VIP and keeps it for the settle time."""
        running = self.running
        took = wait_for(
            lambda: running.vip_holders() == [expected.name],
            self.timeout,
            f"{expected.name} to hold {running.vip} alone after {what} "
            f"(held by {running.vip_holders() or 'nobody'})",
        )
        time.sleep(self.settle)
        holders = running.vip_holders()
        if holders != [expected.name]:
            raise LabError(f"the VIP moved again after {what}: now held by {holders or 'nobody'}")
        return took

    def _wait_client(self, since: float, what: str) -> None:
        probe = self._probe
        assert probe is not None
        wait_for(
            lambda: probe.replied_since(max(since, time.time() - 0.1)),
            self.timeout,
            f"the client to reach {self.running.vip} {what}",
        )

    def _replies(self) -> list[Reply]:
        assert self._probe is not None
        return self._probe.replies()

    @staticmethod
    def _recorded(master: LabRouter, before: FailoverRecord | None) -> tuple[float | None, str]:
        if master.kind != "havip":
            return None, f"n/a ({master.kind})"
        after = master.failover_record()
        if after is None:
            return None, "no /metrics"
        if before is None or after.count < before.count:  # a new process counts from zero
            before = FailoverRecord(0.0, 0)
        count = after.count - before.count
        if count == 0:
            return None, NOT_A_FAILOVER
        mean = (after.total - before.total) / count
        return mean, "" if count == 1 else f"mean of {count}"

    def _recorded_elsewhere(
        self, master: LabRouter, before: dict[str, FailoverRecord]
    ) -> tuple[float | None, str]:
        """The failover another router recorded in the step, when the master only preempted
        it: with 50 ms adverts the backups' master-down intervals differ by a few
        milliseconds, so the lower-priority one can take over first and be preempted."""
        for router in self.running.routers:
            if router is master or router.kind != "havip":
                continue
            recorded, _note = self._recorded(router, before.get(router.name))
            if recorded is not None:
                return recorded, f"on {router.name}, which {master.name} then preempted"
        return None, NOT_A_FAILOVER


def _outage_words(result: StepResult) -> str:
    if result.outage is None:
        return ""
    return f" (client outage: {outage_cell(result.outage)})"


def outage_cell(outage: Outage) -> str:
    """The gap with the probes lost in it. A gap with none lost is still a pause the client
    saw: the kernel queues echo requests while it resolves the VIP's new neighbour, so a
    handoff can silence the client for half a second and lose nothing."""
    return f"{_milliseconds(outage.seconds)} ({outage.lost} probes lost)"


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


SUMMARY_COLUMNS = ("STEP", "WHAT HAPPENED", "NEW MASTER", "CLIENT OUTAGE", "HAVIP FAILOVER")


def format_summary(results: Sequence[StepResult]) -> list[str]:
    """The drill's results as an aligned table, one row per step."""
    rows = [list(SUMMARY_COLUMNS)]
    for result in results:
        outage = "-"
        if result.outage is not None:
            outage = outage_cell(result.outage)
        recorded = result.recorded_note
        if result.recorded is not None:
            recorded = _milliseconds(result.recorded)
            if result.recorded_note:
                recorded += f" ({result.recorded_note})"
        rows.append([result.name, result.what, result.master, outage, recorded])
    widths = [max(len(row[column]) for row in rows) for column in range(len(SUMMARY_COLUMNS))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


if __name__ == "__main__":
    sys.exit(main())
