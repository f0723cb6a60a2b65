"""The protocol core stays pure: no I/O, no clock, no framework (DESIGN.md).

Anything in havip/proto that imports a socket, trio, a clock or a metrics library would make
the state machine untestable with `now` as a number; this test turns that rule into a check.
"""

from __future__ import annotations

import ast
from pathlib import Path

import havip.proto

ALLOWED_TOP_LEVEL = {
    "__future__",
    "dataclasses",
    "enum",
    "ipaddress",
    "struct",
    "typing",
    "collections",
    "functools",
    "itertools",
    "heapq",
    "operator",
    "havip",
}
FORBIDDEN_NAMES = {
    "time",
    "socket",
    "trio",
    "asyncio",
    "threading",
    "pyroute2",
    "scapy",
    "prometheus_client",
    "opentelemetry",
    "os",
    "random",
}


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def test_protocol_core_imports_only_pure_modules() -> None:
    core = Path(havip.proto.__file__).parent
    offenders = []
    for path in sorted(core.glob("*.py")):
        for module, line in _imports(path):
            top = module.split(".")[0]
            if top in FORBIDDEN_NAMES or top not in ALLOWED_TOP_LEVEL:
                offenders.append(f"{path.name}:{line}: {module}")
            elif top == "havip" and not module.startswith("havip.proto"):
                offenders.append(f"{path.name}:{line}: {module} (outside the core)")
    assert offenders == []
