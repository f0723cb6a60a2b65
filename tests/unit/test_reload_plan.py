"""Which instances a reload leaves alone, changes in place, stops or starts (pure)."""

from __future__ import annotations

from pathlib import Path

from havip.config import LoadedConfig, load_config
from havip.lab.configs import RouterSpec, keepalived_conf
from havip.reload import plan_reload


def loaded(tmp_path: Path, *specs: RouterSpec, name: str = "a.conf") -> LoadedConfig:
    path = tmp_path / name
    path.write_text(keepalived_conf(*specs))
    return load_config(path)


def names(configs: tuple[object, ...]) -> list[str]:
    return [c.name for c in configs]


def test_same_key_and_name_is_changed_in_place_whatever_else_differs(tmp_path: Path) -> None:
    old = loaded(
        tmp_path, RouterSpec(priority=150), RouterSpec(priority=100, instance="VI_2", vrid=52)
    )
    new = loaded(
        tmp_path,
        RouterSpec(priority=120, vips=("192.0.2.100/24", "192.0.2.101/24"), advert_int=2.0),
        RouterSpec(priority=100, instance="VI_2", vrid=52),
        name="b.conf",
    )
    plan = plan_reload(old, new)
    assert [(a.name, b.priority) for a, b in plan.changed] == [("VI_1", 120)]
    assert names(plan.unchanged) == ["VI_2"]
    assert plan.removed == () and plan.added == ()


def test_a_new_key_or_name_is_a_new_instance(tmp_path: Path) -> None:
    old = loaded(
        tmp_path, RouterSpec(priority=150), RouterSpec(priority=100, instance="VI_2", vrid=52)
    )
    new = loaded(
        tmp_path,
        RouterSpec(priority=150, vrid=53),
        RouterSpec(priority=100, instance="VI_RENAMED", vrid=52),
        name="b.conf",
    )
    plan = plan_reload(old, new)
    assert sorted(names(plan.removed)) == ["VI_1", "VI_2"]
    assert sorted(names(plan.added)) == ["VI_1", "VI_RENAMED"]
    assert plan.changed == () and plan.unchanged == ()


def test_a_moved_multicast_group_restarts_its_family(tmp_path: Path) -> None:
    old = loaded(tmp_path, RouterSpec(priority=150))
    new = loaded(
        tmp_path,
        RouterSpec(priority=150, global_extra=("vrrp_mcast_group4 224.0.0.19",)),
        name="b.conf",
    )
    plan = plan_reload(old, new)
    assert names(plan.removed) == ["VI_1"] and names(plan.added) == ["VI_1"]


def test_a_global_that_reaches_instances_changes_them_in_place(tmp_path: Path) -> None:
    old = loaded(tmp_path, RouterSpec(priority=150))
    new = loaded(
        tmp_path,
        RouterSpec(priority=150, global_extra=("vrrp_skip_check_adv_addr",)),
        name="b.conf",
    )
    plan = plan_reload(old, new)
    assert [a.name for a, _b in plan.changed] == ["VI_1"]
