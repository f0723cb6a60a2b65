"""The live table of `havip lab`: one row per router, refreshed while the lab runs.

On a terminal the block (a headline and the table) is redrawn in place with ANSI cursor
movement, and progress lines scroll above it. When stdout is a file or a pipe (CI, `| tee`)
nothing is redrawn: progress lines are printed as they come, and the table only when a
router's state, priority, master or VIP changes, so the output reads top to bottom.

Rows come from each havip router's /status and /metrics (through the host-side forwarders)
and from the lab itself (which router has the VIP on its interface, which links are cut);
keepalived has no /status, so its state is read from the VIP alone, and marked so.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from havip.lab.drill import FailoverRecord, LabRouter, RunningLab
from havip.lab.netns import LabError

COLUMNS = (
    "ROUTER",
    "DAEMON",
    "STATE",
    "PRIO BASE/EFF",
    "MASTER",
    "VIP",
    "ADVERTS SENT/RCVD",
    "LAST FAILOVER",
)
INFERRED = "*"
UNKNOWN = "?"
FOOTNOTE_INFERRED = f"{INFERRED} keepalived has no /status: its state is read from the VIP"
FOOTNOTE_UNKNOWN = f"{UNKNOWN} /status did not answer"
REFRESH_INTERVAL = 0.5
SampleHook = Callable[[float, LabRouter, dict[str, Any] | None, bool], None]
"""Told (Unix time, router, its /status or None, whether it holds the VIP) at every look."""


@dataclass(frozen=True, slots=True)
class RouterRow:
    """What the table shows about one router, as display text."""

    name: str
    daemon: str
    state: str
    priority: str
    master: str
    holds_vip: bool
    adverts: str
    last_failover: str

    def cells(self) -> list[str]:
        return [
            self.name,
            self.daemon,
            self.state,
            self.priority,
            self.master,
            "yes" if self.holds_vip else "-",
            self.adverts,
            self.last_failover,
        ]

    def landmarks(self) -> tuple[str, str, str, bool]:
        """The columns whose change is worth a new table in a plain log (not the counters)."""
        return (self.state, self.priority, self.master, self.holds_vip)


def format_table(rows: Sequence[RouterRow]) -> list[str]:
    """The rows as aligned text lines, with footnotes for inferred or unknown states."""
    table = [list(COLUMNS), *(row.cells() for row in rows)]
    widths = [max(len(line[column]) for line in table) for column in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]
    if any(row.state.endswith(INFERRED) for row in rows):
        lines.append(FOOTNOTE_INFERRED)
    if any(row.state.startswith(UNKNOWN) for row in rows):
        lines.append(FOOTNOTE_UNKNOWN)
    return lines


class FailoverTracker:
    """The latest failover duration each router recorded, from its histogram's changes.

    The histogram only holds a sum and a count, so the latest value is what the sum grew by
    between two looks, divided by how much the count grew (one failover per look in a lab).
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, FailoverRecord]] = {}
        self._latest: dict[str, float] = {}

    def update(self, router: LabRouter, record: FailoverRecord | None) -> float | None:
        if record is not None:
            previous = self._seen.get(router.name)
            if previous is None or previous[0] != router.starts:  # a new process from zero
                baseline = FailoverRecord(0.0, 0)
            else:
                baseline = previous[1]
            if record.count > baseline.count:
                growth = record.count - baseline.count
                self._latest[router.name] = (record.total - baseline.total) / growth
            self._seen[router.name] = (router.starts, record)
        return self._latest.get(router.name)


def router_row(
    router: LabRouter,
    status: dict[str, Any] | None,
    holds_vip: bool,
    last_failover: float | None,
    names_by_address: dict[str, str],
) -> RouterRow:
    """One router's row, from its /status (None if unavailable) and what the lab sees."""
    cut = "" if router.link_up else " (cut)"
    priority = f"{router.priority}/-"
    master = "-"
    adverts = "-"
    if not router.running:
        state = "stopped"
    elif status is not None:
        state = str(status["state"]).upper() + cut
        priority = f"{status['priority']['base']}/{status['priority']['effective']}"
        address = status["master"]["address"]
        if address is not None:
            master = names_by_address.get(address, address)
        counters = status.get("counters") or {}
        adverts = f"{counters.get('adverts_sent', 0)}/{counters.get('adverts_received', 0)}"
    elif router.kind == "havip" or not router.link_up:
        state = UNKNOWN + cut
    else:
        state = ("MASTER" if holds_vip else "BACKUP") + INFERRED
    return RouterRow(
        name=router.name,
        daemon=router.kind,
        state=state,
        priority=priority,
        master=master,
        holds_vip=holds_vip,
        adverts=adverts,
        last_failover="-" if last_failover is None else f"{last_failover * 1000:.0f} ms",
    )


def collect_rows(
    running: RunningLab, failovers: FailoverTracker, record: SampleHook | None = None
) -> list[RouterRow]:
    """A fresh row for every router of the lab; each look also goes to `record`."""
    holders = set(running.vip_holders())
    looked_at = time.time()
    names = {address: router.name for router in running.routers for address in router.own_addresses}
    rows = []
    for router in running.routers:
        last = failovers.update(router, router.failover_record())
        status = router.status()
        if record is not None:
            record(looked_at, router, status, router.name in holders)
        rows.append(router_row(router, status, router.name in holders, last, names))
    return rows


class View(ABC):
    """Progress lines and the router table, written to one stream from several threads."""

    def __init__(self, stream: TextIO, title: str) -> None:
        self.stream = stream
        self.title = title
        self._headline = ""
        self._rows: list[RouterRow] = []
        self._lock = threading.Lock()

    def headline(self, text: str) -> None:
        """What the lab is doing now."""
        with self._lock:
            self._headline = text
            self._headline_changed()

    def show(self, rows: Sequence[RouterRow]) -> None:
        with self._lock:
            previous = self._rows
            self._rows = list(rows)
            self._rows_changed(previous)

    def say(self, line: str) -> None:
        """A line that stays in the output (a step's result, a URL)."""
        with self._lock:
            self._say(line)

    def close(self) -> None:
        """Stop showing the table (the lab is going away); said lines still print."""
        with self._lock:
            self._close()

    @abstractmethod
    def _headline_changed(self) -> None: ...

    @abstractmethod
    def _rows_changed(self, previous: Sequence[RouterRow]) -> None: ...

    @abstractmethod
    def _say(self, line: str) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...


class TerminalView(View):
    """Redraws the headline and the table in place; said lines scroll above them."""

    def __init__(self, stream: TextIO, title: str) -> None:
        super().__init__(stream, title)
        self._drawn_rows = 0
        self._closed = False

    def _block(self) -> list[str]:
        return [f"{self.title} | {self._headline}", *format_table(self._rows)]

    def _erase(self) -> None:
        if self._drawn_rows:
            self.stream.write(f"\x1b[{self._drawn_rows}F\x1b[J")
            self._drawn_rows = 0

    def _draw(self) -> None:
        if self._closed:
            return
        block = self._block()
        self.stream.write("\n".join(block) + "\n")
        width = max(1, shutil.get_terminal_size().columns)
        # A line wider than the terminal wraps onto more rows, all of which must be erased.
        self._drawn_rows = sum(max(1, -(-len(line) // width)) for line in block)
        self.stream.flush()

    def _headline_changed(self) -> None:
        self._erase()
        self._draw()

    def _rows_changed(self, previous: Sequence[RouterRow]) -> None:
        self._erase()
        self._draw()

    def _say(self, line: str) -> None:
        self._erase()
        self.stream.write(line + "\n")
        self._draw()

    def _close(self) -> None:
        self._erase()
        self._closed = True
        self.stream.flush()


class PlainView(View):
    """For files and pipes: each line printed once, the table again only when it matters."""

    def __init__(self, stream: TextIO, title: str) -> None:
        super().__init__(stream, title)
        self._closed = False

    def _headline_changed(self) -> None:
        self._print(f"== {self._headline}")

    def _rows_changed(self, previous: Sequence[RouterRow]) -> None:
        changed = [row.landmarks() for row in previous] != [row.landmarks() for row in self._rows]
        if changed and not self._closed:
            stamp = time.strftime("%H:%M:%S")
            self._print("\n".join(f"{stamp} {line}" for line in format_table(self._rows)))

    def _say(self, line: str) -> None:
        self._print(line)

    def _close(self) -> None:
        self._closed = True

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def open_view(title: str, stream: TextIO = sys.stdout) -> View:
    """A redrawing view on a terminal, a plain one otherwise."""
    if stream.isatty():
        return TerminalView(stream, title)
    return PlainView(stream, title)


class Refresher:
    """Feeds the view fresh rows every `interval` seconds from a background thread."""

    def __init__(
        self,
        view: View,
        running: RunningLab,
        interval: float = REFRESH_INTERVAL,
        record: SampleHook | None = None,
    ) -> None:
        self.view = view
        self.running = running
        self.interval = interval
        self.record = record
        self._failovers = FailoverTracker()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lab-view", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                rows = collect_rows(self.running, self._failovers, self.record)
            except LabError:
                rows = None  # a namespace command failed mid-change; the next look will do
            if rows is not None and not self._stopping.is_set():
                self.view.show(rows)
            self._stopping.wait(self.interval)
