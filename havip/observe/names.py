"""Every metric name havip exports, with its type and labels: the one list all users share.

The metrics module registers these, the dashboard generator queries them and the tests of the
alert rules and dashboards check every PromQL selector against them. A name that exists only in
a dashboard draws an empty panel without any error, and a name that exists only in an alert
never fires; keeping the names here turns such a typo into a failing test instead.

Label values for `state`, transition `reason` and rejected-packet `reason` are the enum values
of havip.proto.model (State, Reason, RejectReason), not repeated here.

`job` and `instance` are absent from every label list: Prometheus adds them at scrape time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """The Prometheus metric type, which decides the series names a metric is exported as."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


HISTOGRAM_SERIES_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True, slots=True)
class Metric:
    """One exported metric: its full name as scraped (counters end in `_total`), type and labels."""

    name: str
    kind: Kind
    labels: tuple[str, ...]
    help: str

    @property
    def series_names(self) -> tuple[str, ...]:
        """The names that appear in a scrape: a histogram is its _bucket, _sum and _count."""
        if self.kind is Kind.HISTOGRAM:
            return tuple(self.name + suffix for suffix in HISTOGRAM_SERIES_SUFFIXES)
        return (self.name,)


_INSTANCE = ("vrrp_instance",)

VRRP_INSTANCE_INFO = Metric(
    "havip_vrrp_instance_info",
    Kind.GAUGE,
    ("vrrp_instance", "vrid", "interface", "family", "version", "vips"),
    "Always 1; the labels say which VRRP group an instance belongs to (vips: sorted, "
    "comma-separated), so that routers are grouped by vrid+family+vips across the fleet.",
)
VRRP_STATE = Metric(
    "havip_vrrp_state",
    Kind.GAUGE,
    ("vrrp_instance", "state"),
    "1 for the current VRRP state of the instance, 0 for every other state.",
)
VRRP_PRIORITY = Metric(
    "havip_vrrp_priority", Kind.GAUGE, _INSTANCE, "Configured (base) VRRP priority."
)
VRRP_EFFECTIVE_PRIORITY = Metric(
    "havip_vrrp_effective_priority",
    Kind.GAUGE,
    _INSTANCE,
    "Priority advertised now: the base priority adjusted by tracked scripts and interfaces.",
)
VRRP_MASTER_PRIORITY = Metric(
    "havip_vrrp_master_priority",
    Kind.GAUGE,
    _INSTANCE,
    "Priority of the current master, as advertised by it.",
)
VRRP_ADVERT_INTERVAL = Metric(
    "havip_vrrp_advert_interval_seconds",
    Kind.GAUGE,
    _INSTANCE,
    "Configured advertisement interval.",
)
VRRP_MASTER_ADVERT_INTERVAL = Metric(
    "havip_vrrp_master_advert_interval_seconds",
    Kind.GAUGE,
    _INSTANCE,
    "Advertisement interval of the current master (VRRPv3 backups adopt it).",
)
VRRP_MASTER_DOWN_INTERVAL = Metric(
    "havip_vrrp_master_down_interval_seconds",
    Kind.GAUGE,
    _INSTANCE,
    "Silence after which a backup declares the master dead: 3 intervals plus skew time.",
)
VRRP_ADVERTS_SENT = Metric(
    "havip_vrrp_adverts_sent_total", Kind.COUNTER, _INSTANCE, "Advertisements sent."
)
VRRP_ADVERTS_RECEIVED = Metric(
    "havip_vrrp_adverts_received_total",
    Kind.COUNTER,
    _INSTANCE,
    "Valid advertisements received for this instance.",
)
VRRP_PRIORITY_ZERO_SENT = Metric(
    "havip_vrrp_priority_zero_sent_total",
    Kind.COUNTER,
    _INSTANCE,
    "Priority-0 advertisements sent (the master releasing the VIPs on purpose).",
)
VRRP_PRIORITY_ZERO_RECEIVED = Metric(
    "havip_vrrp_priority_zero_received_total",
    Kind.COUNTER,
    _INSTANCE,
    "Priority-0 advertisements received from a releasing master.",
)
VRRP_AUTH_FAILURES = Metric(
    "havip_vrrp_auth_failures_total",
    Kind.COUNTER,
    ("vrrp_instance", "reason"),
    "Advertisements that failed authentication; reason: invalid_type, type_mismatch, password.",
)
VRRP_PACKETS_REJECTED = Metric(
    "havip_vrrp_packets_rejected_total",
    Kind.COUNTER,
    ("vrrp_instance", "interface", "reason"),
    "Received VRRP packets dropped, by reason; vrrp_instance is empty when none matched.",
)
VRRP_ADVERT_ANOMALIES = Metric(
    "havip_vrrp_advert_anomalies_total",
    Kind.COUNTER,
    ("vrrp_instance", "anomaly"),
    "Advertisements accepted despite a deviation keepalived also tolerates; anomaly: "
    "address_list (other VIPs than ours), trailing_bytes (e.g. keepalived 2.4 auth_hmac).",
)
VRRP_TRANSITIONS = Metric(
    "havip_vrrp_transitions_total",
    Kind.COUNTER,
    ("vrrp_instance", "from_state", "to_state", "reason"),
    "State transitions by from/to state and the reason that caused them.",
)
VRRP_MASTER_CONFLICTS = Metric(
    "havip_vrrp_master_conflicts_total",
    Kind.COUNTER,
    _INSTANCE,
    "Advertisements from another master received while this instance was master.",
)
VRRP_LAST_TRANSITION_TIMESTAMP = Metric(
    "havip_vrrp_last_transition_timestamp_seconds",
    Kind.GAUGE,
    _INSTANCE,
    "Unix time of the instance's last state transition.",
)
VRRP_PEERS = Metric(
    "havip_vrrp_peers",
    Kind.GAUGE,
    _INSTANCE,
    "Other routers heard for this instance within the last master-down interval.",
)
VRRP_FAILOVER_DURATION = Metric(
    "havip_vrrp_failover_duration_seconds",
    Kind.HISTOGRAM,
    _INSTANCE,
    "From the old master's last advertisement heard to the VIPs installed and announced here; "
    "exemplars carry the trace_id of the transition span.",
)
VRRP_TAKEOVER_DURATION = Metric(
    "havip_vrrp_takeover_duration_seconds",
    Kind.HISTOGRAM,
    (),
    "havip's own share of a failover, any instance: from deciding to become master to VIPs "
    "announced.",
)
VIP_CHANGES = Metric(
    "havip_vip_changes_total",
    Kind.COUNTER,
    ("vrrp_instance", "op"),
    "Virtual addresses added to or removed from interfaces; op: add, remove.",
)
VIP_CHANGE_FAILURES = Metric(
    "havip_vip_change_failures_total",
    Kind.COUNTER,
    ("vrrp_instance", "op"),
    "Virtual address changes the kernel refused; op: add, remove.",
)
ANNOUNCEMENTS_SENT = Metric(
    "havip_announcements_sent_total",
    Kind.COUNTER,
    ("vrrp_instance", "kind"),
    "Gratuitous ARP and unsolicited neighbour advertisements sent; kind: garp, na.",
)
TRACK_SCRIPT_UP = Metric(
    "havip_track_script_up",
    Kind.GAUGE,
    ("script",),
    "1 while the tracked script's last result was success.",
)
TRACK_SCRIPT_RUNS = Metric(
    "havip_track_script_runs_total",
    Kind.COUNTER,
    ("script", "result"),
    "Tracked script runs by result.",
)
TRACK_SCRIPT_DURATION = Metric(
    "havip_track_script_duration_seconds",
    Kind.HISTOGRAM,
    ("script",),
    "How long tracked script runs take.",
)
TRACK_PROCESS_UP = Metric(
    "havip_track_process_up",
    Kind.GAUGE,
    ("process",),
    "1 while the tracked process runs in quorum (vrrp_track_process).",
)
TRACK_INTERFACE_UP = Metric(
    "havip_track_interface_up",
    Kind.GAUGE,
    ("interface",),
    "1 while the tracked interface is up.",
)
NOTIFY_RUNS = Metric(
    "havip_notify_runs_total",
    Kind.COUNTER,
    ("vrrp_instance", "result"),
    "Notify script runs by result.",
)
BUILD_INFO = Metric(
    "havip_build_info", Kind.GAUGE, ("version",), "Always 1; the havip version running."
)

HAVIP_METRICS: tuple[Metric, ...] = (
    VRRP_INSTANCE_INFO,
    VRRP_STATE,
    VRRP_PRIORITY,
    VRRP_EFFECTIVE_PRIORITY,
    VRRP_MASTER_PRIORITY,
    VRRP_ADVERT_INTERVAL,
    VRRP_MASTER_ADVERT_INTERVAL,
    VRRP_MASTER_DOWN_INTERVAL,
    VRRP_ADVERTS_SENT,
    VRRP_ADVERTS_RECEIVED,
    VRRP_PRIORITY_ZERO_SENT,
    VRRP_PRIORITY_ZERO_RECEIVED,
    VRRP_AUTH_FAILURES,
    VRRP_PACKETS_REJECTED,
    VRRP_ADVERT_ANOMALIES,
    VRRP_TRANSITIONS,
    VRRP_MASTER_CONFLICTS,
    VRRP_LAST_TRANSITION_TIMESTAMP,
    VRRP_PEERS,
    VRRP_FAILOVER_DURATION,
    VRRP_TAKEOVER_DURATION,
    VIP_CHANGES,
    VIP_CHANGE_FAILURES,
    ANNOUNCEMENTS_SENT,
    TRACK_SCRIPT_UP,
    TRACK_SCRIPT_RUNS,
    TRACK_SCRIPT_DURATION,
    TRACK_PROCESS_UP,
    TRACK_INTERFACE_UP,
    NOTIFY_RUNS,
    BUILD_INFO,
)

# --- havip monitor: every VRRP group on a segment, as a passive observer hears it -----------

_GROUP = ("interface", "family", "vrid")

MONITOR_MASTER_PRIORITY = Metric(
    "havip_monitor_master_priority",
    Kind.GAUGE,
    _GROUP,
    "Priority the group's master advertises; 0 while the group is silent.",
)
MONITOR_MASTER_ADVERT_INTERVAL = Metric(
    "havip_monitor_master_advert_interval_seconds",
    Kind.GAUGE,
    _GROUP,
    "Advertisement interval of the group's master (the last one, while silent).",
)
MONITOR_MASTER_VERSION = Metric(
    "havip_monitor_master_version", Kind.GAUGE, _GROUP, "VRRP version the master speaks: 2 or 3."
)
MONITOR_MASTER_AUTH_TYPE = Metric(
    "havip_monitor_master_auth_type",
    Kind.GAUGE,
    _GROUP,
    "Authentication type in the master's adverts: 0 none, 1 PASS (VRRPv2 only).",
)
MONITOR_MASTER_CHECKSUM_PSEUDO_HEADER = Metric(
    "havip_monitor_master_checksum_pseudo_header",
    Kind.GAUGE,
    _GROUP,
    "1 when the master's checksum includes the IP pseudo-header (VRRPv3), 0 when it covers "
    "the message alone (VRRPv2, or VRRPv3 over IPv4 in the message-only form).",
)
MONITOR_MASTER_ADDRESSES = Metric(
    "havip_monitor_master_addresses",
    Kind.GAUGE,
    _GROUP,
    "Number of virtual addresses in the master's adverts.",
)
MONITOR_MASTER_ADDRESS_LIST_HASH = Metric(
    "havip_monitor_master_address_list_hash",
    Kind.GAUGE,
    _GROUP,
    "A 32-bit hash of the master's address list as a set: equal lists, equal hashes.",
)
MONITOR_MASTER_SINCE = Metric(
    "havip_monitor_master_since_timestamp_seconds",
    Kind.GAUGE,
    _GROUP,
    "Unix time the current master (or the silence) began, as the monitor saw it.",
)
MONITOR_LAST_ADVERT = Metric(
    "havip_monitor_last_advert_timestamp_seconds",
    Kind.GAUGE,
    _GROUP,
    "Unix time of the last advertisement heard in the group, from any speaker.",
)
MONITOR_SPEAKERS = Metric(
    "havip_monitor_speakers",
    Kind.GAUGE,
    _GROUP,
    "Speakers (source address and MAC) heard in the group within the retention window.",
)
MONITOR_MASTERS = Metric(
    "havip_monitor_masters",
    Kind.GAUGE,
    _GROUP,
    "Speakers claiming to be master now (advertising within their master-down interval and not"
    " outranked by a later one); above 1 is a split brain.",
)
MONITOR_SILENT = Metric(
    "havip_monitor_silent",
    Kind.GAUGE,
    _GROUP,
    "1 while a group that was heard has no advertising master.",
)
MONITOR_DISAGREEMENT = Metric(
    "havip_monitor_disagreement",
    Kind.GAUGE,
    (*_GROUP, "field"),
    "1 while the group's speakers differ on field: interval, version, auth_type, password, "
    "address_list, checksum_form.",
)
MONITOR_ADVERTS = Metric(
    "havip_monitor_adverts_total",
    Kind.COUNTER,
    (*_GROUP, "priority_class"),
    "Advertisements heard, by priority class: zero (release), owner (255), other.",
)
MONITOR_PRIORITY_ZERO_HANDOFFS = Metric(
    "havip_monitor_priority_zero_handoffs_total",
    Kind.COUNTER,
    _GROUP,
    "Times the group's master left with a priority-0 advertisement.",
)
MONITOR_FAILOVER_DURATION = Metric(
    "havip_monitor_failover_duration_seconds",
    Kind.HISTOGRAM,
    _GROUP,
    "Changes of master: from the old master's last advertisement to the new one's first.",
)
MONITOR_PACKETS_MALFORMED = Metric(
    "havip_monitor_packets_malformed_total",
    Kind.COUNTER,
    ("interface", "reason"),
    "Captured VRRP packets that are not valid advertisements, by reason.",
)
MONITOR_EVICTIONS = Metric(
    "havip_monitor_evictions_total",
    Kind.COUNTER,
    ("interface", "kind"),
    "Entries a full table dropped to make room (kind: speaker, group): a flood of sources.",
)

MONITOR_METRICS: tuple[Metric, ...] = (
    MONITOR_MASTER_PRIORITY,
    MONITOR_MASTER_ADVERT_INTERVAL,
    MONITOR_MASTER_VERSION,
    MONITOR_MASTER_AUTH_TYPE,
    MONITOR_MASTER_CHECKSUM_PSEUDO_HEADER,
    MONITOR_MASTER_ADDRESSES,
    MONITOR_MASTER_ADDRESS_LIST_HASH,
    MONITOR_MASTER_SINCE,
    MONITOR_LAST_ADVERT,
    MONITOR_SPEAKERS,
    MONITOR_MASTERS,
    MONITOR_SILENT,
    MONITOR_DISAGREEMENT,
    MONITOR_ADVERTS,
    MONITOR_PRIORITY_ZERO_HANDOFFS,
    MONITOR_FAILOVER_DURATION,
    MONITOR_PACKETS_MALFORMED,
    MONITOR_EVICTIONS,
)

# prometheus_client's process collector exports these on Linux; dashboards may use them too.
PROCESS_CPU_SECONDS = Metric("process_cpu_seconds_total", Kind.COUNTER, (), "CPU time used.")
PROCESS_RESIDENT_MEMORY = Metric(
    "process_resident_memory_bytes", Kind.GAUGE, (), "Resident memory."
)
PROCESS_VIRTUAL_MEMORY = Metric("process_virtual_memory_bytes", Kind.GAUGE, (), "Virtual memory.")
PROCESS_START_TIME = Metric(
    "process_start_time_seconds", Kind.GAUGE, (), "Unix time the process started."
)
PROCESS_OPEN_FDS = Metric("process_open_fds", Kind.GAUGE, (), "Open file descriptors.")
PROCESS_MAX_FDS = Metric("process_max_fds", Kind.GAUGE, (), "File descriptor limit.")

PROCESS_METRICS: tuple[Metric, ...] = (
    PROCESS_CPU_SECONDS,
    PROCESS_RESIDENT_MEMORY,
    PROCESS_VIRTUAL_MEMORY,
    PROCESS_START_TIME,
    PROCESS_OPEN_FDS,
    PROCESS_MAX_FDS,
)

EXPORTED_METRICS: tuple[Metric, ...] = HAVIP_METRICS + MONITOR_METRICS + PROCESS_METRICS


def metric_for_series(series_name: str) -> Metric | None:
    """The exported metric a scraped series name belongs to (`x_bucket` -> histogram `x`)."""
    for metric in EXPORTED_METRICS:
        if series_name in metric.series_names:
            return metric
    return None
