"""What havip's VRRP socket puts on the wire, captured on another host of a namespace lab.

The capture is a packet socket on the receiving host; scapy decodes the frames, so the
check does not rely on havip's own parser.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.layers.vrrp import VRRPv3

from havip.lab.netns import Lab, netns_unavailable_reason

UNAVAILABLE = netns_unavailable_reason()

# Receives frames on eth0 until two VRRP packets (one per family) have arrived; prints them
# as hex lines. "ready" tells the test the socket is bound before anything is sent.
CAPTURE = textwrap.dedent(
    """
    import socket, sys
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    sock.bind(("eth0", 0))
    sock.settimeout(10)
    print("ready", flush=True)
    found = 0
    while found < 2:
        frame = sock.recv(65535)
        kind = frame[12:14]
        ipv4 = kind == b"\\x08\\x00" and frame[23] == 112
        if ipv4 or (kind == b"\\x86\\xdd" and frame[20] == 112):
            print(frame.hex(), flush=True)
            found += 1
    """
)

SEND = textwrap.dedent(
    """
    import socket
    from ipaddress import ip_address
    from havip.net.vrrpsock import VrrpSocket
    from havip.proto.model import Advertisement
    from havip.proto.packet import encode
    index = socket.if_nametoindex("eth0")
    for family, source, group, vip in (
        (4, "192.0.2.1", "224.0.0.18", "192.0.2.100"),
        (6, "fe80::1", "ff02::12", "2001:db8::100"),
    ):
        sock = VrrpSocket("eth0", index, family, ip_address(group))
        advert = Advertisement(3, 7, 150, 100, (ip_address(vip),))
        payload = encode(advert, source=ip_address(source), destination=ip_address(group))
        sock.send(payload, ip_address(source), ip_address(group))
        sock.close()
    """
)


@pytest.fixture
def lab() -> Iterator[Lab]:
    if UNAVAILABLE is not None:
        pytest.skip(f"this machine cannot run namespace labs: {UNAVAILABLE}")
    with Lab() as built:
        yield built


def test_adverts_are_marked_network_control_cs6_in_both_families(lab: Lab) -> None:
    sender = lab.add_host("r1", "192.0.2.1/24")
    receiver = lab.add_host("r2", "192.0.2.2/24")
    sender.exec("ip", "addr", "add", "fe80::1/64", "dev", "eth0")
    lab.wait_link_local()
    capture = receiver.popen(
        [sys.executable, "-c", CAPTURE], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert capture.stdout is not None
    assert capture.stdout.readline().strip() == b"ready"
    sender.exec(sys.executable, "-c", SEND)
    out, err = capture.communicate(timeout=15)
    assert capture.returncode == 0, err.decode()
    frames = [Ether(bytes.fromhex(line)) for line in out.decode().split()]

    ipv4 = next(f[IP] for f in frames if IP in f)
    assert ipv4.tos == 0xC0  # DSCP CS6 (48 << 2), ECN 0
    assert ipv4.ttl == 255
    assert ipv4[VRRPv3].vrid == 7
    ipv6 = next(f[IPv6] for f in frames if IPv6 in f)
    assert ipv6.tc == 0xC0
    assert ipv6.hlim == 255
    assert ipv6[VRRPv3].vrid == 7
