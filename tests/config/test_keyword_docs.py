"""docs/keepalived-keywords.md says, per section, what havip does with each keepalived keyword;
this keeps it true: every keyword it calls supported is read by that section's reader, and its
warned and skipped lists are exactly the code's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from havip.config import ConfigError, load_config
from havip.config.keepalived_keywords import (
    GLOBAL_DEFS_NOT_IMPLEMENTED,
    INSTANCE_NOT_IMPLEMENTED,
    SKIPPED_TOP_LEVEL,
    SYNC_GROUP_NOT_IMPLEMENTED,
)

DOC = Path(__file__).parents[2] / "docs" / "keepalived-keywords.md"
INSTANCE = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\nBODY\n}\n"
# Where a keyword (KW) of each section is put to see whether that section's reader takes it.
PLACES = {
    "global_defs": "global_defs {\nKW\n}\n" + INSTANCE.replace("BODY", ""),
    "vrrp_instance": INSTANCE.replace("BODY", "KW"),
    "vrrp_sync_group": INSTANCE.replace("BODY", "")
    + "vrrp_sync_group G {\n group {\n  VI_1\n }\nKW\n}\n",
    "vrrp_script": "vrrp_script s {\n script /bin/true\nKW\n}\n",
    "vrrp_track_file": "vrrp_track_file f {\n file /tmp/f\nKW\n}\n",
    "vrrp_track_process": "vrrp_track_process p {\n process p\nKW\n}\n",
    "Top level": "KW x {\n}\n",
}


def sections() -> dict[str, dict[str, set[str]]]:
    """{section: {"Supported" | "Warned" | "Skipped": keywords}} as the document lists them."""
    found: dict[str, dict[str, set[str]]] = {}
    section = part = ""
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("### "):
            part = line[4:].strip()
        elif section and part:
            text = line.split("|")[1] if part == "Supported" and line.startswith("|") else line
            if part == "Supported" and not line.startswith("|"):
                continue
            found.setdefault(section, {}).setdefault(part, set()).update(
                re.findall(r"`([A-Za-z0-9_]+)`", text)
            )
    return found


def messages(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    try:
        return [str(w) for w in load_config(path).warnings]
    except ConfigError as error:
        return [str(d) for d in error.diagnostics]


def test_the_warned_and_skipped_lists_are_the_code_s() -> None:
    documented = sections()
    assert documented["global_defs"]["Warned"] == set(GLOBAL_DEFS_NOT_IMPLEMENTED)
    assert documented["vrrp_instance"]["Warned"] == set(INSTANCE_NOT_IMPLEMENTED)
    assert documented["vrrp_sync_group"]["Warned"] == set(SYNC_GROUP_NOT_IMPLEMENTED)
    assert documented["Top level"]["Skipped"] == set(SKIPPED_TOP_LEVEL)


@pytest.mark.parametrize(
    ("section", "keyword"),
    sorted((s, k) for s, parts in sections().items() for k in parts.get("Supported", ())),
)
def test_every_supported_keyword_is_read_by_its_section(
    section: str, keyword: str, tmp_path: Path
) -> None:
    said = messages(PLACES[section].replace("KW", keyword), tmp_path)
    assert not [
        m for m in said if f"unknown keyword '{keyword}'" in m or f"skipping {keyword} " in m
    ]
