"""Keywords keepalived knows that havip does not act on, so they warn instead of failing.

The lists follow keepalived 2.2's parsers (core/global_parser.c, vrrp/vrrp_parser.c,
check/check_parser.c, bfd/bfd_parser.c) and keepalived.conf(5). A keyword in none of them and
not handled by havip is a typo or a foreign file, and is an error.
"""

from __future__ import annotations

_LVS = "LVS/IPVS configuration is not VRRP"
_BFD = "BFD configuration is not VRRP"
_STATIC = "static addresses, routes and rules are not managed by havip"
_PROCESS = "it configures the keepalived process, not VRRP"
_NOT_YET = "havip does not implement this keepalived keyword"


def _not_implemented(keywords: set[str]) -> dict[str, str]:
    return dict.fromkeys(keywords, _NOT_YET)


# Top-level sections and options skipped as a whole, with the reason given in the one warning.
SKIPPED_TOP_LEVEL: dict[str, str] = {
    "virtual_server": _LVS,
    "virtual_server_group": _LVS,
    "real_server": _LVS,
    "SSL": _LVS,
    "bfd_instance": _BFD,
    "static_ipaddress": _STATIC,
    "static_routes": _STATIC,
    "static_rules": _STATIC,
    "track_group": _STATIC,
    "net_namespace": _PROCESS,
    "net_namespace_ipvs": _PROCESS,
    "namespace_with_ipsets": _PROCESS,
    "use_pid_dir": _PROCESS,
    "instance": _PROCESS,
    "child_wait_time": _PROCESS,
    "linkbeat_use_polling": _NOT_YET,
    "linkbeat_interfaces": _NOT_YET,
    "interface_up_down_delays": _NOT_YET,
    "garp_group": _NOT_YET,
}

GLOBAL_DEFS_NOT_IMPLEMENTED = _not_implemented(
    {
        "bfd_cpu_affinity", "bfd_no_swap", "bfd_priority", "bfd_process_name",
        "bfd_rlimit_rtime", "bfd_rlimit_rttime", "bfd_rt_priority",
        "checker_cpu_affinity", "checker_log_all_failures", "checker_no_swap",
        "checker_priority", "checker_process_name", "checker_rlimit_rtime",
        "checker_rlimit_rttime", "checker_rt_priority",
        "config_save_dir", "data_use_instance", "dbus_service_name", "default_interface",
        "disable_local_igmp", "dynamic_interfaces", "enable_dbus", "enable_snmp_checker",
        "enable_snmp_keepalived", "enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3",
        "enable_snmp_vrrp", "enable_traps", "fifo_write_vrrp_states_on_reload",
        "include_check", "log_unknown_vrids",
        "lvs_flush", "lvs_flush_on_stop", "lvs_flush_onstop", "lvs_netlink_cmd_rcv_bufs",
        "lvs_netlink_cmd_rcv_bufs_force", "lvs_netlink_monitor_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs_force", "lvs_notify_fifo", "lvs_notify_fifo_script",
        "lvs_process_name", "lvs_sync_daemon", "lvs_timeouts",
        "max_auto_priority", "min_auto_priority_delay",
        "nftables_ifindex", "nftables_ipvs", "nftables_ipvs_priority",
        "nftables_ipvs_start_fwmark",
        "no_checker_emails", "no_email_faults", "notification_email", "notification_email_from",
        "process_monitor_rcv_bufs", "process_monitor_rcv_bufs_force",
        "process_name", "process_names", "random_seed", "reload_check_config", "reload_file",
        "reload_repeat", "reload_time_file", "rs_init_notifies",
        "shutdown_script", "shutdown_script_timeout", "smtp_alert", "smtp_alert_checker",
        "smtp_alert_vrrp", "smtp_connect_timeout", "smtp_helo_name", "smtp_server",
        "snmp_socket", "startup_script", "startup_script_timeout", "tmp_config_directory",
        "umask", "vmac_addr_prefix", "vmac_prefix",
        "vrrp_cpu_affinity",
        "vrrp_garp_extra_if",
        "vrrp_ipsets", "vrrp_iptables",
        "vrrp_netlink_cmd_rcv_bufs",
        "vrrp_netlink_cmd_rcv_bufs_force", "vrrp_netlink_monitor_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs_force", "vrrp_process_name", "vrrp_rx_bufs_multiplier",
        "vrrp_rx_bufs_policy", "vrrp_vmac_garp_intvl",
        # keepalived 2.3's additions
        "dbus_no_interface_name", "iproute_etc_dir", "iproute_usr_dir", "json_dump_file",
        "json_version", "set_supplementary_groups", "snmp_rs_stats_update_interval",
        "snmp_vs_stats_update_interval", "state_dump_file", "stats_dump_file",
        "use_symlink_paths", "vrrp_owner_ignore_adverts",
    }
)  # fmt: skip

INSTANCE_NOT_IMPLEMENTED = _not_implemented(
    {
        "debug", "garp_extra_if",
        "kernel_rx_buf_size", "linkbeat_use_polling", "lvs_sync_daemon_interface",
        "notify_deleted", "notify_master_rx_lower_pri",
        "owner_ignore_adverts", "smtp_alert", "thread_timer_expired",
        "timer_expired_backup", "track_bfd", "track_src_ip",
        "vmac_garp_intvl",
    }
)  # fmt: skip

# What havip refuses in a vrrp_instance: run without, the router would put something else on
# the wire than its keepalived peers expect, or forward differently as master.
INSTANCE_REFUSED: dict[str, str] = {
    "mcast_dst_ip": "adverts to another multicast group per instance are not implemented by "
    "havip, and peers listening there would never hear it; vrrp_mcast_group4/6 in "
    "global_defs set the group for every instance",
    "old_unicast_checksum": "keepalived's pre-1.3.6 unicast checksum is not implemented by "
    "havip; the peers that need it would drop havip's adverts",
    "v3_checksum_as_v2": "per instance it is not implemented by havip; write v3_checksum_as_v2 "
    "in global_defs, which havip applies to every instance",
    "use_ipvlan": "VIPs on an ipvlan interface are not implemented by havip",
    "use_vmac_addr": "VMACs for VIPs on other interfaces are not implemented by havip; those "
    "VIPs would move with their interface's own MAC, not a virtual one",
    "vrf": "VRRP inside a VRF is not implemented by havip",
}

SYNC_GROUP_NOT_IMPLEMENTED = _not_implemented(
    {
        "global_tracking", "notify_deleted", "smtp_alert",
        "sync_group_tracking_weight", "track_bfd",
    }
)  # fmt: skip

# Options after the address on a virtual_ipaddress line that havip does not apply.
VIRTUAL_ADDRESS_OPTIONS_NOT_IMPLEMENTED = frozenset(
    {
        "-nodad", "autojoin", "home", "mngtmpaddr", "no_track", "noprefixroute", "peer",
        "preferred_lft", "track_group",
    }
)  # fmt: skip

# Options there that havip refuses, as INSTANCE_REFUSED.
VIRTUAL_ADDRESS_OPTIONS_REFUSED: dict[str, str] = {
    "use_vmac": "a VMAC for one VIP is not implemented by havip; that VIP would move with its "
    "interface's own MAC, not a virtual one (use_vmac on the instance puts all its VIPs on "
    "one)",
}

# Of those, the ones followed by a value (so the value is not read as another option).
VIRTUAL_ADDRESS_OPTIONS_WITH_VALUE = frozenset({"peer", "preferred_lft", "track_group"})
