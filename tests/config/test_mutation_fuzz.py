"""Mutation fuzzing over the project's own configurations: keepalived's sample files (the
ones tests/config/examples holds) and the deploy example, edited at random by Hypothesis
(spans deleted, lines duplicated or swapped, hostile tokens inserted), must each load or be
refused with FILE:LINE errors: never an exception of another kind, never a hang.

"Never a hang" is Hypothesis' per-example deadline, set far above the few milliseconds a load
takes, so that only a pathological input (the kind this test exists to find) can reach it.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from havip.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "tests" / "config" / "examples").iterdir())
DEPLOY_CONFIG = yaml.safe_load(
    (REPO / "deploy" / "kubernetes" / "havip-configmap.yaml").read_text()
)["data"]["keepalived.conf"]
CORPUS = [*(path.read_text() for path in EXAMPLES), DEPLOY_CONFIG]
EXAMPLES_RUN = 400

TOKENS = [
    "{", "}", "{ {", "} }", '"', "'", "\\", "#", "!", "\n", "\r", "\v", "\f", "\x00", "\u2028",
    "²", "9" * 5000, "-1", "0", "256", "0x10", "1e9", "nan", "include *.conf",
    "include {a,b}{c,d}{e,f}.conf", "includea /dev/zero", "vrrp_instance", "vrrp_script",
    "vrrp_sync_group", "track_script", "virtual_ipaddress", "192.0.2.1/33", "2001:db8::1/129",
    "@high", "$VAR", "~SEQ(1,2,3)", "priority", "advert_int", "authentication", "auth_pass",
    "interface", "eth0", "x" * 300, "VI_1", "notify_master", "global_defs",
]  # fmt: skip
"""Fragments that reach the reader's edges: braces, quotes, escapes, odd line breaks, numbers
out of range, include patterns, keepalived's conditional syntax, every block keyword."""

mutation = st.one_of(
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 200)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.sampled_from(TOKENS)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.text(max_size=20)),
    st.tuples(st.just("duplicate"), st.floats(0, 1), st.integers(1, 30)),
    st.tuples(st.just("swap"), st.floats(0, 1), st.floats(0, 1)),
)


def mutate(text: str, edits: list[tuple[str, float, object]]) -> str:
    for kind, where, what in edits:
        at = int(where * len(text))
        if kind == "delete":
            assert isinstance(what, int)
            text = text[:at] + text[at + what :]
        elif kind == "insert":
            text = text[:at] + str(what) + text[at:]
        else:
            lines = text.split("\n")
            index = int(where * (len(lines) - 1))
            if kind == "duplicate":
                assert isinstance(what, int)
                lines[index:index] = lines[index : index + 1] * what
            else:
                assert isinstance(what, float)
                other = int(what * (len(lines) - 1))
                lines[index], lines[other] = lines[other], lines[index]
            text = "\n".join(lines)
    return text


@settings(
    max_examples=EXAMPLES_RUN,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.sampled_from(CORPUS), st.lists(mutation, min_size=1, max_size=8))
def test_mutated_configurations_load_or_fail_with_file_and_line(
    original: str, edits: list[tuple[str, float, object]]
) -> None:
    text = mutate(original, edits)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "keepalived.conf"
        path.write_text(text, errors="surrogatepass")
        try:
            load_config(path)
        except ConfigError as error:
            assert error.diagnostics
            for diagnostic in error.diagnostics:
                assert diagnostic.location.file, diagnostic
                assert diagnostic.location.line >= 0, diagnostic
