"""vrrp_garp_interval on the wire: a client sees havip's gratuitous ARPs spaced, not a burst."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab

from .conftest import Routers

# Prints "ready", then "TIME ADDRESS" for each gratuitous ARP (sender address = target
# address) until `count` have arrived; times are the kernel's receive stamps.
CAPTURE = textwrap.dedent(
    """
    import socket, struct, sys, time
    count = int(sys.argv[1])
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    sock.bind(("eth0", 0))
    sock.settimeout(20)
    print("ready", flush=True)
    seen = 0
    while seen < count:
        frame = sock.recv(128)
        sender, target = frame[28:32], frame[38:42]
        if sender == target:
            print(time.monotonic(), socket.inet_ntoa(sender), flush=True)
            seen += 1
    """
)


def test_gratuitous_arps_are_spaced_by_the_garp_interval(lab: Lab, routers: Routers) -> None:
    r1 = lab.add_host("r1", "192.0.2.1/24")
    client = lab.add_host("client", "192.0.2.50/24")
    spec = RouterSpec(
        priority=150,
        vips=("192.0.2.100/24", "192.0.2.101/24"),
        global_extra=("vrrp_garp_interval 0.3", "vrrp_garp_master_repeat 3"),
    )
    capture = client.popen(
        [sys.executable, "-c", CAPTURE, "6"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert capture.stdout is not None
    assert capture.stdout.readline().strip() == b"ready"
    routers.havip(r1, keepalived_conf(spec))
    out, err = capture.communicate(timeout=30)
    assert capture.returncode == 0, err.decode()
    lines = [line.split() for line in out.decode().splitlines()]
    times = [float(at) for at, _address in lines]
    assert sorted(address for _at, address in lines) == ["192.0.2.100"] * 3 + ["192.0.2.101"] * 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.25, gaps  # 0.3 s apart, less the receiver's scheduling jitter
