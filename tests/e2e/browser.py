"""A page opened in a real browser: Debian's chromium, headless, with no network at all.

Chromium runs twice per page: once to print the DOM as it stands after the page's scripts
ran (`--dump-dom`; `--virtual-time-budget` lets timers and rendering finish first), once to
take a screenshot. With `--enable-logging=stderr` every console message and uncaught error
of the page is a `CONSOLE` line on stderr. Chromium's only way out is a proxy that is a trap:
a local socket that notes the host each request names and answers none, so whatever the page
tries to fetch from the network is seen (and fails). Chromium itself asks Google's update,
time and account services even with every background switch off; those hosts are set aside.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM = shutil.which("chromium")
BROWSER_TIMEOUT = 60
RENDER_BUDGET_MS = 10000
WINDOW = "1400,2600"
CHROMIUM_OWN_HOSTS = ("google.com", "googleapis.com", "gvt1.com")
"""Domains chromium reaches for on its own, whatever the page (seen with a blank page)."""
REQUEST_HOST = re.compile(rb"^(?:CONNECT ([^\s:]+)|[A-Z]+ [a-z]+://([^/:\s]+))")


@dataclass(frozen=True, slots=True)
class Rendered:
    dom: str
    console: list[str]
    """The page's console messages and uncaught errors, from both runs."""
    screenshot: Path
    fetched: list[str]
    """The hosts the page (not chromium itself) tried to reach, from both runs."""


def _own(host: str) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in CHROMIUM_OWN_HOSTS)


class ProxyTrap:
    """A listening socket that notes the host of each proxied request and answers none."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self.hosts: list[str] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return  # closed
            with connection:
                connection.settimeout(2)
                try:
                    head = connection.recv(4096)
                except OSError:
                    head = b""
            match = REQUEST_HOST.match(head)
            host = "?" if match is None else (match.group(1) or match.group(2)).decode()
            self.hosts.append(host)

    def close(self) -> None:
        self._socket.close()
        self._thread.join(5)


def _chromium(
    page: Path, profile: Path, proxy: str, *mode: str
) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None, "chromium is not installed (Debian package chromium)"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # tests run as root, where chromium's sandbox refuses to start
            "--disable-gpu",
            f"--user-data-dir={profile}",
            f"--proxy-server={proxy}",
            "--disable-background-networking",  # chromium's own update and safety checks
            "--enable-logging=stderr",
            "--v=0",
            f"--window-size={WINDOW}",
            "--hide-scrollbars",
            f"--virtual-time-budget={RENDER_BUDGET_MS}",
            *mode,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
        check=True,
    )


def render(page: Path, workdir: Path) -> Rendered:
    """Open `page` in chromium: its rendered DOM, console messages and a screenshot."""
    screenshot = workdir / (page.stem + ".png")
    trap = ProxyTrap()
    try:
        dumped = _chromium(page, workdir / "profile-dom", trap.address, "--dump-dom")
        shot = _chromium(page, workdir / "profile-shot", trap.address, f"--screenshot={screenshot}")
    finally:
        trap.close()
    console = [line for line in (dumped.stderr + shot.stderr).splitlines() if ":CONSOLE" in line]
    fetched = [host for host in trap.hosts if not _own(host)]
    return Rendered(dumped.stdout, console, screenshot, fetched)


@dataclass(frozen=True, slots=True)
class Element:
    tag: str
    ident: str | None
    classes: frozenset[str]
    within: tuple[str, ...]
    """The ids of the elements it is inside, outermost first."""
    text: str = ""


class _Collector(HTMLParser):
    """Every element of a document with its classes and the ids around it."""

    VOID = frozenset({"br", "img", "meta", "link", "input", "hr", "col", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        within = tuple(ident for _, ident in self._open if ident)
        classes = frozenset((found.get("class") or "").split())
        self.elements.append(Element(tag, found.get("id"), classes, within))
        if tag not in self.VOID:
            self._open.append((tag, found.get("id")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        within = tuple(ident for _, ident in self._open if ident)
        classes = frozenset((found.get("class") or "").split())
        self.elements.append(Element(tag, found.get("id"), classes, within))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        if self.elements and data.strip():
            last = self.elements[-1]
            self.elements[-1] = Element(
                last.tag, last.ident, last.classes, last.within, last.text + data
            )


def elements(dom: str) -> list[Element]:
    collector = _Collector()
    collector.feed(dom)
    collector.close()
    return collector.elements


def by_id(found: list[Element], ident: str) -> Element:
    (element,) = [element for element in found if element.ident == ident]
    return element


def select(found: list[Element], inside: str, tag: str, *classes: str) -> list[Element]:
    """The `tag` elements with all `classes` somewhere inside the element with id `inside`."""
    wanted = set(classes)
    return [
        element
        for element in found
        if element.tag == tag and inside in element.within and wanted <= element.classes
    ]
