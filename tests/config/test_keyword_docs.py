"""docs/keepalived-keywords.md says, per section, what havip does with each keepalived keyword;
this keeps it true: every keyword it calls supported is read by that section's reader, and its
warned, refused and skipped lists are exactly the code's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from havip.config import ConfigError, load_config
from havip.config.keepalived_keywords import (
    GLOBAL_DEFS_NOT_IMPLEMENTED,
    INSTANCE_NOT_IMPLEMENTED,
    INSTANCE_REFUSED,
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
    """{section: {"Supported" | "Warned" | "Refused" | "Skipped": keywords}} as the document
    lists them (a table's first column, or every `keyword` of a paragraph)."""
    found: dict[str, dict[str, set[str]]] = {}
    section = part = ""
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("### "):
            part = line[4:].strip()
        elif section and part:
            tabled = part in ("Supported", "Refused")
            if tabled and not line.startswith("|"):
                continue
            text = line.split("|")[1] if tabled else line
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


def test_the_warned_refused_and_skipped_lists_are_the_code_s() -> None:
    documented = sections()
    assert documented["global_defs"]["Warned"] == set(GLOBAL_DEFS_NOT_IMPLEMENTED)
    assert documented["vrrp_instance"]["Warned"] == set(INSTANCE_NOT_IMPLEMENTED)
    assert documented["vrrp_instance"]["Refused"] == set(INSTANCE_REFUSED)
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


@pytest.mark.parametrize("keyword", sorted(INSTANCE_REFUSED))
def test_every_refused_keyword_is_an_error_naming_it(keyword: str, tmp_path: Path) -> None:
    said = messages(PLACES["vrrp_instance"].replace("KW", f"{keyword} x"), tmp_path)
    assert any(f":4: error: {keyword} (vrrp_instance VI_1): " in m for m in said), said
