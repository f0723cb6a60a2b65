"""The raw VRRP socket between two namespaces: what it hands over, and when it says it arrived."""

from __future__ import annotations

import textwrap

from havip.lab.netns import Lab

from .conftest import exchange

RECEIVER = textwrap.dedent(
    """
    import json, select, time
    from ipaddress import IPv4Address
    from havip.net.netlink import Netlink
    from havip.net.vrrpsock import VrrpSocket
    from havip.proto.model import VRRP_MCAST_GROUP4, Family
    link = Netlink().link("eth0")
    sock = VrrpSocket("eth0", link.index, Family.IPV4, VRRP_MCAST_GROUP4)
    print("ready", flush=True)
    select.select([sock.sock], [], [], 10)
    time.sleep(0.2)  # the packets wait in the socket, as they do out a receive window
    read_at = time.monotonic()
    offset = time.monotonic() - time.time()
    first = sock.receive_batch(2, offset)
    rest = sock.receive_batch(8, offset)
    (datagram, arrived), (again, _) = first
    print(json.dumps({"payload": datagram.payload.hex(), "source": str(datagram.source),
                      "ttl": datagram.ttl, "waited": read_at - arrived,
                      "same_object": again is datagram,
                      "batches": [len(first), len(rest), len(sock.receive_batch(8, offset))]}))
    """
)
SENDER = textwrap.dedent(
    """
    from ipaddress import IPv4Address
    from havip.net.netlink import Netlink
    from havip.net.vrrpsock import VrrpSocket
    from havip.proto.model import VRRP_MCAST_GROUP4, Family
    link = Netlink().link("eth0")
    sock = VrrpSocket("eth0", link.index, Family.IPV4, VRRP_MCAST_GROUP4)
    for _ in range(3):
        sock.send(bytes.fromhex("3133c80100640000"), IPv4Address("192.0.2.2"), VRRP_MCAST_GROUP4)
    """
)


def test_a_datagram_carries_its_kernel_arrival_time(lab: Lab) -> None:
    got = exchange(lab, RECEIVER, SENDER)
    assert got["payload"] == "3133c80100640000"
    assert got["source"] == "192.0.2.2" and got["ttl"] == 255
    # Read 0.2 s after it arrived: the stamp is the arrival, not the read.
    assert 0.15 < got["waited"] < 2.0
    # The same advert again (another IP identification) is handed back as the same object.
    assert got["same_object"] is True
    # A batch stops at its limit, the next one takes the rest, and an empty socket gives [].
    assert got["batches"] == [2, 1, 0]
