"""The receive ring between two namespaces: what the kernel really puts in it, and what not."""

from __future__ import annotations

import textwrap

import pytest

from havip.lab.netns import Lab, run
from havip.net.ring import FRAME_COUNT

from .conftest import exchange

RECEIVER = textwrap.dedent(
    """
    import json, select, time
    from ipaddress import IPv4Address
    from havip.net.netlink import Netlink
    from havip.net.ring import VrrpRing
    from havip.net.vrrpsock import Datagram, VrrpSocket
    from havip.proto.model import VRRP_MCAST_GROUP4, DecodeError, Family
    link = Netlink().link("eth0")
    ring = VrrpRing("eth0", link.index)
    own = VrrpSocket("eth0", link.index, Family.IPV4, VRRP_MCAST_GROUP4)
    own.discard_received()
    own.send(bytes.fromhex("3133960100640000"), IPv4Address("192.0.2.1"), VRRP_MCAST_GROUP4)
    print("ready", flush=True)
    select.select([ring.sock], [], [], 10)
    time.sleep(0.3)  # everything the sender sends is in the ring by now
    read_at = time.monotonic()
    got = ring.receive_batch(64, time.monotonic() - time.time())
    print(json.dumps({
        "sources": [str(i.source) for i, _ in got if isinstance(i, Datagram)],
        "priorities": [i.payload[2] for i, _ in got if isinstance(i, Datagram)],
        "rejected": [i.reason.value for i, _ in got if isinstance(i, DecodeError)],
        "same_object": got[0][0] is got[1][0],
        "waited": read_at - got[0][1],
    }))
    """
)
SENDER = textwrap.dedent(
    """
    import socket, struct
    from ipaddress import IPv4Address
    from havip.net.netlink import Netlink
    from havip.net.vrrpsock import VrrpSocket
    from havip.proto.model import VRRP_MCAST_GROUP4, Family
    link = Netlink().link("eth0")
    sock = VrrpSocket("eth0", link.index, Family.IPV4, VRRP_MCAST_GROUP4)
    for _ in range(2):
        sock.send(bytes.fromhex("3133c80100640000"), IPv4Address("192.0.2.2"), VRRP_MCAST_GROUP4)
    # A frame whose IPv4 header checksum is wrong, written below the IP layer.
    payload = bytes.fromhex("3133c80100640000")
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 28, 7, 0, 255, 112, 0x1234,
                         IPv4Address("192.0.2.2").packed, VRRP_MCAST_GROUP4.packed)
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
    raw.sendto(header + payload, ("eth0", 0x0800, 0, 0, bytes.fromhex("01005e000012")))
    """
)


@pytest.fixture
def open_bridge(lab: Lab) -> Lab:
    """The lab's bridge would drop the bad header before r1 sees it: IGMP snooping checks
    the IPv4 header of multicast, and so does br_netfilter where it is loaded. A hub, or a
    switch that does neither, passes it on; so does this bridge with both off."""
    switch = ["ip", "netns", "exec", lab.switch, "sh", "-c"]
    run([*switch, "ip link set br0 type bridge mcast_snooping 0"])
    run([*switch, "f=/proc/sys/net/bridge/bridge-nf-call-iptables; [ ! -e $f ] || echo 0 >$f"])
    return lab


def test_the_ring_holds_the_peers_adverts_not_its_own_and_rejects_a_bad_header(
    open_bridge: Lab,
) -> None:
    got = exchange(open_bridge, RECEIVER, SENDER)
    assert got["sources"] == ["192.0.2.2", "192.0.2.2"]  # not r1's own advert (priority 150)
    assert got["priorities"] == [200, 200]
    assert got["rejected"] == ["checksum"]
    assert got["same_object"] is True
    assert 0.25 < got["waited"] < 2.0  # the kernel's arrival time, not the read


FLOODED_RECEIVER = textwrap.dedent(
    """
    import json, select, time
    from havip.net.netlink import Netlink
    from havip.net.ring import VrrpRing
    from havip.net.vrrpsock import Datagram
    from havip.proto.model import DecodeError
    ring = VrrpRing("eth0", Netlink().link("eth0").index)
    print("ready", flush=True)
    time.sleep(2.0)  # the sender's burst arrives meanwhile and overfills the ring
    got = []
    while batch := ring.receive_batch(256, 0.0):
        got += batch
    first_read = len(got)
    select.select([ring.sock], [], [], 10)  # the sender's last advert
    got += ring.receive_batch(256, 0.0)
    print(json.dumps({
        "first_read": first_read,
        "datagrams": sum(isinstance(i, Datagram) for i, _ in got),
        "overflows": [(i.reason.value, i.count) for i, _ in got if isinstance(i, DecodeError)],
    }))
    """
)
FLOODING_SENDER = textwrap.dedent(
    """
    import time
    from ipaddress import IPv4Address
    from havip.net.netlink import Netlink
    from havip.net.vrrpsock import VrrpSocket
    from havip.proto.model import VRRP_MCAST_GROUP4, Family
    link = Netlink().link("eth0")
    sock = VrrpSocket("eth0", link.index, Family.IPV4, VRRP_MCAST_GROUP4)
    for n in range(1500):
        sock.send(bytes.fromhex("3133c80100640000"), IPv4Address("192.0.2.2"), VRRP_MCAST_GROUP4)
        if n % 50 == 49:
            time.sleep(0.002)  # paced, so only the ring can run out of room
    time.sleep(3.0)
    sock.send(bytes.fromhex("3133c80100640000"), IPv4Address("192.0.2.2"), VRRP_MCAST_GROUP4)
    """
)


def test_what_a_full_ring_loses_is_counted_as_overflow(lab: Lab) -> None:
    got = exchange(lab, FLOODED_RECEIVER, FLOODING_SENDER)
    assert got["first_read"] == FRAME_COUNT  # the ring was full
    assert got["datagrams"] == FRAME_COUNT + 1
    assert got["overflows"] == [["overflow", 1500 - FRAME_COUNT]]
