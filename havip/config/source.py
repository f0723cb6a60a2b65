"""Read a keepalived.conf and every file it includes into one statement tree.

`include PATTERN` is replaced, where it stands, by the statements of the files it matches.
Patterns are relative to the directory of the file that includes them, may use wildcards and
csh-style braces (`conf.d/{a,b}*.conf`), and match in sorted order, as glob(3) does for
keepalived. Plain `include` tolerates a pattern that matches nothing (with a warning); the
checked variants `includer`, `includem`, `includew`, `includeb` and `includea` make it an error.
"""

from __future__ import annotations

import glob
import os
import stat
from pathlib import Path

from havip.config.diagnostics import Diagnostics, Location
from havip.config.lexer import tokenize
from havip.config.parser import Statement, parse

INCLUDE_KEYWORDS = frozenset(
    {"include", "includer", "includem", "includew", "includeb", "includea"}
)
MAX_INCLUDE_DEPTH = 16
"""Files including files including files: deeper than this is refused, not a stack overflow."""
MAX_FILE_BYTES = 16 << 20
"""A configuration file larger than 16 MiB is refused before it is read into memory."""
MAX_FILES = 1024
"""Files read in all (one file included twice counts twice): `include *.conf` in each of
eight files would otherwise read 8^16 files before the depth limit stops it."""
MAX_PATTERNS = 1024
"""Patterns one include's braces may expand to: 22 `{a,b}` groups are four million."""


class _Reader:
    def __init__(self, diagnostics: Diagnostics) -> None:
        self.diagnostics = diagnostics
        self.files: list[str] = []
        self.reads = 0

    def read_file(
        self, path: str, origin: Location | None, including: tuple[Path, ...]
    ) -> tuple[Statement, ...]:
        where = origin or Location(path, 0)
        if self.reads >= MAX_FILES:
            if self.reads == MAX_FILES:  # said once; the includes left are skipped silently
                self.diagnostics.error(where, f"cannot read {path}: more than {MAX_FILES} files")
            self.reads += 1
            return ()
        self.reads += 1
        if len(including) >= MAX_INCLUDE_DEPTH:
            self.diagnostics.error(
                where, f"cannot read {path}: includes nested deeper than {MAX_INCLUDE_DEPTH} files"
            )
            return ()
        try:
            text = _read_text(path)
        except OSError as error:
            reason = error.strerror or str(error)
            self.diagnostics.error(where, f"cannot read {path}: {reason}")
            return ()
        except ValueError as error:
            self.diagnostics.error(where, f"cannot read {path}: {error}")
            return ()
        resolved = Path(path).resolve()
        if resolved in including:
            self.diagnostics.error(where, f"include cycle: {path} is already being read")
            return ()
        self.files.append(path)
        statements = parse(tokenize(text, path, self.diagnostics), path, self.diagnostics)
        return self.expand(statements, (*including, resolved))

    def expand(
        self, statements: tuple[Statement, ...], including: tuple[Path, ...]
    ) -> tuple[Statement, ...]:
        expanded: list[Statement] = []
        for statement in statements:
            if statement.keyword in INCLUDE_KEYWORDS:
                expanded.extend(self.include(statement, including))
            elif statement.block is not None:
                block = self.expand(statement.block, including)
                expanded.append(
                    Statement(statement.keyword, statement.args, statement.location, block)
                )
            else:
                expanded.append(statement)
        return tuple(expanded)

    def include(self, statement: Statement, including: tuple[Path, ...]) -> list[Statement]:
        if len(statement.args) != 1:
            self.diagnostics.error(
                statement.location, f"{statement.keyword}: expected one file name or pattern"
            )
            return []
        pattern = statement.args[0]
        base = Path(statement.location.file).parent
        matches: list[str] = []
        try:
            alternatives = expand_braces(pattern)
        except ValueError as error:
            self.diagnostics.error(statement.location, f"{statement.keyword} {pattern}: {error}")
            return []
        for alternative in alternatives:
            full = alternative if Path(alternative).is_absolute() else str(base / alternative)
            matches.extend(m for m in sorted(glob.glob(full)) if Path(m).is_file())
        if not matches:
            message = f"{statement.keyword} {pattern}: no file matches"
            if statement.keyword == "include":
                self.diagnostics.warning(statement.location, message)
            else:
                self.diagnostics.error(statement.location, message)
        included: list[Statement] = []
        for match in dict.fromkeys(matches):
            included.extend(self.read_file(match, statement.location, including))
        return included


def _read_text(path: str) -> str:
    """A regular file's text; ValueError for a device, FIFO or directory, or a huge file
    (`-f /dev/zero` must be an error, not a hang or a MemoryError)."""
    # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
    with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError("not a regular file")
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES >> 20} MiB")
    return data.decode("utf-8", errors="replace")


def read_tree(path: str) -> tuple[tuple[Statement, ...], tuple[str, ...], Diagnostics]:
    """The statements of `path` with includes expanded, the files read, and what went wrong."""
    diagnostics = Diagnostics()
    reader = _Reader(diagnostics)
    statements = reader.read_file(path, None, ())
    return statements, tuple(reader.files), diagnostics


def expand_braces(pattern: str) -> list[str]:
    """csh brace expansion: `a{b,c{d,e}}f` -> abf, acdf, acef; `{x}` without a comma stays.

    ValueError when it would give more than MAX_PATTERNS patterns.
    """
    expanded: list[str] = []
    _expand_into(pattern, expanded)
    return expanded


def _expand_into(pattern: str, out: list[str]) -> None:
    depth = 0
    start = 0
    for index, char in enumerate(pattern):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                alternatives = _split_top_level_commas(pattern[start + 1 : index])
                if len(alternatives) > 1:
                    head, tail = pattern[:start], pattern[index + 1 :]
                    for alternative in alternatives:
                        _expand_into(head + alternative + tail, out)
                    return
    if len(out) >= MAX_PATTERNS:
        raise ValueError(f"braces expand to more than {MAX_PATTERNS} patterns")
    out.append(pattern)


def _split_top_level_commas(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += (char == "{") - (char == "}")
        current.append(char)
    parts.append("".join(current))
    return parts
