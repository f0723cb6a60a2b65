"""The VRRP endpoints the agent has open, and one receive task per endpoint.

A wake-up of the loop costs more than handling a routine advert, so a receive task that
wakes lets adverts gather for a short window (a twentieth of the smallest advert interval
on the endpoint, at most 50 ms: 250 instances then cost about 20 wake-ups a second instead
of 250), then drains them. Each packet carries the kernel's arrival time, so waiting moves no
deadline; and before a master-down timer makes a backup take over, the agent drains the
endpoint (`drain`), so an advert still queued cannot be missed.

A task handles at most RECEIVE_BATCH packets before it yields: whoever sends fastest cannot
hold the loop, so a due advert or master-down timer waits one batch at most. A failed
receive is reported and retried after a short pause; it never ends the agent.
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
DRAIN_BATCHES = 64
"""Batches a drain before a takeover reads at most: 1,024 packets, the receive ring's size, so
a backlog of other instances' adverts cannot hide the master's (a few ms at most)."""
RECEIVE_RETRY = 0.001
"""Pause after a failed receive, so a socket that keeps failing cannot spin the loop."""
MAX_LATENESS = 0.5
"""How far back a kernel arrival time is believed. Packets wait one window (50 ms at most)
or a slow batch; an older stamp means the wall clock stepped, and is clamped."""

OnDatagram = Callable[[EndpointKey, Datagram | DecodeError, float], None]
OnError = Callable[[EndpointKey, OSError], None]
OnBatch = Callable[[], None]
Window = Callable[[EndpointKey], float]


class Receivers:
    """Opens, serves and closes endpoints; `endpoints` is what the executor sends through."""

    def __init__(
        self,
        net: Net,
        nursery: trio.Nursery,
        on_datagram: OnDatagram,
        on_error: OnError,
        window: Window,
        on_batch: OnBatch,
    ) -> None:
        self.endpoints: dict[EndpointKey, VrrpEndpoint] = {}
        self._net = net
        self._nursery = nursery
        self._on_datagram = on_datagram
        self._on_error = on_error
        self._window = window
        self._on_batch = on_batch
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

    def drain(self, key: EndpointKey) -> None:
        """Handle what is queued on `key` now (DRAIN_BATCHES at most): called before a backup
        takes over, so the master's last advert cannot still be waiting in the socket, behind
        other instances' adverts that a busy loop let pile up.

        Its effects are left to the caller's batch (the timer's), not carried out here: a
        carry-out ends with the loop's garbage collection when one is due, which must not
        land between a master-down deadline and the takeover."""
        endpoint = self.endpoints.get(key)
        if endpoint is not None:
            try:
                for _ in range(DRAIN_BATCHES):
                    if not self._handle_batch(key, endpoint, carry_out=False):
                        break
            except OSError as error:
                self._on_error(key, error)

    async def _serve(
        self, scope: trio.CancelScope, key: EndpointKey, endpoint: VrrpEndpoint
    ) -> None:
        with scope:
            while True:
                await endpoint.wait_readable()
                window = self._window(key)
                if window > 0:
                    await endpoint.wait_window(window)
                while True:
                    try:
                        more = self._handle_batch(key, endpoint)
                    except OSError as error:
                        self._on_error(key, error)
                        await trio.sleep(RECEIVE_RETRY)
                        break
                    if not more:
                        break
                    await trio.lowlevel.checkpoint()

    def _handle_batch(
        self, key: EndpointKey, endpoint: VrrpEndpoint, *, carry_out: bool = True
    ) -> bool:
        """Up to RECEIVE_BATCH packets, each at its arrival time, then `on_batch` once (the
        agent carries out their effects together) unless `carry_out` is False; True if it
        stopped full."""
        now = trio.current_time()
        oldest = now - MAX_LATENESS
        on_datagram = self._on_datagram
        try:
            received = endpoint.receive_batch(RECEIVE_BATCH)
            for item, at in received:
                if at is None or at > now:
                    at = now
                elif at < oldest:
                    at = oldest
                on_datagram(key, item, at)
            return len(received) == RECEIVE_BATCH
        finally:
            if carry_out:
                self._on_batch()
