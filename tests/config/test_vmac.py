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


def test_a_mac_address_argument_gives_the_vmac_its_mac(load_text: Load) -> None:
    """keepalived 2.2: name and MAC in either order; five octets take the VRID as the sixth."""
    for body, name, mac in (
        ("use_vmac vmac51 02:00:5e:10:00:01", "vmac51", "02:00:5e:10:00:01"),
        ("use_vmac 02:00:5E:10:0:1 vmac51", "vmac51", "02:00:5e:10:00:01"),
        ("use_vmac 02:00:5e:10:00", "vrrp.51", "02:00:5e:10:00:33"),
        ("use_vmac 02:00:5e:10:00:", "vrrp.51", "02:00:5e:10:00:33"),
    ):
        instance = load_text(_instance(f"    {body}\n")).instances[0]
        assert instance.vmac == name, body
        assert instance.vmac_mac == bytes.fromhex(mac.replace(":", "")), body


def test_without_a_mac_argument_the_vmac_has_the_rfc_mac(load_text: Load) -> None:
    assert load_text(_instance("    use_vmac\n")).instances[0].vmac_mac is None


def test_a_bad_mac_address_argument_is_refused(errors_of: Errors) -> None:
    not_a_mac = (
        " is not a MAC address (six octets such as 02:00:5e:10:00:01, or five followed by the VRID)"
    )
    for argument, problem in (
        ("02:00:5e:10", f"'02:00:5e:10'{not_a_mac}"),
        ("02:00:5e:10:00:01:02", f"'02:00:5e:10:00:01:02'{not_a_mac}"),
        ("02:00:5e:100:00:01", f"'02:00:5e:100:00:01'{not_a_mac}"),
        ("02:00:5g:10:00:01", f"'02:00:5g:10:00:01'{not_a_mac}"),
        ("01:00:5e:10:00:01", "'01:00:5e:10:00:01' is a multicast MAC address"),
        (
            "00:00:5e:00:01:33",
            "'00:00:5e:00:01:33' is in the RFC 5798 virtual MAC range; leave the address out"
            " to use the RFC's virtual MAC",
        ),
        (
            "00:00:5e:00:02",
            "'00:00:5e:00:02' is in the RFC 5798 virtual MAC range; leave the address out"
            " to use the RFC's virtual MAC",
        ),
    ):
        assert errors_of(_instance(f"    use_vmac {argument}\n")) == [
            (4, f"use_vmac: {problem}")
        ], argument


def test_use_vmac_takes_one_name_and_one_mac(errors_of: Errors) -> None:
    assert errors_of(_instance("    use_vmac a b\n")) == [
        (4, "use_vmac: an interface name given twice")
    ]
    assert errors_of(_instance("    use_vmac 02:00:5e:10:00:01 02:00:5e:10:00:02\n")) == [
        (4, "use_vmac: a MAC address given twice")
    ]
    assert errors_of(_instance("    use_vmac a 02:00:5e:10:00:01 c\n")) == [
        (4, "use_vmac: expected at most an interface name and a MAC address")
    ]


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
