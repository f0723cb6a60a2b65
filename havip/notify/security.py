"""Who runs a script, and whether keepalived would let it run: `script_user`, `user`,
`enable_script_security`.

The rules are keepalived 2.2's (lib/notify.c), checked against keepalived 2.2.7 itself:

* A script runs as its own `user [group]` if it has one, else as global `script_user [group]`,
  else as `keepalived_script` if that user exists, else as root — except that with
  `enable_script_security` a missing `keepalived_script` is an error ("Unable to set default
  user keepalived_script for script") and the script is not used.
* A script that cannot be found, or is not executable by its user, is never run.
* A script that runs with root privileges (user or group root, or a set-uid/set-gid root file)
  is insecure if the file, or any directory on its path (as given and as resolved), is owned
  by a non-root user, or is writable by a non-root group or by everyone (a directory with the
  sticky bit, like /tmp, is allowed). With `enable_script_security` an insecure script is
  refused; without it keepalived runs it and warns once (`SECURITY_VIOLATION`).

Every check returns keepalived's wording, so it can be reported at config-check time.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat

from havip.notify.runner import SHELL, RunAs, ScriptCommand

DEFAULT_SCRIPT_USER = "keepalived_script"
SECURITY_VIOLATION = (
    "SECURITY VIOLATION - scripts are being executed but script_security not enabled. "
    "There are insecure scripts."
)


class ScriptUserError(ValueError):
    """The user or group a script should run as cannot be resolved."""


def resolve_run_as(
    user: str | None,
    group: str | None = None,
    *,
    script_user: str | None = None,
    script_group: str | None = None,
    script_security: bool = False,
) -> RunAs:
    """The user a script runs as, by keepalived's rules; ScriptUserError if there is none."""
    if user is not None:
        return _lookup(user, group)
    if script_user is not None:
        return _lookup(script_user, script_group)
    try:
        return _lookup(DEFAULT_SCRIPT_USER, None)
    except ScriptUserError:
        if script_security:
            raise ScriptUserError(
                f"Unable to set default user {DEFAULT_SCRIPT_USER} for script"
            ) from None
    uid, gid = os.geteuid(), os.getegid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return RunAs(uid, gid, name)


def script_problem(command: ScriptCommand, run_as: RunAs, *, script_security: bool) -> str | None:
    """Why keepalived would refuse to run `command` as `run_as` (None: it would run it).

    The program checked is the line's first word; a line that goes through the shell and starts
    with shell syntax (`</dev/tcp/...`, `VAR=x cmd`) or a shell builtin is checked as /bin/sh.
    Without `script_security` an insecure script is not refused: call `check_script_security`
    to warn about it.
    """
    words = command.words
    if not words:
        return f"Unable to parse script '{command.line}'"
    first = words[0]
    if command.uses_shell and (first[0] in "<>(){}!" or "=" in first):
        path: str | None = SHELL
    else:
        path = _find_program(first, run_as)
    if path is None:
        if not command.uses_shell:
            return f"Cannot find script {first} in path"
        path = SHELL  # a shell keyword or builtin: `exit 1`, `if ...`, `test ...`
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"Unable to access script `{path}`: {exc.strerror}"
    if not (stat.S_ISREG(info.st_mode) and _is_executable(info, run_as.uid, run_as.gid)):
        return f"WARNING - script '{path}' is not executable for uid:gid {run_as.uid}:{run_as.gid}"
    if script_security:
        return check_script_security(path, run_as.uid, run_as.gid)
    return None


def check_script_security(path: str, run_as_uid: int, run_as_gid: int | None = None) -> str | None:
    """Why running `path` as this user would let a non-root user run code as root, or None.

    Only scripts run with root privileges are checked, as keepalived does; `run_as_gid`
    defaults to the user's primary group (root's group if the uid is unknown).
    """
    gid = _primary_gid(run_as_uid) if run_as_gid is None else run_as_gid
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"Unable to access script `{path}`: {exc.strerror}"
    if not _runs_privileged(info, run_as_uid, gid):
        return None
    absolute = path if os.path.isabs(path) else os.path.join(os.getcwd(), path)
    as_given = os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))
    for candidate in dict.fromkeys((as_given, os.path.realpath(absolute))):
        problem = _unsafe_component(candidate)
        if problem is not None:
            return f"Unsafe permissions found for script '{path}': {problem}"
    return None


def _lookup(user: str, group: str | None) -> RunAs:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ScriptUserError(f"Script user '{user}' does not exist") from None
    gid = entry.pw_gid
    if group is not None:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise ScriptUserError(f"Script group '{group}' does not exist") from None
    return RunAs(entry.pw_uid, gid, user)


def _primary_gid(uid: int) -> int:
    try:
        return pwd.getpwuid(uid).pw_gid
    except KeyError:
        return 0


def _find_program(name: str, run_as: RunAs) -> str | None:
    """A bare name is searched in PATH for a regular file its user may execute (execvp's rule)."""
    if "/" in name:
        return name
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        try:
            info = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and _is_executable(info, run_as.uid, run_as.gid):
            return candidate
    return None


def _is_executable(info: os.stat_result, uid: int, gid: int) -> bool:
    """keepalived's is_executable(): root needs any x bit, others the bit of their class."""
    mode = info.st_mode
    if uid == 0:
        return bool(mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    if uid == info.st_uid:
        return bool(mode & stat.S_IXUSR)
    if gid == info.st_gid:
        return bool(mode & stat.S_IXGRP)
    return bool(mode & stat.S_IXOTH)


def _runs_privileged(info: os.stat_result, uid: int, gid: int) -> bool:
    """Root user or group, or a set-uid/set-gid root executable: what keepalived protects."""
    mode = info.st_mode
    return (
        uid == 0
        or gid == 0
        or (info.st_uid == 0 and bool(mode & stat.S_IXUSR) and bool(mode & stat.S_ISUID))
        or (info.st_gid == 0 and bool(mode & stat.S_IXGRP) and bool(mode & stat.S_ISGID))
    )


def _unsafe_component(path: str) -> str | None:
    """The first of `/`, each directory and the file itself that a non-root user could change.

    Components are examined without following symbolic links; only the last one may be a link
    (its target is checked separately, as the resolved path).
    """
    parts = [part for part in path.split("/") if part]
    prefixes = ["/"] + ["/" + "/".join(parts[: index + 1]) for index in range(len(parts))]
    for index, component in enumerate(prefixes):
        last = index == len(prefixes) - 1
        try:
            info = os.lstat(component)
        except OSError as exc:
            return f"cannot examine {component}: {exc.strerror}"
        mode = info.st_mode
        if last:
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                return f"wrong file type for {component}"
        elif not stat.S_ISDIR(mode):
            return f"wrong file type for {component} (not a directory)"
        if info.st_uid != 0:
            return f"{component} is owned by uid {info.st_uid}, not root"
        guarded = stat.S_ISREG(mode) or (stat.S_ISDIR(mode) and not mode & stat.S_ISVTX)
        if guarded and info.st_gid != 0 and mode & stat.S_IWGRP:
            return f"{component} is writable by group {info.st_gid}"
        if guarded and mode & stat.S_IWOTH:
            return f"{component} is writable by everyone"
    return None
