"""VRRP timer arithmetic (RFC 3768 section 6.1, RFC 5798/9568 section 6.1), in seconds.

Pure functions so the state machine, /status and the metrics compute the same numbers.
VRRPv2 skew is a fraction of a second regardless of the interval; VRRPv3 scales the skew by
the master's advertisement interval, which is what keeps fast-timer groups (10 ms) stable.
"""

from __future__ import annotations

from functools import lru_cache

CENTISECOND = 0.01


def skew_time(version: int, priority: int, master_interval_cs: int) -> float:
    """Skew_Time: how much later a lower-priority backup declares the master down."""
    if version == 2:
        return (256 - priority) / 256.0
    return (256 - priority) * master_interval_cs / 256.0 * CENTISECOND


DOWN_TIMER_ADVERTS = 3
"""The RFC's Master_Down_Interval counts three missed adverts (keepalived's default)."""


@lru_cache(maxsize=1024)
def master_down_interval(
    version: int, priority: int, master_interval_cs: int, adverts: int = DOWN_TIMER_ADVERTS
) -> float:
    """Master_Down_Interval: `adverts` (3 in the RFC; keepalived's `down_timer_adverts`)
    times the master's interval, plus Skew_Time (cached: a backup computes it for every
    advert it hears, from a handful of distinct arguments)."""
    return adverts * master_interval_cs * CENTISECOND + skew_time(
        version, priority, master_interval_cs
    )


def hinted_master_down_interval(version: int, master_interval_cs: int) -> float:
    """The first down timer of an instance configured `state MASTER` (keepalived 2.2).

    keepalived starts such an instance in BACKUP with one interval plus the smallest skew, so
    it claims the group quickly when nobody is there but still yields to a live master.
    """
    return master_interval_cs * CENTISECOND + skew_time(version, 255, master_interval_cs)
