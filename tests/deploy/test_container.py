"""deploy/container/Containerfile, built for real with podman and run.

No image registry is reachable here, so the base image is made locally: `mmdebstrap` builds a
Debian bookworm with Python 3.11 (what python:3.11-slim-bookworm is) from Debian's mirror, and
`podman import` turns the tarball into the image the Containerfile's BASE argument names.
The tarball is cached in /var/cache/havip-test (HAVIP_TEST_CACHE), keyed by what goes into
it, so reruns skip the bootstrap (about two minutes on a bare machine); podman keeps the
imported base and the build's layers in its own store.

Then the image runs `havip --version`, `havip check` on a keepalived example config, and one
router of a namespace lab: the container joins the router's network namespace, becomes master
over a havip router outside any container, in no_accept mode (so keepalived's nftables drop
rules, through libnftables in the image), and hands over with a priority-0 advert when
`podman stop` sends SIGTERM.

What this machine needs, and why the commands look the way they do:
- `--runtime runc`: crun (podman's default on Debian) refuses hybrid cgroup hierarchies
  ("cgroups in hybrid mode not supported"), which some CI machines have; runc runs on both.
- `--ulimit nofile=... --ulimit nproc=...`: podman raises both limits for root by default,
  which fails where the process lacks CAP_SYS_RESOURCE; these values are below any hard limit.
- `--network none|host|ns:...`: podman's default network would add a bridge and firewall
  rules to the machine's own namespace, which the tests never touch.
- `--volume /etc/ssl/certs:/etc/ssl/certs:ro` while building: pip in the build fetches the
  dependencies from PyPI, and the machine may reach it only through a proxy whose CA the
  machine trusts but a fresh Debian does not; the image itself is left as built.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import havip
from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Host, Lab, netns_unavailable_reason
from havip.lab.processes import METRICS_PORT, start_havip, wait_for

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPO / "deploy" / "container" / "Containerfile"
EXAMPLE_CONFIG = REPO / "tests" / "config" / "examples" / "keepalived.conf.vrrp"
CACHE = Path(os.environ.get("HAVIP_TEST_CACHE", "/var/cache/havip-test"))
MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-pip", "python-is-python3", "ca-certificates")
BASE_HOOKS = (
    # As in the python images, `pip install` installs into the image's Python: the base has no
    # other Python programs for it to break.
    'rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',
    'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
)
IMAGE = "localhost/havip-test:latest"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
"""Debian's bundle of the CAs this machine trusts; Debian's pip in the base reads the same."""
PODMAN = ("podman", "--runtime", "runc")
LIMITS = ("--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096")
BOOTSTRAP_TIMEOUT = 600
BUILD_TIMEOUT = 600
RUN_TIMEOUT = 60
VIP = "192.0.2.100"
CONFIG_IN_IMAGE = "/etc/keepalived/keepalived.conf"
_FETCH = (
    "import sys, urllib.request; "
    "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
)


def missing() -> str | None:
    """What this machine lacks to build and run the image, None when it has everything."""
    if os.geteuid() != 0:
        return "building and running the image here needs root"
    for tool, package in (("podman", "podman"), ("runc", "runc"), ("mmdebstrap", "mmdebstrap")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package {package}; scripts/setup)"
    return None


pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))


def run(*args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def podman(*args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return run(*PODMAN, *args, timeout=timeout)


def base_key() -> str:
    """Names the base by everything that goes into it, so a change makes a new one."""
    recipe = json.dumps([MIRROR, SUITE, BASE_PACKAGES, BASE_HOOKS])
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def base_tarball() -> Path:
    """The cached bootstrap, made now if it is not there yet."""
    tarball = CACHE / f"base-{SUITE}-{base_key()}.tar"
    if tarball.exists():
        return tarball
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_suffix(f".{os.getpid()}.partial.tar")
    hooks = [f"--customize-hook={hook}" for hook in BASE_HOOKS]
    made = run(
        "mmdebstrap",
        "--variant=minbase",
        f"--include={','.join(BASE_PACKAGES)}",
        *hooks,
        SUITE,
        str(partial),
        MIRROR,
        timeout=BOOTSTRAP_TIMEOUT,
    )
    if made.returncode != 0:
        partial.unlink(missing_ok=True)
        pytest.fail(f"mmdebstrap failed:\n{made.stderr[-3000:]}")
    partial.rename(tarball)  # atomic: a concurrent or interrupted run never sees half a file
    return tarball


def base_image() -> str:
    """The bootstrap as a podman image (imported once; podman's store keeps it)."""
    name = f"localhost/havip-test-base:{base_key()}"
    if podman("image", "exists", name).returncode != 0:
        imported = podman("import", str(base_tarball()), name, timeout=BUILD_TIMEOUT)
        assert imported.returncode == 0, imported.stderr
    return name


def machine_certificates() -> tuple[str, ...]:
    """The build's RUN steps see the CAs this machine trusts (read-only), if it has any."""
    if not Path(CA_BUNDLE).exists():
        return ()
    return ("--volume", f"{Path(CA_BUNDLE).parent}:{Path(CA_BUNDLE).parent}:ro")


@pytest.fixture(scope="module")
def image() -> str:
    """deploy/container/Containerfile built from the repository root, as its README says."""
    started = time.monotonic()
    base = base_image()
    based = time.monotonic()
    built = podman(
        "build",
        "--network",
        "host",
        *LIMITS,
        "--format",
        "docker",
        *machine_certificates(),
        "--build-arg",
        f"BASE={base}",
        "--file",
        str(CONTAINERFILE),
        "--tag",
        IMAGE,
        str(REPO),
        timeout=BUILD_TIMEOUT,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    done = time.monotonic()
    print(f"base image {based - started:.1f} s, image build {done - based:.1f} s")
    return IMAGE


def run_image(image: str, *args: str, network: str = "none") -> subprocess.CompletedProcess[str]:
    return podman("run", "--rm", "--network", network, *LIMITS, "--no-healthcheck", image, *args)


def test_the_image_runs_havip_of_this_checkout(image: str) -> None:
    result = run_image(image, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"havip {havip.__version__}"
    config = json.loads(podman("image", "inspect", image).stdout)[0]["Config"]
    assert config["Entrypoint"] == ["havip"]
    assert config["Cmd"] == ["run", "-f", CONFIG_IN_IMAGE]


def test_havip_check_in_the_image_reads_a_keepalived_config(image: str) -> None:
    mounted = ("--volume", f"{EXAMPLE_CONFIG}:{CONFIG_IN_IMAGE}:ro")
    outside = run(sys.executable, "-m", "havip", "check", "-f", str(EXAMPLE_CONFIG))
    inside = podman(
        "run", "--rm", "--network", "none", *LIMITS, "--no-healthcheck", *mounted,
        image, "check", "-f", CONFIG_IN_IMAGE,
    )  # fmt: skip
    assert inside.returncode == outside.returncode == 0, inside.stdout + inside.stderr
    assert inside.stdout.replace(CONFIG_IN_IMAGE, str(EXAMPLE_CONFIG)) == outside.stdout


@pytest.fixture
def lab() -> Iterator[Lab]:
    reason = netns_unavailable_reason()
    if reason is not None:
        pytest.skip(f"this machine cannot run namespace labs: {reason}")
    with Lab("hvd") as built:
        yield built


def vips_in_set(host: Host, family: str) -> list[str]:
    """The addresses in the `vips` set of keepalived's nftables table in `host`."""
    listed = host.exec("nft", "-j", "list", "ruleset").stdout
    for item in json.loads(listed)["nftables"]:
        found = item.get("set")
        if isinstance(found, dict) and found["family"] == family and found["name"] == "vips":
            return [str(element) for element in found.get("elem", [])]
    return []


def test_a_lab_router_runs_from_the_image(image: str, lab: Lab, tmp_path: Path) -> None:
    r1 = lab.add_host("r1", "192.0.2.1/24")
    r2 = lab.add_host("r2", "192.0.2.2/24")
    config = tmp_path / "keepalived.conf"
    config.write_text(keepalived_conf(RouterSpec(priority=150, extra=("no_accept",))))
    name = f"havip-test-{os.getpid()}"
    started = podman(
        "run", "--detach", "--name", name,
        "--network", f"ns:/run/netns/{r1.namespace}",
        "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW",
        *LIMITS, "--no-healthcheck",
        "--volume", f"{config}:{CONFIG_IN_IMAGE}:ro",
        image,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    backup = None
    try:
        wait_for(lambda: VIP in r1.addresses_on(), 20, "the container to take the VIP")
        backup = start_havip(r2, keepalived_conf(RouterSpec(priority=100)), tmp_path / "r2")
        wait_for(
            lambda: (
                "Entering BACKUP STATE" in backup.log_text()
                and backup.status()["instances"][0]["master"]["address"] == "192.0.2.1"
            ),
            20,
            "r2 to hear the container's adverts",
        )
        url = f"http://127.0.0.1:{METRICS_PORT}/status"
        (instance,) = json.loads(r1.exec(sys.executable, "-c", _FETCH, url).stdout)["instances"]
        assert instance["state"] == "master" and instance["priority"]["effective"] == 150
        assert VIP not in r2.addresses_on()
        assert vips_in_set(r1, "ip") == [VIP], podman("logs", name).stderr

        stopped = podman("stop", "--time", "10", name)  # SIGTERM, the image's STOPSIGNAL
        assert stopped.returncode == 0, stopped.stderr
        exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        assert exit_code == "0", podman("logs", name).stderr
        wait_for(lambda: VIP in r2.addresses_on(), 10, "r2 to take over")
        assert VIP not in r1.addresses_on()
        assert vips_in_set(r1, "ip") == [], "the drop rules outlived the container"
        assert "Backup received priority 0 advertisement" in backup.log_text()
    finally:
        logs = podman("logs", name)
        print(f"----- container {name}\n{logs.stdout}{logs.stderr}")
        podman("rm", "--force", name)
        if backup is not None:
            backup.stop()
