"""Turn tokens into a tree of statements, knowing nothing of what the keywords mean.

A statement is the words on one line up to a brace; a `{` right after a statement (on the same
line or as the first token of a later line) opens its block, and `}` closes it. So both
`virtual_ipaddress { 192.0.2.1 }` and a `{` on the next line read the way keepalived reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from havip.config.diagnostics import Diagnostics, Location
from havip.config.lexer import Token, TokenKind


@dataclass(frozen=True, slots=True)
class Statement:
    """`keyword args...` with an optional `{ ... }` block (None when there is no block)."""

    keyword: str
    args: tuple[str, ...]
    location: Location
    block: tuple[Statement, ...] | None = None

    @property
    def words(self) -> tuple[str, ...]:
        return (self.keyword, *self.args)


@dataclass(slots=True)
class _Draft:
    words: list[str]
    line: int
    block: list[_Draft] | None = None
    block_line: int = 0


@dataclass(slots=True)
class _Level:
    drafts: list[_Draft] = field(default_factory=list)
    owner: _Draft | None = None


MAX_BLOCK_DEPTH = 32
"""Blocks nest this deep at most (keepalived.conf needs 3); the rest of a deeper file is not
read, so that no input can exhaust the stack of the code that walks the tree."""


def parse(tokens: Sequence[Token], file: str, diagnostics: Diagnostics) -> tuple[Statement, ...]:
    """The statements of one file; brace mistakes are reported and repaired as well as possible."""
    levels = [_Level()]
    pending: _Draft | None = None
    for token in tokens:
        if token.kind is TokenKind.OPEN and len(levels) > MAX_BLOCK_DEPTH:
            diagnostics.error(
                Location(file, token.line),
                f"blocks nested deeper than {MAX_BLOCK_DEPTH} levels; the rest of the file is "
                "not read",
            )
            return tuple(_freeze(draft, file) for draft in levels[0].drafts)
        if token.kind is TokenKind.WORD:
            if pending is not None and pending.line == token.line and pending.block is None:
                pending.words.append(token.text)
            else:
                pending = _Draft([token.text], token.line)
                levels[-1].drafts.append(pending)
        elif token.kind is TokenKind.OPEN:
            if pending is None or pending.block is not None:
                diagnostics.error(
                    Location(file, token.line), "unexpected '{': expected a keyword before it"
                )
                owner = _Draft(["{"], token.line)
            else:
                owner = pending
            owner.block, owner.block_line = [], token.line
            levels.append(_Level(owner.block, owner))
            pending = None
        else:
            if len(levels) == 1:
                diagnostics.error(
                    Location(file, token.line), "unexpected '}': no block is open here"
                )
            else:
                levels.pop()
            pending = None
    for level in levels[1:]:
        assert level.owner is not None
        diagnostics.error(
            Location(file, level.owner.block_line),
            f"the block of '{level.owner.words[0]}' opened here is never closed: expected '}}'",
        )
    return tuple(_freeze(draft, file) for draft in levels[0].drafts)


def _freeze(draft: _Draft, file: str) -> Statement:
    block = None if draft.block is None else tuple(_freeze(d, file) for d in draft.block)
    return Statement(draft.words[0], tuple(draft.words[1:]), Location(file, draft.line), block)
