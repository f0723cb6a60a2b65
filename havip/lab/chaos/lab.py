"""The chaos lab: three routers (havip or keepalived) on one bridge, a flooder, and the
means to inject and heal each fault and to observe states, VIPs, notifies and series.

r1 (priority 150), r2 (100) and r3 (120) run one VRRPv3 instance (VRID 51, one VIP) with a
short advert interval, a notify FIFO per daemon lifetime, and a tracked script (weight -60)
that hangs past its timeout while the router's hang flag exists. With every fault healed r1
must be the one master.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from types import TracebackType

from havip.lab.chaos.fifo import FifoReader
from havip.lab.chaos.invariants import logged_states, notified_states
from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Host, Lab, LabError, run
from havip.lab.processes import METRICS_PORT, Router, start_havip, start_keepalived
from havip.proto.model import AUTH_PASS, Advertisement
from havip.proto.packet import encode

INSTANCE = "VI_1"
VRID = 51
VIP = "192.0.2.100"
ROUTERS = {"r1": ("192.0.2.1", 150), "r2": ("192.0.2.2", 100), "r3": ("192.0.2.3", 120)}
EXPECTED_MASTER = "r1"
HANG_TAKER = "r3"
"""The second priority: master while r1's script hangs."""
FLOODER = "192.0.2.20"
GROUP = "224.0.0.18"
SCRIPT_INTERVAL = 1
SCRIPT_TIMEOUT = 1
SCRIPT_WEIGHT = -60
"""r1 hanging drops to 90, under r3's 120: a hang on the master moves the VIP."""
KILL_WAIT = 10.0
"""Seconds SIGKILLed processes may take to disappear."""
FLOOD_RATE = 500
"""Flood packets per second: enough to keep every receive path busy, modest on 2 cores."""

FLOOD = """\
import socket, sys, time
packets = [bytes.fromhex(p) for p in sys.argv[1].split(",")]
source, rate, seconds = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
sock.bind((source, 0))
start = time.monotonic()
sent = 0
while (elapsed := time.monotonic() - start) < seconds:
    if sent > elapsed * rate:
        time.sleep(0.005)
        continue
    try:
        sock.sendto(packets[sent % len(packets)], (sys.argv[5], 0))
    except OSError:
        pass
    sent += 1
print(sent)
"""
"""Run in the flooder's namespace: the packets (hex, comma-separated) in turn at `rate`."""


def flood_packets() -> list[bytes]:
    """Adverts every router must reject: VRRPv2 with a wrong PASS password and VRRPv3 with a
    bad checksum, both priority 255 for the group's VRID (accepted, either would take over)."""
    source, destination = IPv4Address(FLOODER), IPv4Address(GROUP)
    v2 = Advertisement(
        version=2,
        vrid=VRID,
        priority=255,
        interval_cs=100,
        addresses=(IPv4Address(VIP),),
        auth_type=AUTH_PASS,
        auth_data=b"wrong\0\0\0",
    )
    v3 = Advertisement(version=3, vrid=VRID, priority=255, interval_cs=10, addresses=v2.addresses)
    bad = bytearray(encode(v3, source=source, destination=destination))
    bad[6] ^= 0xFF  # the checksum field
    return [encode(v2, source=source, destination=destination), bytes(bad)]


@dataclass
class Lifetime:
    """One run of a router's daemon, from start to kill (or the end of the lab)."""

    daemon: Router
    fifo: FifoReader
    log_offset: int
    killed: bool = False
    checked_final: bool = False
    """A killed lifetime's notifies are checked once, after the kill."""
    reported: bool = False
    """A notify problem of this lifetime was reported already (one report per lifetime)."""
    series_seen: frozenset[tuple[str, tuple[tuple[str, str], ...]]] = frozenset()


@dataclass
class ChaosRouter:
    name: str
    priority: int
    host: Host
    workdir: Path
    kind: str
    advert_int: float
    lifetimes: list[Lifetime] = field(default_factory=list)
    keeper: int | None = None
    """The pid of the namespace's keeper (see ChaosLab.keep), spared by `kill`."""

    @property
    def hang_flag(self) -> Path:
        return self.workdir / "hang"

    @property
    def current(self) -> Lifetime:
        return self.lifetimes[-1]

    def config(self, fifo: Path) -> str:
        check = f"/bin/sh -c '[ ! -e {self.hang_flag} ] || exec sleep 30'"
        script = "\n".join(
            [
                "vrrp_script chk_hang {",
                f'    script "{check}"',
                f"    interval {SCRIPT_INTERVAL}",
                f"    timeout {SCRIPT_TIMEOUT}",
                f"    weight {SCRIPT_WEIGHT}",
                "    fall 1",
                "    rise 1",
                "}",
            ]
        )
        spec = RouterSpec(
            self.priority,
            vips=(f"{VIP}/24",),
            vrid=VRID,
            version=3,
            advert_int=self.advert_int,
            global_extra=("script_user root", f"notify_fifo {fifo}"),
            extra=("track_script {", "    chk_hang", "}"),
        )
        return keepalived_conf(spec, router_id=self.name, before=[script])

    def start(self) -> None:
        """Start a new lifetime: a fresh FIFO, the same work directory (config, log, VIP record)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        fifo = FifoReader(self.workdir / f"notify-{len(self.lifetimes)}.fifo")
        log = self.workdir / "log"
        offset = log.stat().st_size if log.exists() else 0
        config = self.config(fifo.path)
        if self.kind == "havip":
            daemon = start_havip(self.host, config, self.workdir)
        else:
            # keepalived refuses to start ("daemon is already running") over the pid files of
            # a SIGKILLed predecessor, which `kill` has made sure is gone: a service manager's
            # fresh /run would not have them either
            for stale in ("keepalived.pid", "vrrp.pid"):
                (self.workdir / stale).unlink(missing_ok=True)
            daemon = start_keepalived(self.host, config, self.workdir)
        self.lifetimes.append(Lifetime(daemon, fifo, offset))

    def kill(self) -> None:
        """SIGKILL every process of the daemon: its process group and anything else left in
        the namespace (keepalived's VRRP child, script runs), then wait until all are gone, so
        that no child outlives the kill (keepalived's would see its parent die and shut down
        gracefully, and a restart would find it "already running")."""
        self.current.daemon.kill()
        self.current.killed = True
        deadline = time.monotonic() + KILL_WAIT
        while pids := [pid for pid in self._pids() if pid != str(self.keeper)]:
            if time.monotonic() > deadline:
                raise LabError(f"{self.name}: processes {pids} survive SIGKILL")
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            time.sleep(0.02)

    def _pids(self) -> list[str]:
        return run(["ip", "netns", "pids", self.host.namespace], check=False).stdout.split()

    def state(self) -> str | None:
        """The state this lifetime last notified (None before its first)."""
        states = notified_states(self.current.fifo.lines())
        return states[-1] if states else None

    def log_segment(self, index: int) -> str:
        text = (self.workdir / "log").read_text(errors="replace")
        end = self.lifetimes[index + 1].log_offset if index + 1 < len(self.lifetimes) else None
        return text[self.lifetimes[index].log_offset : end]

    def notified_and_logged(self, index: int) -> tuple[list[str], list[str]]:
        lifetime = self.lifetimes[index]
        notified = notified_states(lifetime.fifo.lines())
        return notified, logged_states(self.log_segment(index), INSTANCE)

    def has_vip(self) -> bool:
        out = run(["ip", "-n", self.host.namespace, "-o", "-4", "addr", "show", "dev", "eth0"])
        lines = out.stdout.splitlines()
        return any(words[3].split("/")[0] == VIP for words in map(str.split, lines))

    def stop(self) -> None:
        for lifetime in self.lifetimes:
            lifetime.daemon.stop()
            lifetime.fifo.close()


class ChaosLab:
    """Builds the lab in `workdir`; a context manager that removes everything on exit."""

    def __init__(self, kind: str, workdir: Path, advert_int: float) -> None:
        if kind not in ("havip", "keepalived"):
            raise ValueError(f"unknown daemon {kind!r}")
        self.kind = kind
        self.advert_int = advert_int
        self.lab = Lab("hvc")
        self._keepers: list[subprocess.Popen[bytes]] = []
        self.routers: dict[str, ChaosRouter] = {}
        try:
            self.routers = {
                name: ChaosRouter(
                    name,
                    priority,
                    self.lab.add_host(name, f"{address}/24"),
                    workdir / name,
                    kind,
                    advert_int,
                )
                for name, (address, priority) in ROUTERS.items()
            }
            self.flooder = self.lab.add_host("flood", f"{FLOODER}/24")
            for router in self.routers.values():
                router.keeper = self._keep(router.host.namespace)
            self._keep(self.lab.switch)
        except BaseException:
            self.close()
            raise

    def _keep(self, namespace: str) -> int:
        """A sleeping process in the namespace for the life of the lab: on a machine where
        others sweep away namespaces that look abandoned (no process in them, as a switch's
        or a killed router's), a long run must not lose its own. Lab.close() kills it."""
        keeper = subprocess.Popen(
            ["ip", "netns", "exec", namespace, "sleep", "infinity"], start_new_session=True
        )
        self._keepers.append(keeper)
        return keeper.pid

    def __enter__(self) -> ChaosLab:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.routers)

    @property
    def priorities(self) -> tuple[int, ...]:
        return tuple(router.priority for router in self.routers.values())

    def start(self) -> None:
        for router in self.routers.values():
            router.start()

    def states(self) -> dict[str, str | None]:
        return {name: router.state() for name, router in self.routers.items()}

    def holders(self) -> list[str]:
        return [name for name, router in self.routers.items() if router.has_vip()]

    def flood(self, seconds: float) -> subprocess.Popen[bytes]:
        packets = ",".join(packet.hex() for packet in flood_packets())
        return self.flooder.popen(
            [sys.executable, "-c", FLOOD, packets, FLOODER, str(FLOOD_RATE), str(seconds), GROUP],
            stdout=subprocess.DEVNULL,
        )

    def metrics(self, name: str, attempts: int = 5) -> str:
        """A router's /metrics (havip only), fetched with curl inside its namespace (cheaper
        than an interpreter per scrape); a few tries, as a restarted daemon may be busy."""
        url = f"http://127.0.0.1:{METRICS_PORT}/metrics"
        host = self.routers[name].host
        for _ in range(attempts):
            fetched = host.exec("curl", "-sf", "--max-time", "5", url, check=False)
            if fetched.returncode == 0 and fetched.stdout:
                return fetched.stdout
            time.sleep(self.advert_int)
        raise LabError(f"{name}: /metrics did not answer in {attempts} tries")

    def hang(self, name: str, hanging: bool) -> None:
        flag = self.routers[name].hang_flag
        if hanging:
            flag.touch()
        elif flag.exists():
            os.unlink(flag)

    def close(self) -> None:
        try:
            for router in self.routers.values():
                router.stop()
        finally:
            self.lab.close()
            for keeper in self._keepers:
                keeper.kill()
                keeper.wait()
