"""Notify scripts, notify FIFOs and the rules for running scripts safely."""
