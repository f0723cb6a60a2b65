"""HTTP basic auth against the bcrypt hashes of `--web.config.file`, without stalling the agent.

bcrypt is slow on purpose (about 70 ms at cost 10), so a check runs in a worker thread, one at a
time, and a successful (user, hash, password) is remembered, as exporter-toolkit does, so a
Prometheus scraping every few seconds pays the cost once. Only successes are cached, so wrong
guesses cannot grow the cache, and an unknown user costs a bcrypt check too, so the answer's
timing does not tell which user names exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import OrderedDict

import bcrypt
import trio

CACHE_SIZE = 64
_UNKNOWN_USER_HASH = b"$2b$10$MEyCjDUr13sAubs1dYo4BuuWjo.iytq5qQIRGfwFg066CKlF6PCYy"
"""A cost-10 hash of a fixed string: what an unknown user's password is checked against."""


def parse_basic(header: bytes | None) -> tuple[bytes, bytes] | None:
    """(user, password) from an `Authorization: Basic ...` value, or None."""
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    return (user, password) if colon else None


class BasicAuth:
    """Decides whether a request's Authorization header names a configured user."""

    def __init__(self) -> None:
        self._accepted: OrderedDict[bytes, None] = OrderedDict()
        self._limiter = trio.CapacityLimiter(1)

    async def allows(self, users: dict[str, bytes], header: bytes | None) -> bool:
        """True if no users are configured, or the header's password matches its user's hash."""
        if not users:
            return True
        credentials = parse_basic(header)
        if credentials is None:
            return False
        user, password = credentials
        hashed = users.get(user.decode("utf-8", "replace"))
        key = hashlib.sha256(b"\0".join((user, hashed or b"", password))).digest()
        if hashed is not None and key in self._accepted:
            self._accepted.move_to_end(key)
            return True
        ok = await trio.to_thread.run_sync(
            _check, password, hashed or _UNKNOWN_USER_HASH, limiter=self._limiter
        )
        if ok and hashed is not None:
            self._accepted[key] = None
            if len(self._accepted) > CACHE_SIZE:
                self._accepted.popitem(last=False)
        return ok and hashed is not None


def _check(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:
        return False
