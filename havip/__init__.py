"""havip: a VRRP agent that reads keepalived.conf and is built to be watched."""

__version__ = "0.1.0"
