"""Adverts sent as frames on a packet socket: the same packet the raw IP socket sends."""

from __future__ import annotations

import json
import sys
import textwrap
from ipaddress import IPv4Address

from scapy.layers.inet import IP

from havip.lab.netns import Lab
from havip.net.framesend import ipv4_header, multicast_mac

from .conftest import exchange

PAYLOAD = bytes.fromhex("3133c80100640000")


def test_the_header_is_an_advert_header_an_independent_decoder_accepts() -> None:
    source, group = IPv4Address("192.0.2.2"), IPv4Address("224.0.0.18")
    packet = IP(ipv4_header(len(PAYLOAD), source.packed, group.packed) + PAYLOAD)
    assert (packet.version, packet.ihl, packet.tos, packet.len) == (4, 5, 0xC0, 28)
    assert (str(packet.flags), packet.frag, packet.ttl, packet.proto) == ("DF", 0, 255, 112)
    assert (packet.src, packet.dst) == ("192.0.2.2", "224.0.0.18")
    sent_checksum = packet.chksum
    del packet.chksum
    assert IP(bytes(packet)).chksum == sent_checksum


def test_a_group_maps_to_its_ethernet_multicast_address() -> None:
    assert multicast_mac(IPv4Address("224.0.0.18")) == bytes.fromhex("01005e000012")
    assert multicast_mac(IPv4Address("239.129.2.3")) == bytes.fromhex("01005e010203")


KINDS = textwrap.dedent(
    """
    import json
    from havip.net.framesend import FrameSender, NotEthernet
    from havip.proto.model import VRRP_MCAST_GROUP4
    kinds = {}
    for name in ("eth0", "lo"):
        try:
            FrameSender(name, VRRP_MCAST_GROUP4).close()
            kinds[name] = "frames"
        except NotEthernet:
            kinds[name] = "not ethernet"
    print(json.dumps(kinds))
    """
)


def test_only_an_ethernet_interface_gets_frames(lab: Lab) -> None:
    kinds = lab.hosts["r1"].exec(sys.executable, "-c", KINDS).stdout
    assert json.loads(kinds) == {"eth0": "frames", "lo": "not ethernet"}


CAPTURE = textwrap.dedent(
    """
    import json, socket, time
    capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    capture.bind(("eth0", 0))
    capture.settimeout(5)
    print("ready", flush=True)
    frames = []
    while len(frames) < 4:
        frame = capture.recv(2048)
        if frame[12:14] == b"\\x08\\x00" and frame[23] == 112 and frame[26:30] != bytes(
            [192, 0, 2, 1]
        ):
            frames.append(frame.hex())
    print(json.dumps(frames))
    """
)
SEND = textwrap.dedent(
    """
    import subprocess, time
    from ipaddress import IPv4Address
    from havip.net.netlink import Netlink
    from havip.net.system import open_endpoint
    from havip.net.vrrpsock import VrrpSocket
    from havip.proto.model import VRRP_MCAST_GROUP4, Family
    link = Netlink().link("eth0")
    source, payload = IPv4Address("192.0.2.2"), bytes.fromhex("3133c80100640000")
    endpoint = open_endpoint(link, Family.IPV4, VRRP_MCAST_GROUP4)
    endpoint.send(payload, source, VRRP_MCAST_GROUP4)
    VrrpSocket("eth0", link.index, Family.IPV4, VRRP_MCAST_GROUP4).send(
        payload, source, VRRP_MCAST_GROUP4
    )
    endpoint.send(payload, source, IPv4Address("192.0.2.1"))  # a unicast peer
    subprocess.run(["ip", "link", "set", "eth0", "address", "02:00:5e:10:00:02"], check=True)
    time.sleep(1.2)
    endpoint.send(payload, source, VRRP_MCAST_GROUP4)
    """
)


def test_a_frame_is_the_raw_sockets_packet_and_follows_a_new_mac(lab: Lab) -> None:
    sender_mac = bytes.fromhex(
        lab.hosts["r2"].exec("cat", "/sys/class/net/eth0/address").stdout.strip().replace(":", "")
    )
    framed, raw, unicast, after = (bytes.fromhex(f) for f in exchange(lab, CAPTURE, SEND))

    def without_identification(frame: bytes) -> bytes:
        return frame[:18] + frame[20:24] + frame[26:]  # the ID and the checksum it changes

    assert framed[:6] == bytes.fromhex("01005e000012") and framed[6:12] == sender_mac
    assert without_identification(framed) == without_identification(raw)
    assert IP(framed[14:]).chksum == IP(bytes(_rechecked(framed))).chksum  # a valid checksum
    assert IP(unicast[14:]).dst == "192.0.2.1"  # not the group: the raw socket sent it
    assert after[6:12] == bytes.fromhex("02005e100002")
    assert without_identification(after)[12:] == without_identification(framed)[12:]


def _rechecked(frame: bytes) -> IP:
    packet = IP(frame[14:])
    del packet.chksum
    return packet
