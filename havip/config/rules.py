"""Read one line of a virtual_rules block, with keepalived's (and `ip rule add`'s) syntax.

    [from PREFIX|all] [to PREFIX|all] [iif|dev IF] [oif IF] [fwmark N[/MASK]]
        [table|lookup N] [preference|priority|order N] [blackhole|unreachable|prohibit]
        [no_track] [inet|inet6]

A rule without an action looks up a table, `main` unless one is named (as `ip rule`). A
keepalived rule option havip does not implement (`goto`, `nop`, `tos`, `uidrange`, `sport`,
...) is an error naming it, as for routes.
"""

from __future__ import annotations

from typing import cast

from havip.config.diagnostics import Diagnostics, did_you_mean
from havip.config.model import IPNetwork, RuleAction, VirtualRule
from havip.config.parser import Statement
from havip.config.routes import TABLE_NAMES, Line, read_number
from havip.config.values import UINT32_MAX, interface_name_problem
from havip.proto.model import Family

ACTIONS = frozenset({"blackhole", "unreachable", "prohibit"})
MAIN_TABLE = 254

REFUSED_OPTIONS = {
    "goto": "jumps to another rule",
    "nop": "rules that do nothing",
    "tos": "rules by TOS",
    "dsfield": "rules by TOS",
    "realms": "realms",
    "suppress_prefixlength": "suppressing lookups",
    "sup_pl": "suppressing lookups",
    "suppress_ifgroup": "suppressing lookups",
    "sup_group": "suppressing lookups",
    "tunnel-id": "tunnel ids",
    "uidrange": "rules by user",
    "l3mdev": "VRF rules",
    "protocol": "a rule protocol of your choosing (havip tags its rules as its own)",
    "ipproto": "rules by protocol and port",
    "ip_proto": "rules by protocol and port",
    "sport": "rules by protocol and port",
    "dport": "rules by protocol and port",
    "track_group": "track groups",
    "type": "rule types by keyword (write blackhole, unreachable or prohibit alone)",
}
_VALUED = {
    "from": "from",
    "to": "to",
    "iif": "iif",
    "dev": "iif",
    "oif": "oif",
    "fwmark": "fwmark",
    "table": "table",
    "lookup": "table",
    "preference": "priority",
    "priority": "priority",
    "order": "priority",
}
_KNOWN = {*_VALUED, *ACTIONS, "no_track", "inet", "inet6"}


def read_virtual_rule(statement: Statement, diagnostics: Diagnostics) -> VirtualRule | None:
    """The rule of one line, or None (with the errors reported) if it is not one."""
    if statement.block is not None:
        diagnostics.error(statement.location, "a virtual rule takes no { ... } block")
        return None
    line = Line(statement, diagnostics, "virtual rule")
    action: RuleAction = "table"
    words = line.words
    while words and line.valid:
        word = words.pop(0)
        if word in REFUSED_OPTIONS:
            line.error(f"'{word}' ({REFUSED_OPTIONS[word]}) is not implemented by havip")
        elif word in ("inet", "inet6"):
            line.same_family(4 if word == "inet" else 6, word)
        elif word == "no_track":
            continue
        elif word in ACTIONS:
            action = cast(RuleAction, word)
        elif word in _VALUED:
            if not words:
                line.error(f"{word}: expected a value after it")
                break
            line.values[_VALUED[word]] = words.pop(0)
        else:
            line.error(f"unknown rule option '{word}'{did_you_mean(word, _KNOWN)}")
    if not line.valid:
        return None
    return _build(line, action)


def _build(line: Line, action: RuleAction) -> VirtualRule | None:
    values = line.values
    source = _selector(line, "from", values.get("from"))
    destination = _selector(line, "to", values.get("to"))
    for option in ("iif", "oif"):
        name = values.get(option)
        if name is not None and (problem := interface_name_problem(name)):
            line.error(f"{option}: {problem}")
    table = read_number(line, "table", values.get("table"), 1, TABLE_NAMES)
    if action != "table" and table is not None:
        line.error(f"a {action} rule looks up no table")
    priority = read_number(line, "priority", values.get("priority"), 0, {})
    fwmark, fwmask = _fwmark(line, values.get("fwmark"))
    if not line.valid:
        return None
    return VirtualRule(
        Family(line.family or 4),
        source,
        destination,
        MAIN_TABLE if action == "table" and table is None else table,
        priority,
        values.get("iif"),
        values.get("oif"),
        fwmark,
        fwmask,
        action,
        line.location,
    )


def _selector(line: Line, option: str, text: str | None) -> IPNetwork | None:
    if text is None or text == "all":
        return None
    return line.network(option, text, "ADDRESS/PREFIX or all")


def _fwmark(line: Line, text: str | None) -> tuple[int | None, int | None]:
    """`N` or `N/MASK`, each decimal or 0x hexadecimal, as `ip rule`."""
    if text is None:
        return None, None
    mark_text, slash, mask_text = text.partition("/")
    try:
        mark = int(mark_text, 0)
        mask = int(mask_text, 0) if slash else None
    except ValueError:
        mark = mask = -1
    if not 0 <= mark <= UINT32_MAX or (mask is not None and not 0 <= mask <= UINT32_MAX):
        line.error(f"fwmark '{text}': expected N or N/MASK, each 0 to {UINT32_MAX:#x}")
        return None, None
    return mark, mask
