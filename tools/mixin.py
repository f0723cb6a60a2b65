"""Render the monitoring mixin (mixin/) into the files Prometheus and Grafana load.

mixin/ is the one source of truth for havip's alerts and dashboards: alerts/havip.rules.yml and
dashboards/*.json are what it renders with its default _config, and tests/observe/test_mixin.py
proves the committed files are exactly that. This runs at build time with the `jsonnet` PyPI
bindings (no jsonnet binary, no jsonnet-bundler fetch: the mixin has no dependency).

    scripts/render-mixin            # rewrite alerts/havip.rules.yml and dashboards/*.json
    scripts/render-mixin --check    # exit 1 naming the files that differ from the mixin
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _jsonnet
import yaml

REPO = Path(__file__).resolve().parents[1]
MIXIN = REPO / "mixin" / "mixin.libsonnet"
RULES_FILE = "alerts/havip.rules.yml"
DASHBOARDS_DIR = "dashboards"

Json = dict[str, Any]

RULES_HEADER = """\
# Prometheus recording and alerting rules for havip. Load this file as it is (rule_files).
#
# Generated from the monitoring mixin in mixin/ (scripts/render-mixin): edit the .libsonnet
# files there, whose comments explain each rule, and render again. Every alert's runbook_url
# points at alerts/runbook.md; alerts/tests/*.yml are its promtool unit tests.
"""

# Keys in the order people read a rule; jsonnet itself sorts them alphabetically.
RULE_KEY_ORDER = ("record", "alert", "expr", "for", "labels", "annotations")
ANNOTATION_KEY_ORDER = ("summary", "description", "runbook_url")


def evaluate(config: Json | None = None) -> Json:
    """The mixin's three outputs, with `config` merged over its default _config."""
    return copy.deepcopy(_evaluate(json.dumps(config or {}, sort_keys=True)))


@functools.cache
def _evaluate(overrides: str) -> Json:
    """One jsonnet run per configuration (about 2 s): the tests ask for the defaults often."""
    snippet = (
        f"local mixin = (import {json.dumps(str(MIXIN))}) + {{ _config+:: {overrides} }};\n"
        "{ prometheusRules: mixin.prometheusRules, prometheusAlerts: mixin.prometheusAlerts,\n"
        "  grafanaDashboards: mixin.grafanaDashboards }"
    )
    result: Json = json.loads(_jsonnet.evaluate_snippet("render", snippet))
    return result


def _ordered(mapping: Json, order: Sequence[str]) -> Json:
    unknown = sorted(set(mapping) - set(order))
    return {key: mapping[key] for key in [*order, *unknown] if key in mapping}


def _rule(rule: Json) -> Json:
    ordered = _ordered(rule, RULE_KEY_ORDER)
    if "annotations" in ordered:
        ordered["annotations"] = _ordered(ordered["annotations"], ANNOTATION_KEY_ORDER)
    return ordered


class _RulesDumper(yaml.SafeDumper):
    """Multi-line expressions as `|` blocks and long text folded (`>-`), so the rule file reads
    like a hand-written one."""


LONG_TEXT = 80


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    folded = len(value) > LONG_TEXT and " " in value  # a sentence, not a long URL
    style = "|" if "\n" in value else ">" if folded else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_RulesDumper.add_representer(str, _string)


def render_rules(outputs: Json) -> str:
    """The rule file: recording rules first (alerts use them), then alerts."""
    groups = [*outputs["prometheusRules"]["groups"], *outputs["prometheusAlerts"]["groups"]]
    document = {
        "groups": [
            {"name": group["name"], "rules": [_rule(rule) for rule in group["rules"]]}
            for group in groups
        ]
    }
    body = yaml.dump(
        document, Dumper=_RulesDumper, sort_keys=False, width=100, allow_unicode=True, indent=2
    )
    return RULES_HEADER + body


def render_dashboard(board: Json) -> str:
    """A dashboard file's text: stable key order, so rendering again is a no-op."""
    return json.dumps(board, indent=2, sort_keys=True) + "\n"


def rendered_files(config: Json | None = None) -> dict[str, str]:
    """Repository-relative path -> text, for every file the mixin renders."""
    outputs = evaluate(config)
    files = {RULES_FILE: render_rules(outputs)}
    for name, board in sorted(outputs["grafanaDashboards"].items()):
        files[f"{DASHBOARDS_DIR}/{name}"] = render_dashboard(board)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/render-mixin", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report files that differ")
    parser.add_argument("--root", type=Path, default=REPO, help="where alerts/ and dashboards/ are")
    args = parser.parse_args(argv)
    stale = []
    for relative, text in rendered_files().items():
        path = args.root / relative
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        if args.check:
            stale.append(relative)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path)
    if stale:
        print(f"differ from the mixin, run {parser.prog}: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
