"""The keepalived.conf grammar: comments, quotes, braces where keepalived puts them, includes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from havip.config import ConfigError, LoadedConfig, load_config
from havip.config.diagnostics import Diagnostics
from havip.config.lexer import TokenKind, tokenize
from havip.config.parser import Statement, parse
from havip.config.source import expand_braces


def _tree(text: str) -> tuple[tuple[Statement, ...], Diagnostics]:
    diagnostics = Diagnostics()
    return parse(tokenize(text, "t.conf", diagnostics), "t.conf", diagnostics), diagnostics


def _words(text: str) -> list[str]:
    diagnostics = Diagnostics()
    tokens = tokenize(text, "t.conf", diagnostics)
    assert not diagnostics.errors
    return [t.text for t in tokens if t.kind is TokenKind.WORD]


def test_comments_start_with_hash_or_bang_anywhere_outside_quotes() -> None:
    assert _words("priority 100 # the master\nstate BACKUP! old\n! whole line") == [
        "priority",
        "100",
        "state",
        "BACKUP",
    ]
    assert _words('auth_pass "a#b!c"') == ["auth_pass", "a#b!c"]


def test_quotes_group_words_and_join_adjacent_text() -> None:
    assert _words('notify "/bin/x  arg"') == ["notify", "/bin/x  arg"]
    assert _words("abcd\" efg h jkl \"mnop 'q r'") == ["abcd efg h jkl mnop", "q r"]


def test_escapes_inside_quotes_follow_keepalived_conf_5() -> None:
    assert _words(r'x "a\"b" "\t\x41\101\\"') == ["x", 'a"b', "\tAA\\"]


def test_braces_are_tokens_even_against_words() -> None:
    diagnostics = Diagnostics()
    kinds = [t.kind for t in tokenize("group{VI_1}", "t.conf", diagnostics)]
    assert kinds == [TokenKind.WORD, TokenKind.OPEN, TokenKind.WORD, TokenKind.CLOSE]


def test_block_on_the_same_line_and_brace_on_the_next_line() -> None:
    tree, diagnostics = _tree("virtual_ipaddress { 192.0.2.1 }\ntrack_interface\n{\n eth1\n}\n")
    assert not diagnostics.errors
    vips, tracked = tree
    assert vips.block is not None and [s.keyword for s in vips.block] == ["192.0.2.1"]
    assert tracked.block is not None and [s.keyword for s in tracked.block] == ["eth1"]
    assert tracked.location.line == 2


def test_statement_after_a_closing_brace_on_the_same_line() -> None:
    tree, diagnostics = _tree("authentication { auth_type PASS\nauth_pass x } priority 5\n")
    assert not diagnostics.errors
    assert [s.keyword for s in tree] == ["authentication", "priority"]
    assert tree[1].args == ("5",) and tree[1].location.line == 2
    assert tree[0].block is not None
    assert [s.words for s in tree[0].block] == [("auth_type", "PASS"), ("auth_pass", "x")]


def test_errors_name_their_file_and_line(errors_of: Callable[[str], list[tuple[int, str]]]) -> None:
    errors = errors_of("global_defs {\n  router_id a\n}\n}\n")
    assert errors == [(4, "unexpected '}': no block is open here")]


def test_every_error_is_reported_not_only_the_first(
    errors_of: Callable[[str], list[tuple[int, str]]],
) -> None:
    errors = errors_of(
        "global_defs {\n"
        "  vrrp_versoin 3\n"
        "}\n"
        "vrrp_instance VI_1 {\n"
        "  interface eth0\n"
        "  virtual_router_id 300\n"
        "  priority 0\n"
        "  virtual_ipaddress {\n"
        "    192.0.2.1/40\n"
        "  }\n"
        "}\n"
    )
    assert [line for line, _ in errors] == [2, 6, 7, 9]


def test_include_is_relative_to_the_including_file_and_globbed(
    write_conf: Callable[..., Path],
) -> None:
    write_conf("global_defs {\n  router_id r1\n}\n", "conf.d/10-global.conf")
    write_conf(
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 7\n"
        "  virtual_ipaddress {\n    include vips/*.conf\n  }\n}\n",
        "conf.d/20-vi1.conf",
    )
    write_conf("192.0.2.7/24\n", "conf.d/vips/a.conf")
    main = write_conf("include conf.d/*.conf\n")
    config = load_config(main)
    assert config.global_defs.router_id == "r1"
    assert [str(v.interface) for v in config.instances[0].vips] == ["192.0.2.7/24"]
    assert config.files == (
        str(main),
        str(main.parent / "conf.d/10-global.conf"),
        str(main.parent / "conf.d/20-vi1.conf"),
        str(main.parent / "conf.d/vips/a.conf"),
    )


def test_errors_in_included_files_name_that_file(write_conf: Callable[..., Path]) -> None:
    included = write_conf(
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  priority 999\n}\n",
        "inc/vi.conf",
    )
    main = write_conf("! main\ninclude inc/vi.conf\n")
    with pytest.raises(ConfigError) as raised:
        load_config(main)
    [error] = raised.value.diagnostics
    assert str(error).startswith(f"{included}:4: error: priority:")


def test_include_with_braces(write_conf: Callable[..., Path]) -> None:
    write_conf("global_defs {\n  router_id from_a\n}\n", "a.conf")
    write_conf("global_defs {\n  vrrp_version 3\n}\n", "b.conf")
    config = load_config(write_conf("include {a,b}.conf\n"))
    assert (config.global_defs.router_id, config.global_defs.vrrp_version) == ("from_a", 3)


def test_brace_expansion_nests_like_csh() -> None:
    assert expand_braces("x{a,b{c,d}}y") == ["xay", "xbcy", "xbdy"]
    assert expand_braces("{single}") == ["{single}"]


def test_plain_include_of_nothing_only_warns(load_text: Callable[[str], LoadedConfig]) -> None:
    config = load_text("include optional.d/*.conf\n")
    assert [(w.location.line, w.message) for w in config.warnings] == [
        (1, "include optional.d/*.conf: no file matches")
    ]


def test_include_cycle_is_an_error(write_conf: Callable[..., Path]) -> None:
    write_conf("include main.conf\n", "other.conf")
    main = write_conf("include other.conf\n", "main.conf")
    with pytest.raises(ConfigError) as raised:
        load_config(main)
    [error] = raised.value.diagnostics
    assert error.location.file.endswith("other.conf") and error.location.line == 1
    assert "include cycle" in error.message


def test_missing_file_is_one_error_without_a_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.conf"
    with pytest.raises(ConfigError) as raised:
        load_config(missing)
    [error] = raised.value.diagnostics
    assert str(error) == f"{missing}: error: cannot read {missing}: No such file or directory"
