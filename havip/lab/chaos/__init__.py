"""Chaos runs on a 3-router lab: seeded faults, and the invariants checked after every heal.

Shared by the short CI profile (tests/chaos) and the long one (bench/chaos.py): `plan` draws
the fault sequence from a seed, `faults` injects and heals them in a lab, `invariants` holds
the pure checks, and `runner` drives one run and counts violations by kind.
"""
