"""use_vmac / vmac_xmit_base: the VMAC name (keepalived's default vrrp.VRID), where the VIPs go,
and every form havip refuses, with its line."""

from __future__ import annotations

from collections.abc import Callable

from havip.config import LoadedConfig
from havip.supervisor import vip_specs

Load = Callable[[str], LoadedConfig]
Errors = Callable[[str], list[tuple[int, str]]]


def _instance(body: str, vips: str = "192.0.2.10/24") -> str:
    return (
        "vrrp_instance VI_1 {\n"
        "    interface eth0\n"
        "    virtual_router_id 51\n"
        f"{body}"
        f"    virtual_ipaddress {{\n        {vips}\n        192.0.2.11/24 dev eth1\n    }}\n"
        "}\n"
    )


def test_use_vmac_defaults_to_vrrp_vrid_and_carries_the_vips(load_text: Load) -> None:
    config = load_text(_instance("    use_vmac\n    vmac_xmit_base\n"))
    instance = config.instances[0]
    assert (instance.vmac, instance.vmac_xmit_base) == ("vrrp.51", True)
    # a VIP with its own dev stays there, as in keepalived
    assert [spec.device for spec in vip_specs(instance)] == ["vrrp.51", "eth1"]


def test_use_vmac_takes_an_interface_name(load_text: Load) -> None:
    config = load_text(_instance("    use_vmac vmac51\n    vmac_xmit_base\n"))
    assert config.instances[0].vmac == "vmac51"


def test_without_use_vmac_the_vips_stay_on_the_interface(load_text: Load) -> None:
    config = load_text(_instance("    vmac_xmit_base\n"))
    assert config.instances[0].vmac is None
    assert [spec.device for spec in vip_specs(config.instances[0])] == ["eth0", "eth1"]
    assert [(w.location.line, w.message) for w in config.warnings] == [
        (4, "(VI_1) vmac_xmit_base does nothing without use_vmac")
    ]


def test_adverts_from_the_vmac_are_the_default(load_text: Load) -> None:
    assert load_text(_instance("    use_vmac\n")).instances[0].vmac_xmit_base is False


def test_unicast_needs_vmac_xmit_base(errors_of: Errors) -> None:
    body = "    use_vmac\n    unicast_peer {\n        192.0.2.2\n    }\n"
    assert errors_of(_instance(body)) == [
        (4, "use_vmac with unicast_peer needs vmac_xmit_base (keepalived)")
    ]


def test_a_mac_address_argument_is_refused(errors_of: Errors) -> None:
    message = (
        "use_vmac: a MAC address argument is not supported; havip uses the RFC's virtual MAC"
        " 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6)"
    )
    assert errors_of(_instance("    use_vmac vmac51 00:00:5e:00:01:33\n")) == [(4, message)]
    assert errors_of(_instance("    use_vmac 00:00:5e:00:01\n")) == [(4, message)]


def test_a_bad_vmac_name_is_refused(errors_of: Errors) -> None:
    assert errors_of(_instance("    use_vmac a_name_much_too_long\n    vmac_xmit_base\n")) == [
        (4, "use_vmac: interface name 'a_name_much_too_long' is longer than 15 characters")
    ]


def test_an_ipv6_instance_puts_its_vips_on_the_vmac(load_text: Load) -> None:
    text = _instance("    use_vmac\n", vips="2001:db8::10/64")
    text = text.replace("        192.0.2.11/24 dev eth1\n", "")
    instance = load_text(text).instances[0]
    assert (instance.family, instance.vmac, instance.vmac_xmit_base) == (6, "vrrp.51", False)
    assert [spec.device for spec in vip_specs(instance)] == ["vrrp.51"]
