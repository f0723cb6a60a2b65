"""Carrying out the supervisor's OS effects through a `Net`, and reporting how they went.

The agent's loop decides when; this decides nothing. It sends the encoded adverts, changes
VIPs, announces them and removes a crashed run's leftovers, each timed and reported to the
observers (a failure is logged and reported, never raised into the loop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import trio

from havip import effects as fx
from havip.net.netlink import LinkInfo
from havip.net.system import Net, VrrpEndpoint
from havip.observer import Announced, Observer, VipsChanged

log = logging.getLogger("havip")


class Executor:
    """The OS side of the effects: one `Net`, the open endpoints (the receivers' own), the
    observers."""

    def __init__(
        self,
        net: Net,
        observer: Observer,
        endpoints: Mapping[fx.EndpointKey, VrrpEndpoint],
        links: Callable[[str], LinkInfo | None],
    ) -> None:
        self.net = net
        self.observer = observer
        self._endpoints = endpoints
        self._links = links
        self._vips_changed = False

    def settle(self) -> None:
        """After a batch's effects: write down the VIPs held, if they changed (see
        `Net.save_vip_record`: this never comes before the batch's announcements)."""
        if self._vips_changed:
            self._vips_changed = False
            self.net.save_vip_record()

    def remove_leftovers(self, effect: fx.RemoveLeftovers) -> None:
        name = effect.runtime.name
        removed, failures = self.net.remove_leftovers(effect.index, effect.specs)
        if removed:
            log.info("VRRP_Instance(%s) removing leftover VIPs %s", name, removed)
        for failure in failures:
            log.error("VRRP_Instance(%s) cannot remove leftover VIP %s", name, failure)

    def create_vmac(self, effect: fx.CreateVmac) -> None:
        """keepalived's words on success; a failure is logged and the instance waits for the
        interface (it cannot send or hold its VIPs without it)."""
        name = effect.runtime.name
        try:
            self.net.create_vmac(effect.base, effect.name, effect.mac, effect.family)
        except OSError as error:
            log.error("(%s): Unable to create VMAC interface %s: %s", name, effect.name, error)
            return
        log.info("(%s): Success creating VMAC interface %s", name, effect.name)  # or adopting

    def remove_recorded(self) -> None:
        """Before any instance starts: remove what the previous run recorded as its VIPs."""
        removed, failures = self.net.remove_recorded()
        if removed:
            log.info("removing leftover VIPs %s recorded by the previous run", removed)
        for failure in failures:
            log.error("cannot remove leftover VIP %s recorded by the previous run", failure)

    def transmit(self, effect: fx.Transmit) -> None:
        endpoint = self._endpoints.get(effect.endpoint)
        if endpoint is None:
            return
        via, family = effect.via, effect.endpoint[1]
        for destination, payload in effect.packets:
            try:
                if via is None:
                    endpoint.send(payload, effect.source, destination)
                else:
                    self.net.send_via(via, family, payload, effect.source, destination)
            except OSError as error:
                log.warning(
                    "VRRP_Instance(%s) cannot send advert to %s: %s",
                    effect.runtime.name,
                    destination,
                    error,
                )

    def change_vips(self, effect: fx.ChangeVips) -> None:
        began = trio.current_time()
        changed: list[str] = []
        failures: list[str] = []
        for device in dict.fromkeys(spec.device for spec in effect.specs):
            on_device = [s for s in effect.specs if s.device == device]
            link = self._links(device)
            if link is None:
                failures.extend(f"{s.interface}: no interface {device}" for s in on_device)
                continue
            if effect.op == "add":
                done, failed = self.net.add_vips(link.index, on_device)
            else:
                done, failed = self.net.release_vips(link.index, on_device)
            changed.extend(done)
            failures.extend(failed)
        self._vips_changed = True
        self.observer.observe(
            VipsChanged(effect.runtime, effect.op, changed, failures, began, trio.current_time())
        )

    def change_routing(self, effect: fx.ChangeRouting) -> None:
        """virtual_routes and virtual_rules, logged; a failure is logged and the instance
        carries on (as keepalived does), its VIPs held."""
        net = self.net
        if effect.op == "add":
            self._routing_report(effect, "route", net.add_routes(effect.routes))
            self._routing_report(effect, "rule", net.add_rules(effect.rules))
        else:
            self._routing_report(effect, "rule", net.remove_rules(effect.rules))
            self._routing_report(effect, "route", net.remove_routes(effect.routes))

    @staticmethod
    def _routing_report(
        effect: fx.ChangeRouting, kind: str, result: tuple[list[str], list[str]]
    ) -> None:
        name = effect.runtime.name
        changed, failures = result
        if changed:
            verb = "adding" if effect.op == "add" else "removing"
            log.info("(%s) %s virtual %ss: %s", name, verb, kind, "; ".join(changed))
        for failure in failures:
            log.error("(%s) cannot %s virtual %s %s", name, effect.op, kind, failure)

    def listen_for_vips(self, effect: fx.ListenForVips) -> None:
        """A failure is logged: the VIPs are held all the same, only a snooping switch may
        not forward their neighbour solicitations here."""
        endpoint = self._endpoints.get(effect.endpoint)
        if endpoint is None:
            return
        change = endpoint.join if effect.op == "join" else endpoint.leave
        for group in effect.groups:
            try:
                change(group)
            except OSError as error:
                log.error(
                    "(%s) cannot %s multicast group %s on %s: %s",
                    effect.runtime.name,
                    effect.op,
                    group,
                    effect.endpoint[0],
                    error,
                )

    def promote_secondaries(self, effect: fx.PromoteSecondaries) -> None:
        """A failure (no such interface yet) is logged; the instance runs on without it."""
        try:
            self.net.promote_secondaries(effect.interface)
        except OSError as error:
            log.error(
                "(%s) cannot set promote_secondaries on %s: %s",
                effect.runtime.name,
                effect.interface,
                error,
            )

    def firewall(self, effect: fx.Firewall) -> None:
        """no_accept drop rules, logged in keepalived's words; a failure is logged, and the
        VIPs are still added (keepalived carries on likewise)."""
        name = effect.runtime.name
        try:
            if effect.op == "block":
                done = self.net.block_vips(effect.table, effect.addresses)
            else:
                done = self.net.unblock_vips(effect.addresses)
        except OSError as error:
            log.error("VRRP_Instance(%s) cannot %s VIP traffic: %s", name, effect.op, error)
            return
        if done:
            verb = "setting" if effect.op == "block" else "removing"
            log.info("VRRP_Instance(%s) %s firewall drop rule for %s", name, verb, ", ".join(done))

    def announce(self, effect: fx.Announce) -> None:
        began = trio.current_time()
        try:
            sent = sum(
                self.net.announce(effect.device, effect.mac, effect.addresses)
                for _ in range(effect.count)
            )
        except OSError as error:
            log.error("cannot open a packet socket on %s: %s", effect.device, error)
            return
        self.observer.observe(
            Announced(
                effect.runtime,
                effect.kind,
                sent,
                began,
                trio.current_time(),
                paced=effect.paced,
                device=effect.device,
            )
        )
