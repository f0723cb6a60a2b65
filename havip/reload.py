"""What a reload does to each instance, decided from the old and the new configuration alone.

keepalived's rule, which operators rely on: reloading to change a priority or add a VIP must not
fail over. An instance is identified by its (interface, family, VRID), the key the group knows
it by on the wire; with the same key and name it is changed in place, whatever else differs.
Only a new key (or a new name for a key) is a new instance, and only a key that is gone, or
whose multicast group moved, is stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

from havip.config.model import GlobalDefs, LoadedConfig
from havip.config.model import VrrpInstance as InstanceConfig
from havip.proto.model import Family

InstanceKey = tuple[str, Family, int]


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    unchanged: tuple[InstanceConfig, ...]
    changed: tuple[tuple[InstanceConfig, InstanceConfig], ...]
    """(running, new) pairs to reconfigure in place."""
    removed: tuple[InstanceConfig, ...]
    added: tuple[InstanceConfig, ...]


def instance_key(config: InstanceConfig) -> InstanceKey:
    return (config.interface, config.family, config.vrid)


def plan_reload(old: LoadedConfig, new: LoadedConfig) -> ReloadPlan:
    """Sort every instance of `old` and `new` into unchanged, changed, removed and added."""
    running = {instance_key(c): c for c in old.instances}
    moved = _moved_groups(old.global_defs, new.global_defs)
    same_globals = _instance_globals(old.global_defs) == _instance_globals(new.global_defs)
    unchanged: list[InstanceConfig] = []
    changed: list[tuple[InstanceConfig, InstanceConfig]] = []
    added: list[InstanceConfig] = []
    kept: set[InstanceKey] = set()
    for config in new.instances:
        key = instance_key(config)
        current = running.get(key)
        if current is None or current.name != config.name or config.family in moved:
            added.append(config)
            continue
        kept.add(key)
        if current == config and same_globals:
            unchanged.append(config)
        else:
            changed.append((current, config))
    removed = tuple(c for key, c in running.items() if key not in kept)
    return ReloadPlan(tuple(unchanged), tuple(changed), removed, tuple(added))


def _instance_globals(defs: GlobalDefs) -> tuple[object, ...]:
    """The global_defs that reach a running instance beyond its own settled config."""
    return (defs.skip_check_adv_addr, defs.v3_checksum_mode)


def _moved_groups(old: GlobalDefs, new: GlobalDefs) -> set[Family]:
    """Families whose multicast group changed: their sockets, hence instances, start anew."""
    moved = set()
    if old.mcast_group4 != new.mcast_group4:
        moved.add(Family.IPV4)
    if old.mcast_group6 != new.mcast_group6:
        moved.add(Family.IPV6)
    return moved
