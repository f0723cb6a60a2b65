"""keepalived options that change what a router puts on the wire: read with keepalived's
defaults and strict-mode rules, or refused by name when havip does not implement them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from havip.config import LoadedConfig, VrrpInstance
from havip.supervisor import settings_for

Load = Callable[[str], LoadedConfig]
Errors = Callable[[str], list[tuple[int, str]]]

VIPS = "    virtual_ipaddress {\n        192.0.2.10\n    }\n"
STRICT = "global_defs {\n    vrrp_strict\n}\n"


def _conf(body: str = "", head: str = "", vips: str = VIPS) -> str:
    return (
        f"{head}vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n"
        f"{body}{vips}}}\n"
    )


def _one(load: Load, text: str) -> VrrpInstance:
    [instance] = load(text).instances
    return instance


def _warnings(config: LoadedConfig) -> list[tuple[int, str]]:
    return [(w.location.line, w.message) for w in config.warnings]


def test_a_master_answers_lower_priorities_unless_told_not_to(load_text: Load) -> None:
    default = _one(load_text, _conf())
    assert (default.lower_prio_no_advert, default.higher_prio_send_advert) == (False, False)
    told = _one(load_text, _conf("    lower_prio_no_advert\n    higher_prio_send_advert on\n"))
    assert (told.lower_prio_no_advert, told.higher_prio_send_advert) == (True, True)


def test_global_defaults_apply_where_the_instance_is_silent(load_text: Load) -> None:
    head = (
        "global_defs {\n    vrrp_lower_prio_no_advert\n    vrrp_higher_prio_send_advert true\n"
        "    vrrp_down_timer_adverts 5\n}\n"
    )
    inherited = _one(load_text, _conf(head=head))
    assert inherited.lower_prio_no_advert and inherited.higher_prio_send_advert
    assert inherited.down_timer_adverts == 5
    overridden = _one(
        load_text,
        _conf("    lower_prio_no_advert off\n    down_timer_adverts 2\n", head=head),
    )
    assert not overridden.lower_prio_no_advert and overridden.down_timer_adverts == 2


def test_strict_mode_never_answers_a_lower_priority(load_text: Load) -> None:
    silent = _one(load_text, _conf(head=STRICT))
    assert (silent.lower_prio_no_advert, silent.higher_prio_send_advert) == (True, False)
    assert silent.down_timer_adverts == 3


def test_strict_mode_resets_what_contradicts_it_with_a_warning(load_text: Load) -> None:
    body = "    lower_prio_no_advert false\n    higher_prio_send_advert\n    down_timer_adverts 4\n"
    config = load_text(_conf(body, head=STRICT))
    [instance] = config.instances
    assert (instance.lower_prio_no_advert, instance.higher_prio_send_advert) == (True, False)
    assert instance.down_timer_adverts == 3
    assert [line for line, _ in _warnings(config)] == [7, 8, 9]
    assert "strict mode needs lower_prio_no_advert on" in _warnings(config)[0][1]
    assert "down_timer_adverts 4 does not work with strict mode" in _warnings(config)[2][1]


def test_down_timer_adverts_outside_1_to_100_is_an_error(errors_of: Errors) -> None:
    [(line, message)] = errors_of(_conf("    down_timer_adverts 101\n"))
    assert line == 4 and "down_timer_adverts" in message and "101" in message


def test_check_unicast_src_is_what_havip_always_does(load_text: Load) -> None:
    config = load_text(
        _conf(
            "    check_unicast_src\n    unicast_peer {\n        192.0.2.2\n    }\n",
            head="global_defs {\n    vrrp_check_unicast_src\n}\n",
        )
    )
    assert not _warnings(config)


def test_v3_checksum_as_v2_is_the_message_only_checksum(load_text: Load) -> None:
    config = load_text(_conf(head="global_defs {\n    v3_checksum_as_v2\n}\n"))
    assert config.global_defs.v3_checksum_mode == "message_only"


def test_unicast_ttl_255_is_havip_s_own(load_text: Load, errors_of: Errors) -> None:
    assert not _warnings(load_text(_conf("    unicast_ttl 255\n")))
    [(line, message)] = errors_of(_conf("    unicast_ttl 64\n"))
    assert line == 4 and message.startswith("unicast_ttl 64: havip sends every advert with TTL 255")


def test_native_ipv6_is_an_ipv6_instance_and_refuses_ipv4_vips(
    load_text: Load, errors_of: Errors
) -> None:
    vips = "    virtual_ipaddress {\n        2001:db8::10\n    }\n"
    ipv6 = _one(load_text, _conf("    native_ipv6\n", vips=vips))
    assert (ipv6.family, ipv6.version) == (6, 3)
    [(line, message)] = errors_of(_conf("    native_ipv6\n"))
    assert line == 4 and message == "native_ipv6 with IPv4 virtual addresses"


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("mcast_dst_ip 224.0.0.19", "adverts to another multicast group"),
        ("old_unicast_checksum", "pre-1.3.6 unicast checksum"),
        ("v3_checksum_as_v2", "write v3_checksum_as_v2 in global_defs"),
        ("use_ipvlan ipvl0 192.0.2.5/24", "ipvlan"),
        ("use_vmac_addr", "VMACs for VIPs on other interfaces"),
        ("vrf blue", "VRF"),
    ],
)
def test_an_option_that_would_change_the_wire_is_refused_by_name(
    errors_of: Errors, line: str, fragment: str
) -> None:
    [(at, message)] = errors_of(_conf(f"    {line}\n"))
    keyword = line.split()[0]
    assert at == 4
    assert message.startswith(f"{keyword} (vrrp_instance VI_1): ") and fragment in message


def test_use_vmac_on_one_vip_is_refused_by_name(errors_of: Errors) -> None:
    vips = "    virtual_ipaddress {\n        192.0.2.10 dev eth1 use_vmac\n    }\n"
    [(line, message)] = errors_of(_conf(vips=vips))
    assert line == 5 and message.startswith("virtual address option 'use_vmac': a VMAC for one")


def test_the_options_reach_the_protocol_core(load_text: Load) -> None:
    body = "    lower_prio_no_advert\n    higher_prio_send_advert\n    down_timer_adverts 7\n"
    settings = settings_for(_one(load_text, _conf(body)), skip_check_adv_addr=False)
    assert (settings.answer_lower_priority, settings.answer_higher_priority) == (False, True)
    assert settings.down_timer_adverts == 7
    strict = settings_for(_one(load_text, _conf(head=STRICT)), skip_check_adv_addr=False)
    assert (strict.answer_lower_priority, strict.answer_higher_priority) == (False, False)
    default = settings_for(_one(load_text, _conf()), skip_check_adv_addr=False)
    assert (default.answer_lower_priority, default.down_timer_adverts) == (True, 3)
    assert (default.garp_lower_prio_repeat, default.garp_lower_prio_delay) == (5, 5.0)


def test_promote_secondaries_is_read_and_dropped_with_a_vmac(load_text: Load) -> None:
    assert _one(load_text, _conf("    promote_secondaries\n")).promote_secondaries
    config = load_text(_conf("    promote_secondaries\n    use_vmac\n"))
    assert not config.instances[0].promote_secondaries
    assert [w.location.line for w in config.warnings] == [4]


def test_lower_priority_announcements_default_to_the_global_garp_settings(
    load_text: Load,
) -> None:
    default = _one(load_text, _conf())
    assert (default.garp_lower_prio_repeat, default.garp_lower_prio_delay) == (5, 5.0)
    head = "global_defs {\n    vrrp_garp_master_repeat 2\n    vrrp_garp_master_delay 1\n}\n"
    follows = _one(load_text, _conf(head=head))
    assert (follows.garp_lower_prio_repeat, follows.garp_lower_prio_delay) == (2, 1.0)
    head = "global_defs {\n    vrrp_garp_lower_prio_repeat 3\n    vrrp_garp_lower_prio_delay 0\n}\n"
    own = _one(load_text, _conf("    garp_lower_prio_repeat 1\n", head=head))
    assert (own.garp_lower_prio_repeat, own.garp_lower_prio_delay) == (1, 0.0)
    minimal = _one(load_text, _conf(head="global_defs {\n    vrrp_min_garp\n}\n"))
    assert (minimal.garp_lower_prio_repeat, minimal.garp_lower_prio_delay) == (1, 0.0)


def test_strict_mode_sends_no_lower_priority_announcements(load_text: Load) -> None:
    silent = _one(load_text, _conf(head=STRICT))
    assert (silent.garp_lower_prio_repeat, silent.garp_lower_prio_delay) == (0, 0.0)
    config = load_text(_conf("    garp_lower_prio_repeat 2\n", head=STRICT))
    assert config.instances[0].garp_lower_prio_repeat == 0
    assert [m for _, m in _warnings(config)] == [
        "(VI_1) strict mode needs garp_lower_prio_repeat 0; reset"
    ]


def test_no_virtual_ipaddress_allows_a_vrrpv3_instance_without_vips(
    load_text: Load, errors_of: Errors
) -> None:
    bare = _one(load_text, _conf("    version 3\n    no_virtual_ipaddress\n", vips=""))
    assert (bare.version, bare.vips) == (3, ())
    errors = errors_of(_conf("    no_virtual_ipaddress\n", head=STRICT, vips=""))
    assert [line for line, _ in errors] == [4]
    assert "strict mode needs at least one address in virtual_ipaddress" in errors[0][1]


def test_unicast_fault_no_peer_without_peers_is_a_fault_not_multicast(load_text: Load) -> None:
    config = load_text(_conf("    unicast_fault_no_peer\n"))
    assert config.instances[0].no_peer_fault
    assert [m for _, m in _warnings(config)] == [
        "(VI_1) unicast_fault_no_peer without any unicast_peer: the instance stays in FAULT "
        "(as keepalived)"
    ]
    peers = "    unicast_fault_no_peer\n    unicast_peer {\n        192.0.2.2\n    }\n"
    assert not _one(load_text, _conf(peers)).no_peer_fault
