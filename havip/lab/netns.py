"""Several hosts on one machine: network namespaces joined by a bridge (iproute2).

Used by the tests and by `havip lab`. Every namespace gets a unique prefix, the bridge lives
in its own "switch" namespace, and nothing is ever created in or changed on the machine's
own namespace; `close()` (also on error, as a context manager) removes every namespace and
every process started in them. Addresses must come from the documentation ranges.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_interface
from types import TracebackType

DOCUMENTATION_NETWORKS = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
_counter = iter(range(1, 1 << 30))
_counter_lock = threading.Lock()


class LabError(RuntimeError):
    """The lab could not be built (missing privilege or tool, or a failing command)."""


def netns_unavailable_reason() -> str | None:
    """Why network namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "iproute2 (the ip command) is not installed"
    probe = f"hvprobe{os.getpid()}"
    created = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if created.returncode != 0:
        return f"cannot create a network namespace: {created.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _check_documentation_address(address: str) -> None:
    from ipaddress import ip_network

    interface = ip_interface(address)
    if not any(interface.ip in ip_network(n) for n in DOCUMENTATION_NETWORKS):
        raise LabError(f"{address} is outside the documentation ranges {DOCUMENTATION_NETWORKS}")


def run(args: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise LabError(f"{' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")
    return result


@dataclass
class Host:
    """A namespace with one interface, eth0, plugged into the lab's switch."""

    name: str
    namespace: str
    port: str
    addresses: tuple[str, ...]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def exec(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(["ip", "netns", "exec", self.namespace, *args], check=check)

    def popen(self, args: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # type: ignore[call-overload]
            ["ip", "netns", "exec", self.namespace, *args], start_new_session=True, **kwargs
        )
        self.processes.append(process)
        return process  # type: ignore[no-any-return]

    def addresses_on(self, interface: str = "eth0") -> set[str]:
        """The addresses (without prefix) currently on an interface of this host."""
        out = self.exec("ip", "-o", "addr", "show", "dev", interface).stdout
        found = set()
        for line in out.splitlines():
            words = line.split()
            if len(words) > 3 and words[2] in ("inet", "inet6"):
                found.add(words[3].split("/")[0])
        return found


class Lab:
    """A switch namespace with a bridge and any number of hosts on it."""

    def __init__(self, prefix: str = "hv") -> None:
        with _counter_lock:
            serial = next(_counter)
        self.prefix = f"{prefix}{os.getpid() % 10000}x{serial}"
        self.switch = f"{self.prefix}-sw"
        self.hosts: dict[str, Host] = {}
        self._namespaces: list[str] = []
        self._create_namespace(self.switch)
        self._switch_exec("ip", "link", "add", "br0", "type", "bridge")
        self._switch_exec("ip", "link", "set", "br0", "up")

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _create_namespace(self, name: str) -> None:
        run(["ip", "netns", "add", name])
        self._namespaces.append(name)
        run(["ip", "-n", name, "link", "set", "lo", "up"])

    def _switch_exec(self, *args: str) -> None:
        run(["ip", "netns", "exec", self.switch, *args])

    def add_host(self, name: str, *addresses: str) -> Host:
        """A host `name` with eth0 on the switch and the given addresses (with prefix)."""
        for address in addresses:
            _check_documentation_address(address)
        namespace = f"{self.prefix}-{name}"
        self._create_namespace(namespace)
        port = f"p{len(self.hosts)}{name}"[:15]
        run(
            [
                "ip",
                "-n",
                self.switch,
                "link",
                "add",
                port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                namespace,
            ]
        )
        self._switch_exec("ip", "link", "set", port, "master", "br0")
        self._switch_exec("ip", "link", "set", port, "up")
        host = Host(name, namespace, port, addresses)
        # DAD would hold IPv6 addresses tentative for a second; the lab has no duplicates.
        for key in ("all", "default"):
            host.exec("sysctl", "-q", "-w", f"net.ipv6.conf.{key}.accept_dad=0")
        host.exec("sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_dad=0")
        host.exec("ip", "link", "set", "eth0", "up")
        for address in addresses:
            host.exec("ip", "addr", "add", address, "dev", "eth0")
        self.hosts[name] = host
        return host

    def wait_link_local(self, timeout: float = 5.0) -> None:
        """Wait until every host's eth0 has a usable IPv6 link-local address."""
        deadline = time.monotonic() + timeout
        for host in self.hosts.values():
            while time.monotonic() < deadline:
                out = host.exec(
                    "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"
                ).stdout
                if out and "tentative" not in out:
                    break
                time.sleep(0.02)

    def cut(self, name: str) -> None:
        """Take a host's link down at the switch: its eth0 loses carrier."""
        self._switch_exec("ip", "link", "set", self.hosts[name].port, "down")

    def restore(self, name: str) -> None:
        self._switch_exec("ip", "link", "set", self.hosts[name].port, "up")

    def isolate(self, name: str, isolated: bool = True) -> None:
        """Bridge port isolation: isolated hosts stop hearing each other, not the others."""
        state = "on" if isolated else "off"
        self._switch_exec("bridge", "link", "set", "dev", self.hosts[name].port, "isolated", state)

    def close(self) -> None:
        """Stop every process started in the lab and remove every namespace it created."""
        for host in self.hosts.values():
            for process in host.processes:
                _terminate(process)
        for namespace in reversed(self._namespaces):
            _kill_namespace_processes(namespace)
            run(["ip", "netns", "del", namespace], check=False)
        self._namespaces.clear()


def _terminate(process: subprocess.Popen[bytes], grace: float = 2.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _kill_namespace_processes(namespace: str) -> None:
    """Anything still running inside the namespace (e.g. a daemonised keepalived) is killed."""
    pids = run(["ip", "netns", "pids", namespace], check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


@contextlib.contextmanager
def lab(prefix: str = "hv") -> Iterator[Lab]:
    built = Lab(prefix)
    try:
        yield built
    finally:
        built.close()
