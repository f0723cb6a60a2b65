"""The VRRP endpoints the agent has open, and one receive task per endpoint.

A receive task handles at most RECEIVE_BATCH packets per wake, each stamped with its own
time, then yields: whoever sends fastest cannot hold the loop, so a due advert or master-down
timer waits one batch at most. A failed receive is reported and retried after a short pause;
it never ends the agent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from havip.effects import EndpointKey
from havip.net.netlink import LinkInfo
from havip.net.system import Net, VrrpEndpoint
from havip.net.vrrpsock import Datagram
from havip.proto.model import DecodeError, IPAddress

log = logging.getLogger("havip")

RECEIVE_BATCH = 16
"""Packets a receive task handles per wake before it yields (16 x ~30 us: under 1 ms)."""
RECEIVE_RETRY = 0.001
"""Pause after a failed receive, so a socket that keeps failing cannot spin the loop."""

OnDatagram = Callable[[EndpointKey, Datagram | DecodeError, float], None]
OnError = Callable[[EndpointKey, OSError], None]


class Receivers:
    """Opens, serves and closes endpoints; `endpoints` is what the executor sends through."""

    def __init__(
        self, net: Net, nursery: trio.Nursery, on_datagram: OnDatagram, on_error: OnError
    ) -> None:
        self.endpoints: dict[EndpointKey, VrrpEndpoint] = {}
        self._net = net
        self._nursery = nursery
        self._on_datagram = on_datagram
        self._on_error = on_error
        self._scopes: dict[EndpointKey, trio.CancelScope] = {}

    def open(self, key: EndpointKey, link: LinkInfo, group: IPAddress) -> bool:
        """Open and serve endpoint `key`; False (logged) when the OS refuses."""
        try:
            endpoint = self._net.open_vrrp(link, key[1], group)
        except OSError as error:
            log.error("cannot open a VRRP socket on %s: %s", link.name, error)
            return False
        self.endpoints[key] = endpoint
        scope = self._scopes[key] = trio.CancelScope()
        self._nursery.start_soon(self._serve, scope, key, endpoint)
        return True

    def close(self, key: EndpointKey) -> None:
        self._scopes.pop(key).cancel()
        self.endpoints.pop(key).close()

    def close_all(self) -> None:
        for key in list(self.endpoints):
            self.close(key)

    async def _serve(
        self, scope: trio.CancelScope, key: EndpointKey, endpoint: VrrpEndpoint
    ) -> None:
        with scope:
            while True:
                await endpoint.wait_readable()
                for _ in range(RECEIVE_BATCH):
                    try:
                        item = endpoint.receive()
                    except OSError as error:
                        self._on_error(key, error)
                        await trio.sleep(RECEIVE_RETRY)
                        break
                    if item is None:
                        break
                    self._on_datagram(key, item, trio.current_time())
