"""Reach a TCP service inside a lab namespace from the host's loopback.

The routers' /metrics and a lab Prometheus listen inside their namespaces, where nothing on
the machine itself can connect. A `Forwarder` listens on 127.0.0.1 of the machine and relays
each connection to an address inside one namespace, so a browser, curl, `havip status --url`
or the lab's own live view can use them while the lab runs, without any interface, address or
route being added to the machine's own namespace.

The namespace side of each connection is a socket created by a short-lived thread that first
moves itself into the namespace with setns(2): a socket belongs to the namespace it was
created in for its whole life, and only that thread ever changes namespace (the lab's other
threads, and the process, stay where they are).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import selectors
import socket
import threading
from pathlib import Path

CLONE_NEWNET = 0x40000000
NAMED_NAMESPACES = Path("/var/run/netns")
"""Where `ip netns add` mounts the namespaces it names."""
LOOPBACK = "127.0.0.1"
CONNECT_TIMEOUT = 5.0
ACCEPT_POLL = 0.2
"""How often the accept loop looks at its stop flag."""
CHUNK = 65536


def enter_network_namespace(name: str) -> None:
    """Move the calling thread (not the process) into the named network namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(NAMED_NAMESPACES / name, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"setns into network namespace {name}: {os.strerror(code)}")
    finally:
        os.close(fd)


def connect_in_namespace(
    namespace: str, address: tuple[str, int], timeout: float = CONNECT_TIMEOUT
) -> socket.socket:
    """A TCP connection to `address` as seen from inside `namespace`."""
    outcome: list[socket.socket | OSError] = []

    def connect() -> None:
        try:
            enter_network_namespace(namespace)
            outcome.append(socket.create_connection(address, timeout))
        except OSError as error:
            outcome.append(error)

    thread = threading.Thread(target=connect, name=f"connect-in-{namespace}", daemon=True)
    thread.start()
    thread.join()
    result = outcome[0]
    if isinstance(result, OSError):
        raise result
    result.settimeout(None)
    return result


def bind_loopback(preferred_port: int) -> socket.socket:
    """A listening socket on 127.0.0.1: the preferred port, or any free one if it is taken."""
    for port in (preferred_port, 0):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((LOOPBACK, port))
        except OSError as error:
            listener.close()
            if error.errno != errno.EADDRINUSE or port == 0:
                raise
            continue
        listener.listen(16)
        return listener
    raise AssertionError("unreachable: port 0 either binds or raises")


class Forwarder:
    """127.0.0.1:`port` on the machine, relayed to `target` inside `namespace`."""

    def __init__(
        self, namespace: str, target: tuple[str, int], preferred_port: int | None = None
    ) -> None:
        self.namespace = namespace
        self.target = target
        self._listener = bind_loopback(target[1] if preferred_port is None else preferred_port)
        self._listener.settimeout(ACCEPT_POLL)
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._accept_loop, name=f"forward-{self.port}", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def close(self) -> None:
        """Stop accepting and cut every relayed connection (so the namespace can go away)."""
        self._stopping.set()
        self._thread.join()
        self._listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            threading.Thread(
                target=self._relay_connection, args=(client,), name="forward-relay", daemon=True
            ).start()

    def _relay_connection(self, client: socket.socket) -> None:
        with client:
            try:
                inside = connect_in_namespace(self.namespace, self.target)
            except OSError:
                return  # the client sees the connection closed, as if nothing listened
            with inside:
                with self._lock:
                    if self._stopping.is_set():
                        return
                    self._open.update((client, inside))
                try:
                    relay(client, inside)
                finally:
                    with self._lock:
                        self._open.difference_update((client, inside))


def relay(first: socket.socket, second: socket.socket) -> None:
    """Copy bytes both ways until both directions have ended (half-closes are passed on)."""
    peers = {first: second, second: first}
    with selectors.DefaultSelector() as selector:
        for sock in peers:
            selector.register(sock, selectors.EVENT_READ)
        while selector.get_map():
            for key, _ in selector.select():
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                destination = peers[source]
                try:
                    data = source.recv(CHUNK)
                    if data:
                        destination.sendall(data)
                        continue
                    destination.shutdown(socket.SHUT_WR)
                except OSError:
                    return
                selector.unregister(source)
