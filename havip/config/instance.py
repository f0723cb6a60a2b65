"""Read one `vrrp_instance` block and settle its values the way keepalived does.

Decisions where keepalived only logs and carries on (documented in docs and `havip check`):
- `priority` outside 1..255 is an error; keepalived silently uses 100, which hides the mistake.
- `state` other than MASTER/BACKUP is an error; keepalived treats e.g. `master` as BACKUP.
- `advert_int` must fit the version: whole seconds 1..255 for v2, 0.01..40.95 in steps of 0.01
  for v3; keepalived rounds or clamps with a log line, havip reports an error instead.
- IPv6 instances always run VRRPv3 (an explicit `version 2` warns), as RFC 5798 requires;
  keepalived keeps v2 over IPv6 only outside strict mode, which no RFC defines.
- AH authentication and keepalived 2.4's auth_hmac are errors: havip implements neither.
These follow keepalived with a warning: authentication under VRRPv3 or strict mode is ignored;
auth_pass longer than 8 bytes is truncated; nopreempt/preempt_delay are cleared with an initial
state of MASTER; preempt_delay is cleared with nopreempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, TypeVar

from havip.config.addresses import read_virtual_address
from havip.config.diagnostics import Diagnostics, Location, did_you_mean
from havip.config.global_defs import read_repeat, read_whole_seconds
from havip.config.keepalived_keywords import INSTANCE_NOT_IMPLEMENTED, INSTANCE_REFUSED
from havip.config.model import (
    Authentication,
    GlobalDefs,
    InitialState,
    IPAddress,
    TrackedFile,
    TrackedInterface,
    TrackedProcess,
    TrackedScript,
    VirtualAddress,
    VirtualRoute,
    VirtualRule,
    VrrpInstance,
)
from havip.config.parser import Statement
from havip.config.routes import read_virtual_route
from havip.config.rules import read_virtual_rule
from havip.config.scripts import read_notify
from havip.config.sections import Section, walk
from havip.config.tracking import (
    Reference,
    read_tracked_files,
    read_tracked_interfaces,
    read_tracked_processes,
    read_tracked_scripts,
)
from havip.config.values import (
    INT32_MAX,
    interface_name_problem,
    no_args,
    one_arg,
    parse_address,
    parse_int,
    read_address,
    read_int,
    read_optional_bool,
    read_seconds,
)
from havip.config.vmac_address import VmacAddress, looks_like_mac, read_vmac_address
from havip.proto.model import VRRP_TTL, Family
from havip.proto.timers import DOWN_TIMER_ADVERTS

AUTH_PASS_MAX = 8
MAX_VIPS = 255
PREEMPT_DELAY_MAX = Decimal(1000)
ADVERT_INT_V2 = (Decimal(1), Decimal(255))
ADVERT_INT_V3 = (Decimal("0.01"), Decimal("40.95"))
STATES: tuple[InitialState, ...] = ("MASTER", "BACKUP")


@dataclass(frozen=True, slots=True)
class InstanceReading:
    """An instance plus what the whole-file checks need: where its names and VRID were read."""

    instance: VrrpInstance
    vrid_location: Location
    script_references: tuple[Reference, ...]
    file_references: tuple[Reference, ...]
    process_references: tuple[Reference, ...] = ()


T = TypeVar("T")


@dataclass(slots=True)
class _Located(Generic[T]):
    value: T
    location: Location


_Routing = TypeVar("_Routing", VirtualRoute, VirtualRule)


@dataclass(slots=True)
class _Draft:
    written: set[str] = field(default_factory=set)
    initial_state: InitialState | None = None
    interface: str | None = None
    vrid: _Located[int] | None = None
    priority: int | None = None
    advert_int: _Located[Decimal] | None = None
    version: _Located[int] | None = None
    auth_type: str | None = None
    auth_type_written: bool = False
    auth_password: _Located[str] | None = None
    auth_location: Location | None = None
    vips: list[VirtualAddress] = field(default_factory=list)
    vip_lines: int = 0
    excluded_vips: list[VirtualAddress] = field(default_factory=list)
    nopreempt: _Located[bool] | None = None
    preempt_delay: _Located[Decimal] | None = None
    garp_master_delay: float | None = None
    garp_master_repeat: int | None = None
    garp_master_refresh: float | None = None
    garp_master_refresh_repeat: int | None = None
    unicast_src_ip: _Located[IPAddress] | None = None
    mcast_src_ip: _Located[IPAddress] | None = None
    unicast_peers: list[_Located[IPAddress]] = field(default_factory=list)
    track_interfaces: tuple[TrackedInterface, ...] = ()
    track_scripts: tuple[TrackedScript, ...] = ()
    track_files: tuple[TrackedFile, ...] = ()
    track_processes: tuple[TrackedProcess, ...] = ()
    script_references: tuple[Reference, ...] = ()
    file_references: tuple[Reference, ...] = ()
    process_references: tuple[Reference, ...] = ()
    notify: dict[str, str | None] = field(default_factory=dict)
    accept: bool | None = None
    dont_track_primary: bool = False
    strict_mode: bool | None = None
    skip_check_adv_addr: bool | None = None
    notify_priority_changes: bool | None = None
    use_vmac: _Located[str | None] | None = None
    vmac_address: VmacAddress | None = None
    vmac_xmit_base: _Located[bool] | None = None
    lower_prio_no_advert: _Located[bool | None] | None = None
    higher_prio_send_advert: _Located[bool | None] | None = None
    down_timer_adverts: _Located[int | None] | None = None
    native_ipv6: Location | None = None
    promote_secondaries: Location | None = None
    no_virtual_ipaddress: Location | None = None
    unicast_fault_no_peer: Location | None = None
    garp_lower_prio_repeat: _Located[int | None] | None = None
    garp_lower_prio_delay: _Located[float | None] | None = None
    virtual_routes: list[VirtualRoute] = field(default_factory=list)
    virtual_rules: list[VirtualRule] = field(default_factory=list)


class _InstanceReader:
    def __init__(self, name: str, diagnostics: Diagnostics) -> None:
        self.name = name
        self.diagnostics = diagnostics
        self.draft = _Draft()
        notify = {k: self._notify for k in ("notify", *(f"notify_{s}" for s in _NOTIFY_STATES))}
        self.section = Section(
            f"vrrp_instance {name}",
            {
                "state": self._state,
                "interface": self._interface,
                "virtual_router_id": self._vrid,
                "priority": self._priority,
                "advert_int": self._advert_int,
                "version": self._version,
                "authentication": self._authentication,
                "virtual_ipaddress": self._vips,
                "virtual_ipaddress_excluded": self._excluded_vips,
                "nopreempt": self._nopreempt,
                "preempt": self._preempt,
                "preempt_delay": self._preempt_delay,
                "garp_master_delay": self._garp_delay,
                "garp_master_repeat": self._garp_repeat,
                "garp_master_refresh": self._garp_refresh,
                "garp_master_refresh_repeat": self._garp_refresh_repeat,
                "unicast_src_ip": self._unicast_src_ip,
                "mcast_src_ip": self._mcast_src_ip,
                "unicast_peer": self._unicast_peers,
                "track_interface": self._track_interfaces,
                "track_script": self._track_scripts,
                "track_file": self._track_files,
                "track_process": self._track_processes,
                "accept": self._accept,
                "no_accept": self._no_accept,
                "dont_track_primary": self._dont_track_primary,
                "strict_mode": self._strict_mode,
                "skip_check_adv_addr": self._skip_check_adv_addr,
                "notify_priority_changes": self._notify_priority_changes,
                "auth_hmac": self._auth_hmac,
                "use_vmac": self._use_vmac,
                "vmac_xmit_base": self._vmac_xmit_base,
                "lower_prio_no_advert": self._lower_prio_no_advert,
                "higher_prio_send_advert": self._higher_prio_send_advert,
                "down_timer_adverts": self._down_timer_adverts,
                # havip always drops a unicast advert from a source not in unicast_peer
                "check_unicast_src": lambda s: None,
                "unicast_ttl": self._unicast_ttl,
                "native_ipv6": self._native_ipv6,
                "promote_secondaries": self._promote_secondaries,
                "no_virtual_ipaddress": self._no_virtual_ipaddress,
                "unicast_fault_no_peer": self._unicast_fault_no_peer,
                "garp_lower_prio_repeat": self._garp_lower_prio_repeat,
                "garp_lower_prio_delay": self._garp_lower_prio_delay,
                "virtual_routes": self._virtual_routes,
                "virtual_rules": self._virtual_rules,
                **notify,
            },
            block_keywords=frozenset(_BLOCK_KEYWORDS),
            ignored=INSTANCE_NOT_IMPLEMENTED,
            refused=INSTANCE_REFUSED,
            repeatable=frozenset(_BLOCK_KEYWORDS),
        )

    # --- one handler per keyword -------------------------------------------------------------

    def _state(self, s: Statement) -> None:
        text = one_arg(s, "MASTER or BACKUP", self.diagnostics)
        if text is None:
            return
        if text not in STATES:
            self.diagnostics.error(
                s.location, f"state: expected MASTER or BACKUP (upper case), got '{text}'"
            )
            return
        self.draft.initial_state = "MASTER" if text == "MASTER" else "BACKUP"

    def _interface(self, s: Statement) -> None:
        text = one_arg(s, "an interface name", self.diagnostics)
        if text is not None and (problem := interface_name_problem(text)):
            self.diagnostics.error(s.location, f"interface: {problem}")
        elif text is not None:
            self.draft.interface = text

    def _vrid(self, s: Statement) -> None:
        value = read_int(s, 1, 255, self.diagnostics)
        if value is not None:
            self.draft.vrid = _Located(value, s.location)

    def _priority(self, s: Statement) -> None:
        value = read_int(s, 1, 255, self.diagnostics)
        if value is not None:
            self.draft.priority = value

    def _advert_int(self, s: Statement) -> None:
        value = read_seconds(s, ADVERT_INT_V3[0], ADVERT_INT_V2[1], self.diagnostics)
        if value is not None:
            self.draft.advert_int = _Located(value, s.location)

    def _version(self, s: Statement) -> None:
        text = one_arg(s, "2 or 3", self.diagnostics)
        if text is None:
            return
        version = parse_int(text, 2, 3)
        if version is None:
            self.diagnostics.warning(
                s.location, f"version must be 2 or 3, got '{text}'; ignored (as keepalived)"
            )
            return
        self.draft.version = _Located(version, s.location)

    def _authentication(self, s: Statement) -> None:
        self.draft.auth_location = s.location
        section = Section(
            f"authentication of {self.name}",
            {"auth_type": self._auth_type, "auth_pass": self._auth_pass},
        )
        walk(section, s.block or (), self.diagnostics)

    def _auth_hmac(self, s: Statement) -> None:
        """keepalived 2.4's signed adverts: refused, so no router runs unsigned by surprise.

        havip accepts the trailer such a router sends (in its permissive and receive-only
        modes), but cannot sign or verify one.
        """
        self.diagnostics.error(
            s.location,
            "auth_hmac: keepalived 2.4's HMAC-signed adverts are not implemented by havip; "
            "remove the auth_hmac block (havip accepts signed adverts from keepalived in "
            "'mode permissive' or 'mode receive-only', without verifying them)",
        )

    def _auth_type(self, s: Statement) -> None:
        self.draft.auth_type_written = True
        text = one_arg(s, "PASS", self.diagnostics)
        if text == "AH":
            self.diagnostics.error(
                s.location,
                "auth_type AH: IPsec AH authentication is not implemented by havip; "
                "use auth_type PASS or remove the authentication block",
            )
        elif text == "PASS":
            self.draft.auth_type = text
        elif text is not None:
            self.diagnostics.error(
                s.location,
                f"auth_type: expected PASS, got '{text}'{did_you_mean(text, ('PASS', 'AH'))}",
            )

    def _auth_pass(self, s: Statement) -> None:
        text = one_arg(s, "a password of up to 8 characters", self.diagnostics)
        if text is not None:
            self.draft.auth_password = _Located(text, s.location)

    def _vips(self, s: Statement) -> None:
        family = self._vip_family()
        self.draft.vip_lines += len(s.block or ())
        for line in s.block or ():
            vip = read_virtual_address(line, self.diagnostics)
            if vip is None:
                continue
            if family is None:
                family = _Located(vip.interface.version, vip.location)
            elif vip.interface.version != family.value:
                self.diagnostics.error(
                    vip.location,
                    f"{vip.interface} is IPv{vip.interface.version} but the first virtual "
                    f"address (line {family.location.line}) is IPv{family.value}: all "
                    "virtual_ipaddress entries must be one family (put the others in "
                    "virtual_ipaddress_excluded)",
                )
                continue
            if any(v.interface == vip.interface for v in self.draft.vips):
                self.diagnostics.warning(
                    vip.location, f"{vip.interface} is listed twice; the first one is used"
                )
                continue
            self.draft.vips.append(vip)

    def _vip_family(self) -> _Located[int] | None:
        vips = self.draft.vips
        return _Located(vips[0].interface.version, vips[0].location) if vips else None

    def _excluded_vips(self, s: Statement) -> None:
        for line in s.block or ():
            vip = read_virtual_address(line, self.diagnostics)
            if vip is not None:
                self.draft.excluded_vips.append(vip)

    def _nopreempt(self, s: Statement) -> None:
        if no_args(s, self.diagnostics):
            self.draft.nopreempt = _Located(True, s.location)

    def _preempt(self, s: Statement) -> None:
        if no_args(s, self.diagnostics):
            self.draft.nopreempt = _Located(False, s.location)

    def _preempt_delay(self, s: Statement) -> None:
        value = read_seconds(s, Decimal(0), PREEMPT_DELAY_MAX, self.diagnostics)
        if value is not None:
            self.draft.preempt_delay = _Located(value, s.location)

    def _garp_delay(self, s: Statement) -> None:
        self.draft.garp_master_delay = read_whole_seconds(s, self.diagnostics)

    def _garp_repeat(self, s: Statement) -> None:
        self.draft.garp_master_repeat = read_repeat(s, self.diagnostics)

    def _garp_lower_prio_repeat(self, s: Statement) -> None:
        self.draft.garp_lower_prio_repeat = _Located(
            read_int(s, 0, INT32_MAX, self.diagnostics), s.location
        )

    def _garp_lower_prio_delay(self, s: Statement) -> None:
        self.draft.garp_lower_prio_delay = _Located(
            read_whole_seconds(s, self.diagnostics), s.location
        )

    def _garp_refresh(self, s: Statement) -> None:
        self.draft.garp_master_refresh = read_whole_seconds(s, self.diagnostics)

    def _garp_refresh_repeat(self, s: Statement) -> None:
        self.draft.garp_master_refresh_repeat = read_repeat(s, self.diagnostics)

    def _unicast_src_ip(self, s: Statement) -> None:
        address = read_address(s, self.diagnostics)
        if address is not None:
            self.draft.unicast_src_ip = _Located(address, s.location)

    def _mcast_src_ip(self, s: Statement) -> None:
        address = read_address(s, self.diagnostics)
        if address is not None:
            self.draft.mcast_src_ip = _Located(address, s.location)

    def _unicast_peers(self, s: Statement) -> None:
        for line in s.block or ():
            address = parse_address(line.keyword)
            if address is None or line.block is not None:
                self.diagnostics.error(
                    line.location, f"unicast_peer: expected an IP address, got '{line.keyword}'"
                )
                continue
            if line.args:
                self.diagnostics.warning(
                    line.location,
                    f"unicast_peer {address}: options '{' '.join(line.args)}' (min_ttl/max_ttl) "
                    "are not implemented by havip; ignored",
                )
            if any(peer.value == address for peer in self.draft.unicast_peers):
                self.diagnostics.warning(line.location, f"unicast_peer {address} is listed twice")
                continue
            self.draft.unicast_peers.append(_Located(address, line.location))

    def _track_interfaces(self, s: Statement) -> None:
        tracked = read_tracked_interfaces(s.block or (), self.diagnostics)
        self.draft.track_interfaces += tracked

    def _track_scripts(self, s: Statement) -> None:
        tracked, references = read_tracked_scripts(s.block or (), self.diagnostics)
        self.draft.track_scripts += tracked
        self.draft.script_references += references

    def _track_files(self, s: Statement) -> None:
        tracked, references = read_tracked_files(s.block or (), self.diagnostics)
        self.draft.track_files += tracked
        self.draft.file_references += references

    def _track_processes(self, s: Statement) -> None:
        tracked, references = read_tracked_processes(s.block or (), self.diagnostics)
        self.draft.track_processes += tracked
        self.draft.process_references += references

    def _notify(self, s: Statement) -> None:
        self.draft.notify[s.keyword] = read_notify(s, self.diagnostics)

    def _accept(self, s: Statement) -> None:
        if no_args(s, self.diagnostics):
            self.draft.accept = True

    def _no_accept(self, s: Statement) -> None:
        if no_args(s, self.diagnostics):
            self.draft.accept = False

    def _dont_track_primary(self, s: Statement) -> None:
        self.draft.dont_track_primary = no_args(s, self.diagnostics)

    def _strict_mode(self, s: Statement) -> None:
        self.draft.strict_mode = read_optional_bool(s, self.diagnostics)

    def _skip_check_adv_addr(self, s: Statement) -> None:
        self.draft.skip_check_adv_addr = read_optional_bool(s, self.diagnostics)

    def _notify_priority_changes(self, s: Statement) -> None:
        self.draft.notify_priority_changes = read_optional_bool(s, self.diagnostics)

    def _lower_prio_no_advert(self, s: Statement) -> None:
        self.draft.lower_prio_no_advert = _Located(
            read_optional_bool(s, self.diagnostics), s.location
        )

    def _higher_prio_send_advert(self, s: Statement) -> None:
        self.draft.higher_prio_send_advert = _Located(
            read_optional_bool(s, self.diagnostics), s.location
        )

    def _virtual_routes(self, s: Statement) -> None:
        for line in s.block or ():
            route = read_virtual_route(line, self.diagnostics)
            self._once("route", route, self.draft.virtual_routes)

    def _virtual_rules(self, s: Statement) -> None:
        for line in s.block or ():
            rule = read_virtual_rule(line, self.diagnostics)
            self._once("rule", rule, self.draft.virtual_rules)

    def _once(self, kind: str, item: _Routing | None, items: list[_Routing]) -> None:
        """Add a route or rule, warning (and keeping the first) when it is listed again."""
        if item is None:
            return
        if item in items:
            assert item.location is not None
            self.diagnostics.warning(
                item.location, f"{kind} {item} is listed twice; the first one is used"
            )
            return
        items.append(item)

    def _unicast_ttl(self, s: Statement) -> None:
        """Only the RFC's TTL: a peer that checks it (RFC 5798 7.1) would drop any other."""
        ttl = read_int(s, 1, 255, self.diagnostics)
        if ttl is not None and ttl != VRRP_TTL:
            self.diagnostics.error(
                s.location,
                f"unicast_ttl {ttl}: havip sends every advert with TTL {VRRP_TTL}; other values "
                "are not implemented (remove the line, or write 255)",
            )

    def _unicast_fault_no_peer(self, s: Statement) -> None:
        if no_args(s, self.diagnostics):
            self.draft.unicast_fault_no_peer = s.location

    def _no_virtual_ipaddress(self, s: Statement) -> None:
        if no_args(s, self.diagnostics):
            self.draft.no_virtual_ipaddress = s.location

    def _promote_secondaries(self, s: Statement) -> None:
        if no_args(s, self.diagnostics):
            self.draft.promote_secondaries = s.location

    def _native_ipv6(self, s: Statement) -> None:
        """keepalived's deprecated way to make an instance without IPv6 VIPs an IPv6 one."""
        if no_args(s, self.diagnostics):
            self.draft.native_ipv6 = s.location

    def _down_timer_adverts(self, s: Statement) -> None:
        self.draft.down_timer_adverts = _Located(read_int(s, 1, 100, self.diagnostics), s.location)

    def _use_vmac(self, s: Statement) -> None:
        """`use_vmac [NAME] [MAC]`, the two in either order (keepalived 2.2)."""
        name: str | None = None
        address: VmacAddress | None = None
        problems: list[str] = []
        if len(s.args) > 2:
            problems.append("expected at most an interface name and a MAC address")
        for word in s.args[:2]:
            if looks_like_mac(word):
                found = read_vmac_address(word)
                if isinstance(found, str):
                    problems.append(found)
                elif address is not None:
                    problems.append("a MAC address given twice")
                else:
                    address = found
            elif name is not None:
                problems.append("an interface name given twice")
            elif problem := interface_name_problem(word):
                problems.append(problem)
            else:
                name = word
        for problem in problems:
            self.diagnostics.error(s.location, f"use_vmac: {problem}")
        if not problems:
            self.draft.use_vmac = _Located(name, s.location)
            self.draft.vmac_address = address

    def _vmac_xmit_base(self, s: Statement) -> None:
        if no_args(s, self.diagnostics):
            self.draft.vmac_xmit_base = _Located(True, s.location)


_NOTIFY_STATES = ("master", "backup", "fault", "stop")
_BLOCK_KEYWORDS = (
    "authentication",
    "auth_hmac",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "unicast_peer",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "virtual_routes",
    "virtual_rules",
)


def read_instance(
    statement: Statement, global_defs: GlobalDefs, diagnostics: Diagnostics
) -> InstanceReading | None:
    """The instance of a `vrrp_instance NAME { ... }` statement, or None if it is unusable."""
    if len(statement.args) != 1:
        diagnostics.error(statement.location, "vrrp_instance: expected exactly one name")
        return None
    reader = _InstanceReader(statement.args[0], diagnostics)
    block = statement.block or ()
    reader.draft.written.update(s.keyword for s in block)
    walk(reader.section, block, diagnostics)
    return _Settler(reader.name, statement.location, reader.draft, global_defs, diagnostics).run()


class _Settler:
    """Turns a draft into an instance: defaults, inheritance and the cross-field rules."""

    def __init__(
        self,
        name: str,
        location: Location,
        draft: _Draft,
        global_defs: GlobalDefs,
        diagnostics: Diagnostics,
    ) -> None:
        self.name = name
        self.location = location
        self.draft = draft
        self.globals = global_defs
        self.diagnostics = diagnostics
        self.valid = True

    def error(self, location: Location, message: str) -> None:
        self.diagnostics.error(location, message)
        self.valid = False

    def warning(self, location: Location, message: str) -> None:
        self.diagnostics.warning(location, f"({self.name}) {message}")

    def run(self) -> InstanceReading | None:
        draft = self.draft
        if "interface" not in draft.written:
            self.error(self.location, f"vrrp_instance {self.name}: expected an 'interface' line")
        if "virtual_router_id" not in draft.written:
            self.error(
                self.location,
                f"vrrp_instance {self.name}: expected a 'virtual_router_id' line (1..255)",
            )
        family = self.family()
        strict = self.globals.vrrp_strict if draft.strict_mode is None else draft.strict_mode
        version = self.version(family)
        priority = 100 if draft.priority is None else draft.priority
        self.check_addresses(family, version, strict)
        advert_int = self.advert_int(version)
        authentication = self.authentication(version, strict)
        initial_state = self.initial_state(priority, strict)
        nopreempt, preempt_delay = self.preemption(initial_state, priority, strict)
        vmac, vmac_xmit_base = self.vmac()
        lower_prio_no_advert, higher_prio_send_advert = self.master_answers(strict)
        down_timer_adverts = self.down_timer_adverts(strict)
        garp_lower_prio_repeat, garp_lower_prio_delay = self.lower_priority_announcements(strict)
        vmac_address = self.draft.vmac_address
        if not self.valid or draft.interface is None or draft.vrid is None:
            return None
        instance = VrrpInstance(
            name=self.name,
            location=self.location,
            initial_state=initial_state,
            interface=draft.interface,
            vrid=draft.vrid.value,
            priority=priority,
            advert_int=advert_int,
            version=version,
            family=family,
            authentication=authentication,
            vips=tuple(draft.vips),
            excluded_vips=tuple(draft.excluded_vips),
            nopreempt=nopreempt,
            preempt_delay=preempt_delay,
            garp_master_delay=_pick(draft.garp_master_delay, self.globals.garp_master_delay),
            garp_master_repeat=_pick(draft.garp_master_repeat, self.globals.garp_master_repeat),
            garp_master_refresh=_pick(draft.garp_master_refresh, self.globals.garp_master_refresh),
            garp_master_refresh_repeat=_pick(
                draft.garp_master_refresh_repeat, self.globals.garp_master_refresh_repeat
            ),
            unicast_src_ip=draft.unicast_src_ip.value if draft.unicast_src_ip else None,
            unicast_peers=tuple(peer.value for peer in draft.unicast_peers),
            mcast_src_ip=draft.mcast_src_ip.value if draft.mcast_src_ip else None,
            track_interfaces=draft.track_interfaces,
            track_scripts=draft.track_scripts,
            track_files=draft.track_files,
            notify=draft.notify.get("notify"),
            notify_master=draft.notify.get("notify_master"),
            notify_backup=draft.notify.get("notify_backup"),
            notify_fault=draft.notify.get("notify_fault"),
            notify_stop=draft.notify.get("notify_stop"),
            accept=self.accept(version, priority, strict),
            dont_track_primary=draft.dont_track_primary,
            strict_mode=strict,
            skip_check_adv_addr=_pick(draft.skip_check_adv_addr, self.globals.skip_check_adv_addr),
            notify_priority_changes=draft.notify_priority_changes,
            track_processes=draft.track_processes,
            vmac=vmac,
            vmac_xmit_base=vmac_xmit_base,
            vmac_mac=None if vmac_address is None else vmac_address.for_vrid(draft.vrid.value),
            lower_prio_no_advert=lower_prio_no_advert,
            higher_prio_send_advert=higher_prio_send_advert,
            down_timer_adverts=down_timer_adverts,
            virtual_routes=tuple(draft.virtual_routes),
            virtual_rules=tuple(draft.virtual_rules),
            promote_secondaries=self.promote_secondaries(vmac),
            no_peer_fault=self.no_peer_fault(),
            garp_lower_prio_repeat=garp_lower_prio_repeat,
            garp_lower_prio_delay=garp_lower_prio_delay,
        )
        return InstanceReading(
            instance,
            draft.vrid.location,
            draft.script_references,
            draft.file_references,
            draft.process_references,
        )

    def master_answers(self, strict: bool) -> tuple[bool, bool]:
        """`lower_prio_no_advert` and `higher_prio_send_advert`, keepalived's way: unset,
        strict mode decides (no answer to a lower priority, no last advert to a higher one,
        as the RFC), else global_defs; set against strict mode, warned and reset."""
        answers = []
        for located, default, strict_value in (
            (self.draft.lower_prio_no_advert, self.globals.lower_prio_no_advert, True),
            (self.draft.higher_prio_send_advert, self.globals.higher_prio_send_advert, False),
        ):
            value = None if located is None else located.value
            if strict and located is not None and value is not None and value != strict_value:
                keyword = "lower_prio_no_advert" if strict_value else "higher_prio_send_advert"
                self.warning(
                    located.location,
                    f"strict mode needs {keyword} {'on' if strict_value else 'off'}; reset "
                    "(as keepalived)",
                )
                value = strict_value
            if value is None:
                value = strict_value if strict else default
            answers.append(value)
        return answers[0], answers[1]

    def lower_priority_announcements(self, strict: bool) -> tuple[int, float]:
        """`garp_lower_prio_repeat` and `_delay`, keepalived's way: unset, none in strict
        mode, else global_defs' (whose own default is the global garp_master repeat and
        delay); set in strict mode, warned and reset to none."""
        defs = self.globals
        found: list[float] = []
        for keyword, located, default in (
            (
                "garp_lower_prio_repeat",
                self.draft.garp_lower_prio_repeat,
                _pick(defs.garp_lower_prio_repeat, defs.garp_master_repeat),
            ),
            (
                "garp_lower_prio_delay",
                self.draft.garp_lower_prio_delay,
                _pick(defs.garp_lower_prio_delay, defs.garp_master_delay),
            ),
        ):
            value = None if located is None else located.value
            if strict and located is not None and value:
                self.warning(located.location, f"strict mode needs {keyword} 0; reset")
                value = 0
            found.append(_pick(value, 0 if strict else default))
        return int(found[0]), float(found[1])

    def no_peer_fault(self) -> bool:
        """keepalived 2.2.4's `unicast_fault_no_peer`: no peers means FAULT, not multicast."""
        location = self.draft.unicast_fault_no_peer
        if location is None or self.draft.unicast_peers:
            return False
        self.warning(
            location,
            "unicast_fault_no_peer without any unicast_peer: the instance stays in FAULT "
            "(as keepalived)",
        )
        return True

    def promote_secondaries(self, vmac: str | None) -> bool:
        """keepalived's rule: a VMAC has it anyway (havip.net.vmac), so it is dropped there."""
        location = self.draft.promote_secondaries
        if location is not None and vmac is not None:
            self.warning(location, "promote_secondaries is set on VMACs anyway; ignored")
            return False
        return location is not None

    def down_timer_adverts(self, strict: bool) -> int:
        """keepalived's `down_timer_adverts`: any count but the RFC's 3 is reset in strict
        mode."""
        located = self.draft.down_timer_adverts
        value = self.globals.down_timer_adverts
        if located is not None and located.value is not None:
            value = located.value
        if strict and value != DOWN_TIMER_ADVERTS:
            where = self.location if located is None else located.location
            self.warning(
                where,
                f"down_timer_adverts {value} does not work with strict mode; using "
                f"{DOWN_TIMER_ADVERTS} (as keepalived)",
            )
            return DOWN_TIMER_ADVERTS
        return value

    def vmac(self) -> tuple[str | None, bool]:
        """The VMAC interface's name (keepalived's default `vrrp.VRID`) and vmac_xmit_base,
        for either family: the MAC (00:00:5e:00:01:VRID or 00:00:5e:00:02:VRID) follows it."""
        draft = self.draft
        xmit_base = draft.vmac_xmit_base
        if draft.use_vmac is None:
            if xmit_base is not None:
                self.warning(xmit_base.location, "vmac_xmit_base does nothing without use_vmac")
            return None, False
        location = draft.use_vmac.location
        if draft.unicast_peers and xmit_base is None:
            self.error(location, "use_vmac with unicast_peer needs vmac_xmit_base (keepalived)")
        vrid = draft.vrid.value if draft.vrid is not None else 0
        return draft.use_vmac.value or f"vrrp.{vrid}", xmit_base is not None

    def family(self) -> Family:
        """The VIPs' family; without VIPs, that of the configured source or peer addresses."""
        draft = self.draft
        if draft.native_ipv6 is not None:
            if draft.vips and draft.vips[0].interface.version == 4:
                self.error(draft.native_ipv6, "native_ipv6 with IPv4 virtual addresses")
            return Family.IPV6
        if draft.vips:
            return Family(draft.vips[0].interface.version)
        for located in (draft.unicast_src_ip, draft.mcast_src_ip, *draft.unicast_peers):
            if located is not None:
                return Family(located.value.version)
        return Family.IPV4

    def version(self, family: Family) -> int:
        explicit = self.draft.version
        version = self.globals.vrrp_version if explicit is None else explicit.value
        if family == 6 and version == 2:
            if explicit is not None:
                self.warning(
                    explicit.location,
                    "IPv6 needs VRRP version 3 (RFC 5798); using version 3, not 2",
                )
            return 3
        return version

    def check_addresses(self, family: Family, version: int, strict: bool) -> None:
        draft = self.draft
        allowed = draft.no_virtual_ipaddress
        if allowed is not None and strict:
            self.warning(allowed, "no_virtual_ipaddress does not work with strict mode; cleared")
            allowed = None
        if not draft.vip_lines and (version == 3 or strict) and allowed is None:
            reason = "strict mode" if strict else "VRRPv3"
            self.error(
                self.location,
                f"vrrp_instance {self.name}: {reason} needs at least one address in "
                "virtual_ipaddress (or no_virtual_ipaddress, as keepalived: adverts with no "
                "address break RFC 5798, and peers other than keepalived may drop them)",
            )
        if len(draft.vips) > MAX_VIPS:
            self.error(
                draft.vips[MAX_VIPS].location,
                f"at most {MAX_VIPS} virtual addresses fit in an advertisement; move the rest "
                "to virtual_ipaddress_excluded",
            )
        for keyword, located in (
            ("unicast_src_ip", draft.unicast_src_ip),
            ("mcast_src_ip", draft.mcast_src_ip),
            *(("unicast_peer", peer) for peer in draft.unicast_peers),
        ):
            if located is not None and located.value.version != family:
                self.error(
                    located.location,
                    f"{keyword} {located.value} is IPv{located.value.version} but "
                    f"{self.name} is an IPv{family} instance",
                )
        if strict and draft.unicast_peers:
            self.error(
                draft.unicast_peers[0].location,
                f"({self.name}) unicast peers are not allowed in strict mode (vrrp_strict)",
            )

    def advert_int(self, version: int) -> float:
        located = self.draft.advert_int
        if located is None:
            return 1.0
        value = located.value
        if version == 2 and value != value.to_integral_value():
            self.error(
                located.location,
                f"advert_int {value}: VRRPv2 advertises whole seconds; expected 1 to 255 "
                "(use version 3 for sub-second intervals)",
            )
        elif version == 3 and (value > ADVERT_INT_V3[1] or value % ADVERT_INT_V3[0]):
            self.error(
                located.location,
                f"advert_int {value}: VRRPv3 expects 0.01 to 40.95 seconds in steps of 0.01",
            )
        return float(value)

    def authentication(self, version: int, strict: bool) -> Authentication | None:
        draft = self.draft
        if draft.auth_location is None:
            return None
        if draft.auth_type is None:
            if draft.auth_password is not None and not draft.auth_type_written:
                self.warning(
                    draft.auth_location,
                    "auth_pass without auth_type PASS: no authentication is used (as keepalived)",
                )
            return None
        if draft.auth_password is None:
            self.error(draft.auth_location, "authentication: auth_type PASS needs an auth_pass")
            return None
        if version == 3 or strict:
            reason = "VRRP version 3" if version == 3 else "strict mode"
            self.warning(draft.auth_location, f"{reason} has no authentication; ignored")
            return None
        password = draft.auth_password.value.encode()
        if len(password) > AUTH_PASS_MAX:
            self.warning(
                draft.auth_password.location,
                f"auth_pass is longer than {AUTH_PASS_MAX} bytes; only the first "
                f"{AUTH_PASS_MAX} are used (as keepalived)",
            )
        return Authentication("PASS", password[:AUTH_PASS_MAX])

    def initial_state(self, priority: int, strict: bool) -> InitialState | None:
        state = self.draft.initial_state
        if strict and state == "MASTER" and priority != 255:
            self.warning(
                self.location,
                "strict mode allows state MASTER only for the address owner (priority 255); "
                "starting as BACKUP",
            )
            return "BACKUP"
        return state

    def preemption(
        self, state: InitialState | None, priority: int, strict: bool
    ) -> tuple[bool, float]:
        nopreempt = self.draft.nopreempt
        delay = self.draft.preempt_delay
        preempt_off = nopreempt is not None and nopreempt.value
        if nopreempt is not None and preempt_off and priority == 255:
            self.warning(nopreempt.location, "nopreempt does not apply to priority 255; cleared")
            preempt_off = False
        if nopreempt is not None and preempt_off and state == "MASTER":
            self.warning(nopreempt.location, "nopreempt does not work with state MASTER; cleared")
            preempt_off = False
        if delay is None or not delay.value:
            return preempt_off, 0.0
        for reason, applies in (
            ("state MASTER", state == "MASTER"),
            ("nopreempt", preempt_off),
            ("strict mode", strict),
        ):
            if applies:
                self.warning(delay.location, f"preempt_delay does not work with {reason}; cleared")
                return preempt_off, 0.0
        return preempt_off, float(delay.value)

    def accept(self, version: int, priority: int, strict: bool) -> bool:
        """keepalived's default: accept, except in strict mode where only the owner accepts."""
        if self.draft.accept is None:
            return not strict or priority == 255
        if strict and version == 2 and self.draft.accept:
            self.warning(self.location, "accept mode is not part of VRRPv2 in strict mode; cleared")
            return False
        return self.draft.accept


def _pick(value: T | None, default: T) -> T:
    return default if value is None else value
