"""The raw socket's overflow count (SO_RXQ_OVFL), against a real kernel in a lab: what a
full receive buffer loses is counted (IPv6 endpoints, and IPv4 where the ring is refused)."""

from __future__ import annotations

import textwrap

from havip.lab.netns import Lab

from .conftest import exchange

RECEIVER = textwrap.dedent(
    """
    import json, select, time
    from havip.net.netlink import Netlink
    from havip.net.vrrpsock import Datagram, VrrpSocket
    from havip.proto.model import VRRP_MCAST_GROUP4, DecodeError, Family
    sock = VrrpSocket("eth0", Netlink().link("eth0").index, Family.IPV4, VRRP_MCAST_GROUP4)
    print("ready", flush=True)
    time.sleep(3.0)  # the sender's burst arrives meanwhile and overfills the buffer
    got = []
    while batch := sock.receive_batch(256, 0.0):
        got += batch
    select.select([sock.sock], [], [], 10)  # the sender's last advert
    got += sock.receive_batch(256, 0.0)
    print(json.dumps({
        "datagrams": sum(isinstance(i, Datagram) for i, _ in got),
        "overflows": [(i.reason.value, i.count) for i, _ in got if isinstance(i, DecodeError)],
    }))
    """
)
SENDER = textwrap.dedent(
    """
    import time
    from ipaddress import IPv4Address
    from havip.net.netlink import Netlink
    from havip.net.vrrpsock import VrrpSocket
    from havip.proto.model import VRRP_MCAST_GROUP4, Family
    link = Netlink().link("eth0")
    sock = VrrpSocket("eth0", link.index, Family.IPV4, VRRP_MCAST_GROUP4)
    for n in range(SENT):
        sock.send(bytes.fromhex("3133c80100640000"), IPv4Address("192.0.2.2"), VRRP_MCAST_GROUP4)
        if n % 50 == 49:
            time.sleep(0.002)  # paced, so only the receiver's buffer can run out of room
    time.sleep(4.0)
    sock.send(bytes.fromhex("3133c80100640000"), IPv4Address("192.0.2.2"), VRRP_MCAST_GROUP4)
    """
)
SENT = 6000
"""Far more than the 1 MiB receive buffer holds (a small packet takes about 1 KiB of it)."""


def test_what_a_full_socket_buffer_loses_is_counted_as_overflow(lab: Lab) -> None:
    got = exchange(lab, RECEIVER, SENDER.replace("SENT", str(SENT)))
    [(reason, lost)] = got["overflows"]
    assert reason == "overflow" and lost > 0
    assert got["datagrams"] + lost == SENT + 1  # every advert read or counted
