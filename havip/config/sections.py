"""Walk the statements of one block and hand each to the handler for its keyword.

Every section (global_defs, vrrp_instance, ...) is a table of handlers plus the keywords
keepalived has there that havip does not implement. The walk applies the rules common to all
sections, so each handler only reads its own value:
- an unknown keyword is an error with a "did you mean";
- a keepalived keyword havip lacks is one warning naming it and why, and its block is skipped;
- a keepalived keyword havip refuses (one whose absence would change what goes on the wire or
  where traffic goes) is an error naming it and why, so the file is not run half-understood;
- a block where none belongs, or a missing block where one is needed, is an error;
- a keyword given twice warns, and the last one wins (as for most keepalived keywords).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from havip.config.diagnostics import Diagnostics, Location
from havip.config.parser import Statement

Handler = Callable[[Statement], None]


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    handlers: Mapping[str, Handler]
    block_keywords: frozenset[str] = frozenset()
    ignored: Mapping[str, str] | None = None  # keyword -> why havip skips it
    refused: Mapping[str, str] | None = None  # keyword -> why havip refuses it
    repeatable: frozenset[str] = frozenset()


def walk(section: Section, statements: Iterable[Statement], diagnostics: Diagnostics) -> None:
    first_seen: dict[str, Location] = {}
    for statement in statements:
        keyword = statement.keyword
        handler = section.handlers.get(keyword)
        if handler is None:
            _report_unhandled(section, statement, diagnostics)
            continue
        if keyword in section.block_keywords:
            if statement.block is None:
                diagnostics.error(
                    statement.location, f"{keyword}: expected a {{ ... }} block after it"
                )
                continue
        elif statement.block is not None:
            diagnostics.error(statement.location, f"{keyword}: takes no {{ ... }} block")
            continue
        if keyword in first_seen and keyword not in section.repeatable:
            diagnostics.warning(
                statement.location,
                f"{keyword} is given again in {section.name} (first at line "
                f"{first_seen[keyword].line}); this later one is used",
            )
        first_seen.setdefault(keyword, statement.location)
        handler(statement)


def _report_unhandled(section: Section, statement: Statement, diagnostics: Diagnostics) -> None:
    keyword = statement.keyword
    ignored = section.ignored or {}
    refused = section.refused or {}
    if keyword in refused:
        diagnostics.error(statement.location, f"{keyword} ({section.name}): {refused[keyword]}")
        return
    if keyword in ignored:
        diagnostics.warning(
            statement.location, f"skipping {keyword} ({section.name}): {ignored[keyword]}"
        )
        return
    if keyword.startswith(("@", "$", "~SEQ")):
        diagnostics.error(
            statement.location,
            f"'{keyword}': keepalived's conditional configuration and parameter substitution "
            "are not implemented by havip",
        )
        return
    known = {*section.handlers, *ignored, *refused}
    diagnostics.error(
        statement.location,
        f"unknown keyword '{keyword}' in {section.name}{diagnostics.did_you_mean(keyword, known)}",
    )
