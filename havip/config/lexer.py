"""Split keepalived.conf text into words and braces, the way keepalived's own reader does.

keepalived's grammar is line-based: comments start with `#` or `!` anywhere outside quotes,
`"` and `'` group text (the quotes vanish and adjacent text joins the same word), and `{`/`}`
are tokens of their own even when written against a word. Quoted text understands the shell
escapes that keepalived.conf(5) documents, so `"a \\"b\\""` means `a "b"`. On an `include` line
braces are part of the file pattern (`include conf.d/{a,b}.conf`), as keepalived reads include
lines before it splits words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from havip.config.diagnostics import Diagnostics, Location

_COMMENT = "#!"
_QUOTES = "\"'"
_BRACES = "{}"
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "E": "\x1b",
    "e": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_INCLUDE_LINE = re.compile(r"\s*include[rmwba]?\s")
_OCTAL_DIGITS = "01234567"
_HEX_DIGITS = "0123456789abcdefABCDEF"


class TokenKind(Enum):
    WORD = "word"
    OPEN = "{"
    CLOSE = "}"


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    line: int


def tokenize(text: str, file: str, diagnostics: Diagnostics) -> list[Token]:
    """Every token of `text` in order; an unterminated quote is reported and closed at the EOL."""
    tokens: list[Token] = []
    # Lines end at "\n" only, as in keepalived and in editors' line numbers: splitlines() would
    # also break at \v, \f, \x1c-\x1e, \x85 and U+2028/9 and shift every later line number.
    # A "\r" left at the end of a line is whitespace to the tokenizer.
    for number, line in enumerate(text.split("\n"), start=1):
        braces = "" if _INCLUDE_LINE.match(line) else _BRACES
        tokens.extend(_tokenize_line(line, number, braces, file, diagnostics))
    return tokens


def _tokenize_line(
    line: str, number: int, braces: str, file: str, diagnostics: Diagnostics
) -> list[Token]:
    tokens: list[Token] = []
    word: list[str] = []
    in_word = False
    position = 0
    while position < len(line):
        char = line[position]
        if char in _COMMENT:
            break
        if char.isspace() or char in braces:
            if in_word:
                tokens.append(Token(TokenKind.WORD, "".join(word), number))
                word, in_word = [], False
            if char in braces:
                kind = TokenKind.OPEN if char == "{" else TokenKind.CLOSE
                tokens.append(Token(kind, char, number))
            position += 1
            continue
        in_word = True
        if char in _QUOTES:
            position = _read_quoted(line, position, word)
            if position > len(line):
                diagnostics.error(
                    Location(file, number), f"unterminated {char} quote: expected a closing {char}"
                )
            continue
        word.append(char)
        position += 1
    if in_word:
        tokens.append(Token(TokenKind.WORD, "".join(word), number))
    return tokens


def _read_quoted(line: str, start: int, word: list[str]) -> int:
    """Append the quoted text opening at `start`; return the index after the closing quote.

    Returns len(line) + 1 when the closing quote is missing, so the caller can tell.
    """
    quote = line[start]
    position = start + 1
    while position < len(line):
        char = line[position]
        if char == quote:
            return position + 1
        if char == "\\" and position + 1 < len(line):
            text, position = _read_escape(line, position + 1)
            word.append(text)
            continue
        word.append(char)
        position += 1
    return len(line) + 1


def _read_escape(line: str, position: int) -> tuple[str, int]:
    """Decode the escape whose letter is at `position`; return its text and the next index."""
    char = line[position]
    if char in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[char], position + 1
    if char in _OCTAL_DIGITS:
        end = position
        while end < len(line) and end - position < 3 and line[end] in _OCTAL_DIGITS:
            end += 1
        return chr(int(line[position:end], 8)), end
    if char == "x" and position + 1 < len(line) and line[position + 1] in _HEX_DIGITS:
        end = position + 1
        while end < len(line) and line[end] in _HEX_DIGITS:
            end += 1
        return chr(int(line[position + 1 : end], 16) & 0xFF), end
    if char == "c" and position + 1 < len(line):
        return chr(ord(line[position + 1]) & 0x1F), position + 2
    return char, position + 1
