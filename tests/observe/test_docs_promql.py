"""The PromQL that docs/metrics.md gives operators to paste is valid and selects what havip has.

Each ```promql block must parse (promql-parser, and promtool when it is installed), and each of
its selectors must name a metric havip exports with labels and label values it has, so a query
copied from the porting guide draws data instead of an empty panel.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.observe.selectors import check_selector, vector_selectors

METRICS_DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
BLOCKS = re.findall(r"^```promql\n(.*?)^```$", METRICS_DOC.read_text(), re.MULTILINE | re.DOTALL)


def test_the_porting_guide_has_queries() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("query", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_query_selects_exported_metrics_with_their_labels(query: str) -> None:
    selectors = vector_selectors(query)
    assert selectors, query
    for selector in selectors:
        check_selector(selector)


def test_promtool_parses_every_query(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not on PATH: install Debian's prometheus package (scripts/setup)")
    rules = [{"record": f"docs:query:q{i}", "expr": query} for i, query in enumerate(BLOCKS)]
    rule_file = tmp_path / "docs.rules.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "docs", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(rule_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
