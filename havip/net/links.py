"""Link and address change notifications from rtnetlink, for trio.

A multicast netlink socket tells which interfaces changed; the agent then asks `Netlink`
for their current state. Reading the state again instead of trusting each message keeps the
logic simple and correct when messages arrive in bursts or some are lost (ENOBUFS).
"""

from __future__ import annotations

import socket

import trio
from pyroute2.netlink.rtnl.marshal import MarshalRtnl

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV6_IFADDR = 0x100
NETLINK_ROUTE = 0


class LinkMonitor:
    """Yields, batch by batch, the names and indexes of interfaces that changed."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.setblocking(False)
        self._marshal = MarshalRtnl()

    def close(self) -> None:
        self.sock.close()

    async def changes(self) -> tuple[set[int], bool]:
        """Wait for the next batch: (changed interface indexes, whether messages were lost)."""
        await trio.lowlevel.wait_readable(self.sock)
        indexes: set[int] = set()
        lost = False
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                return indexes, lost
            except OSError:  # ENOBUFS: the kernel dropped messages; re-read everything
                lost = True
                continue
            for message in self._marshal.parse(data):
                index = message.get("index")
                if isinstance(index, int):
                    indexes.add(index)
