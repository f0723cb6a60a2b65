"""Tracked scripts and files: what they report, and how that moves VRRP priorities."""
