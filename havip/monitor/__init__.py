"""`havip monitor`: a passive observer of every VRRP group on a segment."""
