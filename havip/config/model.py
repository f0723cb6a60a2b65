"""What a keepalived.conf means for havip: frozen values, compared by value.

On reload the agent compares old and new instances with `==` to tell which changed, so every
`location` field is excluded from comparison: moving a block down a file changes nothing.
Times are seconds as floats; all defaults are keepalived's (see keepalived.conf(5)).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
)
from typing import Literal

from havip.config.diagnostics import Diagnostic, Location
from havip.proto.model import Family

IPAddress = IPv4Address | IPv6Address
IPInterface = IPv4Interface | IPv6Interface
IPNetwork = IPv4Network | IPv6Network
RouteType = Literal["unicast", "blackhole", "unreachable", "prohibit", "throw"]
InitialState = Literal["MASTER", "BACKUP"]
ChecksumModeName = Literal["pseudo_header", "message_only"]
ParamMatch = Literal["none", "exact", "partial", "initial"]
"""How a vrrp_track_process compares the arguments of a command line (keepalived's)."""

VRRP_MCAST_GROUP4 = IPv4Address("224.0.0.18")
VRRP_MCAST_GROUP6 = IPv6Address("ff02::12")


@dataclass(frozen=True, slots=True)
class VirtualAddress:
    """One line of virtual_ipaddress(_excluded); `interface` carries the prefix (/32 if none)."""

    interface: IPInterface
    device: str | None
    label: str | None
    scope: str | None
    broadcast: IPv4Address | None
    location: Location = field(compare=False)


@dataclass(frozen=True, slots=True)
class VirtualRoute:
    """One line of virtual_routes: a route the master adds and removes, as `ip route` would.

    `table` is the kernel's number (main is 254); `scope` a name or None for the kernel's
    default; `kind` the route type (a `unicast` route needs `via` or `device`)."""

    destination: IPNetwork
    via: IPAddress | None = None
    device: str | None = None
    source: IPAddress | None = None
    table: int | None = None
    metric: int | None = None
    scope: str | None = None
    kind: RouteType = "unicast"
    onlink: bool = False
    location: Location | None = field(default=None, compare=False)

    def __str__(self) -> str:
        """As `ip route` prints it, for logs."""
        words: list[str] = [] if self.kind == "unicast" else [self.kind]
        words.append("default" if self.destination.prefixlen == 0 else str(self.destination))
        for name, value in (
            ("via", self.via),
            ("dev", self.device),
            ("src", self.source),
            ("table", self.table),
            ("metric", self.metric),
            ("scope", self.scope),
        ):
            if value is not None:
                words += [name, str(value)]
        if self.onlink:
            words.append("onlink")
        return " ".join(words)


RuleAction = Literal["table", "blackhole", "unreachable", "prohibit"]


@dataclass(frozen=True, slots=True)
class VirtualRule:
    """One line of virtual_rules: a policy rule the master adds and removes, as `ip rule`.

    `source` and `destination` are None for `all`; `table` is the kernel's number (main,
    254, when the line names none and its action is a lookup)."""

    family: Family
    source: IPNetwork | None = None
    destination: IPNetwork | None = None
    table: int | None = None
    priority: int | None = None
    in_interface: str | None = None
    out_interface: str | None = None
    fwmark: int | None = None
    fwmask: int | None = None
    action: RuleAction = "table"
    location: Location | None = field(default=None, compare=False)

    def __str__(self) -> str:
        """As `ip rule` prints it (less the priority's place), for logs."""
        words = ["from", "all" if self.source is None else str(self.source)]
        if self.destination is not None:
            words += ["to", str(self.destination)]
        if self.fwmark is not None:
            mark = f"{self.fwmark:#x}" + ("" if self.fwmask is None else f"/{self.fwmask:#x}")
            words += ["fwmark", mark]
        for name, value in (("iif", self.in_interface), ("oif", self.out_interface)):
            if value is not None:
                words += [name, value]
        words += ["lookup", str(self.table)] if self.action == "table" else [self.action]
        if self.priority is not None:
            words += ["priority", str(self.priority)]
        return " ".join(words)


@dataclass(frozen=True, slots=True)
class Authentication:
    """VRRPv2 simple-text authentication; the password is at most 8 bytes, as on the wire."""

    auth_type: Literal["PASS"]
    password: bytes


@dataclass(frozen=True, slots=True)
class TrackedInterface:
    """Weight 0 means a down interface puts the instance in FAULT; else it moves the priority."""

    name: str
    weight: int
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class TrackedScript:
    """`weight`/`reverse` None mean: use the vrrp_script's own weight/reverse."""

    name: str
    weight: int | None
    reverse: bool | None = None


@dataclass(frozen=True, slots=True)
class TrackedFile:
    """`weight`/`reverse` None mean: use the track_file's own weight/reverse."""

    name: str
    weight: int | None
    reverse: bool | None = None


@dataclass(frozen=True, slots=True)
class TrackedProcess:
    """`weight`/`reverse` None mean: use the vrrp_track_process's own weight/reverse."""

    name: str
    weight: int | None
    reverse: bool | None = None


@dataclass(frozen=True, slots=True)
class VrrpTrackProcess:
    """A `vrrp_track_process`: up while quorum..quorum_max processes match (None: no maximum).

    `params` are the words after the name in `process`; `param_match` is none, exact, partial
    or initial; `full_command` matches argv[0] of the command line instead of the name."""

    name: str
    process: str
    params: tuple[str, ...] | None
    param_match: ParamMatch
    full_command: bool
    weight: int
    reverse: bool
    quorum: int
    quorum_max: int | None
    fork_delay: float
    terminate_delay: float
    location: Location = field(compare=False)


@dataclass(frozen=True, slots=True)
class VrrpScript:
    """A `vrrp_script`: `script` is a command line to split with shlex; timeout None = interval."""

    name: str
    script: str
    interval: float
    timeout: float | None
    weight: int
    reverse: bool
    rise: int
    fall: int
    user: str | None
    group: str | None
    init_fail: bool
    location: Location = field(compare=False)


@dataclass(frozen=True, slots=True)
class TrackFile:
    """A `track_file` (or `vrrp_track_file`): a file holding a number that moves priorities.

    `init_file` is the value to write when the file is missing (None: do not create it);
    `init_overwrite` writes it even when the file exists.
    """

    name: str
    path: str
    weight: int
    reverse: bool
    init_file: int | None
    init_overwrite: bool
    location: Location = field(compare=False)


@dataclass(frozen=True, slots=True)
class VrrpInstance:
    name: str
    location: Location = field(compare=False)
    initial_state: InitialState | None
    interface: str
    vrid: int
    priority: int
    advert_int: float
    version: int
    family: Family
    authentication: Authentication | None
    vips: tuple[VirtualAddress, ...]
    excluded_vips: tuple[VirtualAddress, ...]
    nopreempt: bool
    preempt_delay: float
    garp_master_delay: float
    garp_master_repeat: int
    garp_master_refresh: float
    garp_master_refresh_repeat: int
    unicast_src_ip: IPAddress | None
    unicast_peers: tuple[IPAddress, ...]
    mcast_src_ip: IPAddress | None
    track_interfaces: tuple[TrackedInterface, ...]
    track_scripts: tuple[TrackedScript, ...]
    track_files: tuple[TrackedFile, ...]
    notify: str | None
    notify_master: str | None
    notify_backup: str | None
    notify_fault: str | None
    notify_stop: str | None
    accept: bool
    dont_track_primary: bool
    strict_mode: bool
    skip_check_adv_addr: bool
    notify_priority_changes: bool | None = None
    """MASTER_PRIORITY / BACKUP_PRIORITY FIFO lines; None: the sync group's, else global."""
    track_processes: tuple[TrackedProcess, ...] = ()
    vmac: str | None = None
    """use_vmac: the macvlan carrying the virtual MAC that holds the VIPs; None: no VMAC."""
    vmac_xmit_base: bool = False
    """Adverts go out (and come in) on `interface` rather than on the VMAC."""
    vmac_mac: bytes | None = None
    """use_vmac's MAC argument: the VMAC's MAC instead of the RFC's virtual MAC; None: the
    RFC's (00:00:5e:00:01:VRID, 00:00:5e:00:02:VRID for IPv6)."""
    lower_prio_no_advert: bool = False
    """A master does not answer a lower-priority advert (always so in strict mode)."""
    higher_prio_send_advert: bool = False
    """A master sends one advert before a higher-priority one overthrows it."""
    down_timer_adverts: int = 3
    """The master's intervals a backup waits (plus Skew_Time) before it takes over."""
    virtual_routes: tuple[VirtualRoute, ...] = ()
    """Routes the master adds after its VIPs, and removes before them."""
    virtual_rules: tuple[VirtualRule, ...] = ()
    """Policy rules the master adds after its routes, and removes before them."""
    promote_secondaries: bool = False
    """Set net.ipv4.conf.INTERFACE.promote_secondaries while havip runs."""
    no_peer_fault: bool = False
    """`unicast_fault_no_peer` without any `unicast_peer`: the instance stays in FAULT."""
    garp_lower_prio_repeat: int = 0
    """Gratuitous ARPs / NAs per VIP when a master hears a lower-priority master (0: none)."""
    garp_lower_prio_delay: float = 0.0
    """...and again this long after (0: no second round)."""


@dataclass(frozen=True, slots=True)
class SyncGroup:
    name: str
    members: tuple[str, ...]
    notify: str | None
    notify_master: str | None
    notify_backup: str | None
    notify_fault: str | None
    notify_stop: str | None
    track_interfaces: tuple[TrackedInterface, ...]
    track_scripts: tuple[TrackedScript, ...]
    track_files: tuple[TrackedFile, ...]
    location: Location = field(compare=False)
    notify_priority_changes: bool | None = None
    track_processes: tuple[TrackedProcess, ...] = ()


@dataclass(frozen=True, slots=True)
class NotifyFifoConfig:
    """`notify_fifo PATH [USER [GROUP]]` (or `vrrp_notify_fifo`) with its `notify_fifo_script
    COMMAND [USER [GROUP]]`: the owner is given to a FIFO havip creates (default: the default
    script user, as keepalived); the script, run with PATH appended, reads the lines."""

    path: str
    user: str | None = None
    group: str | None = None
    script: str | None = None
    script_user: str | None = None
    script_group: str | None = None


@dataclass(frozen=True, slots=True)
class GlobalDefs:
    """`global_defs`, VRRP part. `v3_checksum_mode` comes from the havip-only keyword
    `havip_vrrp_v3_checksum message_only|pseudo_header` (keepalived warns and ignores it)."""

    router_id: str | None = None
    vrrp_version: int = 2
    mcast_group4: IPv4Address = VRRP_MCAST_GROUP4
    mcast_group6: IPv6Address = VRRP_MCAST_GROUP6
    garp_master_delay: float = 5.0
    garp_master_repeat: int = 5
    garp_master_refresh: float = 0.0
    garp_master_refresh_repeat: int = 1
    garp_interval: float = 0.0
    gna_interval: float = 0.0
    startup_delay: float = 0.0
    delay_after_boot: float = 0.0
    """`vrrp_delay_after_boot`: hold instances until this long after the machine booted."""
    vrrp_strict: bool = False
    skip_check_adv_addr: bool = False
    enable_script_security: bool = False
    script_user: str | None = None
    script_group: str | None = None
    notify_fifo: NotifyFifoConfig | None = None
    vrrp_notify_fifo: NotifyFifoConfig | None = None
    notify_priority_changes: bool = False
    nftables: str | None = None
    """`nftables [TABLE]`: the table for no_accept drop rules (None: `keepalived` if needed)."""
    nftables_priority: int = -1
    nftables_counters: bool = False
    v3_checksum_mode: ChecksumModeName = "pseudo_header"
    process_priority: int | None = None
    """`vrrp_priority`: the nice value of the agent's loop, -20 (highest) to 19."""
    realtime_priority: int | None = None
    """`vrrp_rt_priority`: run the loop SCHED_RR at this priority, 1 to 99."""
    rlimit_rttime: int | None = None
    """`vrrp_rlimit_rttime`: real-time CPU microseconds between blocking calls (RLIMIT_RTTIME)."""
    no_swap: bool = False
    """`vrrp_no_swap`: lock the agent's memory (mlockall), so a page fault cannot stall it."""
    lower_prio_no_advert: bool = False
    """`vrrp_lower_prio_no_advert`: the instances' default for `lower_prio_no_advert`."""
    higher_prio_send_advert: bool = False
    """`vrrp_higher_prio_send_advert`: the default for `higher_prio_send_advert`."""
    down_timer_adverts: int = 3
    """`vrrp_down_timer_adverts`: the default for `down_timer_adverts`, 1 to 100."""
    garp_lower_prio_repeat: int | None = None
    """`vrrp_garp_lower_prio_repeat`; None: `vrrp_garp_master_repeat`'s value, as keepalived."""
    garp_lower_prio_delay: float | None = None
    """`vrrp_garp_lower_prio_delay`; None: `vrrp_garp_master_delay`'s value, as keepalived."""


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """Everything havip needs from a configuration, plus the warnings and the files read."""

    global_defs: GlobalDefs
    instances: tuple[VrrpInstance, ...]
    scripts: Mapping[str, VrrpScript]
    track_files: Mapping[str, TrackFile]
    sync_groups: tuple[SyncGroup, ...]
    warnings: tuple[Diagnostic, ...] = field(compare=False)
    files: tuple[str, ...] = field(compare=False)
    track_processes: Mapping[str, VrrpTrackProcess] = field(default_factory=dict)
