"""enable_script_security and script users, by keepalived 2.2's rules and wording."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from havip.lab.processes import keepalived_path
from havip.notify.runner import RunAs, ScriptCommand
from havip.notify.security import (
    DEFAULT_SCRIPT_USER,
    ScriptUserError,
    check_script_security,
    resolve_run_as,
    script_problem,
)

from .processes import write_script

NOBODY = 65534
ROOT = RunAs(0, 0, "root")

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown test files")


def keepalived_script_exists() -> bool:
    try:
        pwd.getpwnam(DEFAULT_SCRIPT_USER)
    except KeyError:
        return False
    return True


@pytest.fixture
def secure_dir(tmp_path: Path) -> Path:
    """A root-owned 0755 directory whose every parent is safe (tmp_path lives under /tmp)."""
    directory = tmp_path / "scripts"
    directory.mkdir()
    directory.chmod(0o755)
    assert check_script_security(str(write_script(directory / "probe.sh", "")), 0) is None
    return directory


@needs_root
def test_a_root_owned_script_in_root_owned_directories_is_secure(secure_dir: Path) -> None:
    script = write_script(secure_dir / "check.sh", "exit 0\n")
    assert check_script_security(str(script), 0) is None


@needs_root
def test_a_world_writable_script_is_refused(secure_dir: Path) -> None:
    script = write_script(secure_dir / "check.sh", "exit 0\n")
    script.chmod(0o777)
    assert check_script_security(str(script), 0) == (
        f"Unsafe permissions found for script '{script}': {script} is writable by everyone"
    )


@needs_root
def test_a_script_in_a_writable_directory_is_refused(secure_dir: Path) -> None:
    writable = secure_dir / "drop"
    writable.mkdir()
    writable.chmod(0o777)
    script = write_script(writable / "check.sh", "exit 0\n")
    problem = check_script_security(str(script), 0)
    assert problem == (
        f"Unsafe permissions found for script '{script}': {writable} is writable by everyone"
    )


@needs_root
def test_a_sticky_world_writable_directory_is_allowed_like_tmp(secure_dir: Path) -> None:
    sticky = secure_dir / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    assert check_script_security(str(write_script(sticky / "check.sh", "")), 0) is None


@needs_root
def test_a_script_owned_by_a_non_root_user_is_refused(secure_dir: Path) -> None:
    script = write_script(secure_dir / "check.sh", "exit 0\n")
    os.chown(script, NOBODY, 0)
    assert check_script_security(str(script), 0) == (
        f"Unsafe permissions found for script '{script}': {script} is owned by uid {NOBODY}, "
        "not root"
    )


@needs_root
def test_a_directory_owned_by_a_non_root_user_is_refused(secure_dir: Path) -> None:
    owned = secure_dir / "theirs"
    owned.mkdir()
    os.chown(owned, NOBODY, 0)
    problem = check_script_security(str(write_script(owned / "check.sh", "")), 0)
    assert problem is not None
    assert problem.endswith(f"{owned} is owned by uid {NOBODY}, not root")


@needs_root
def test_group_write_is_refused_only_for_a_non_root_group(secure_dir: Path) -> None:
    script = write_script(secure_dir / "check.sh", "exit 0\n")
    script.chmod(0o775)
    assert check_script_security(str(script), 0) is None
    os.chown(script, 0, NOBODY)
    assert check_script_security(str(script), 0) == (
        f"Unsafe permissions found for script '{script}': {script} is writable by group {NOBODY}"
    )


@needs_root
def test_a_link_to_a_script_in_an_unsafe_directory_is_refused(secure_dir: Path) -> None:
    unsafe = secure_dir / "unsafe"
    unsafe.mkdir()
    unsafe.chmod(0o777)
    target = write_script(unsafe / "real.sh", "exit 0\n")
    link = secure_dir / "check.sh"
    link.symlink_to(target)
    problem = check_script_security(str(link), 0)
    assert problem == (
        f"Unsafe permissions found for script '{link}': {unsafe} is writable by everyone"
    )


@needs_root
def test_scripts_run_without_root_privileges_are_not_checked(secure_dir: Path) -> None:
    script = write_script(secure_dir / "check.sh", "exit 0\n")
    script.chmod(0o777)
    assert check_script_security(str(script), NOBODY, NOBODY) is None
    assert check_script_security(str(script), NOBODY, 0) is not None


@needs_root
def test_a_set_uid_root_script_is_checked_whoever_runs_it(secure_dir: Path) -> None:
    script = write_script(secure_dir / "check.sh", "exit 0\n")
    script.chmod(0o4777)
    assert check_script_security(str(script), NOBODY, NOBODY) is not None


def test_a_missing_script_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sh"
    assert check_script_security(str(missing), 0) == (
        f"Unable to access script `{missing}`: No such file or directory"
    )
    assert script_problem(ScriptCommand(str(missing)), ROOT, script_security=False) == (
        f"Unable to access script `{missing}`: No such file or directory"
    )


def test_a_bare_name_is_searched_in_path() -> None:
    assert script_problem(ScriptCommand("true"), ROOT, script_security=False) is None
    assert script_problem(ScriptCommand("no-such-check-x"), ROOT, script_security=False) == (
        "Cannot find script no-such-check-x in path"
    )


@pytest.mark.parametrize("line", ["</dev/tcp/127.0.0.1/80", "exit 0 || exit 1", "A=1 true"])
def test_a_shell_line_starting_with_shell_syntax_is_checked_as_the_shell(line: str) -> None:
    assert script_problem(ScriptCommand(line), ROOT, script_security=False) is None


def test_a_missing_program_is_reported_even_in_a_shell_line(tmp_path: Path) -> None:
    missing = tmp_path / "check.sh"
    command = ScriptCommand(f"{missing} | logger")
    assert script_problem(command, ROOT, script_security=False) == (
        f"Unable to access script `{missing}`: No such file or directory"
    )


def test_a_script_its_user_may_not_execute_is_refused(tmp_path: Path) -> None:
    script = write_script(tmp_path / "check.sh", "exit 0\n")
    script.chmod(0o644)
    as_ourselves = RunAs(os.geteuid(), os.getegid(), "me")
    assert script_problem(ScriptCommand(str(script)), as_ourselves, script_security=False) == (
        f"WARNING - script '{script}' is not executable for uid:gid {os.geteuid()}:{os.getegid()}"
    )


@needs_root
def test_an_insecure_script_is_refused_only_with_script_security(secure_dir: Path) -> None:
    script = write_script(secure_dir / "check.sh", "exit 0\n")
    script.chmod(0o777)
    command = ScriptCommand(f"{script} --quick")
    assert script_problem(command, ROOT, script_security=False) is None
    problem = script_problem(command, ROOT, script_security=True)
    assert problem is not None
    assert problem.startswith(f"Unsafe permissions found for script '{script}'")


def test_an_explicit_user_and_group_are_looked_up() -> None:
    assert resolve_run_as("root") == RunAs(0, 0, "root")
    assert resolve_run_as("root", "root", script_user="nobody") == RunAs(0, 0, "root")
    with pytest.raises(ScriptUserError, match="Script user 'no-such-user-x' does not exist"):
        resolve_run_as("no-such-user-x")
    with pytest.raises(ScriptUserError, match="Script group 'no-such-group-x' does not exist"):
        resolve_run_as("root", "no-such-group-x")


def test_the_global_script_user_is_the_default() -> None:
    assert resolve_run_as(None, script_user="root") == RunAs(0, 0, "root")


@pytest.mark.skipif(keepalived_script_exists(), reason="keepalived_script exists here")
def test_without_keepalived_script_scripts_run_as_us_unless_script_security_is_on() -> None:
    default = resolve_run_as(None)
    assert (default.uid, default.gid) == (os.geteuid(), os.getegid())
    with pytest.raises(
        ScriptUserError, match="Unable to set default user keepalived_script for script"
    ):
        resolve_run_as(None, script_security=True)


KEEPALIVED_CONFIG = """global_defs {{
  enable_script_security
  script_user root
}}
vrrp_script chk {{
  script "{script}"
  interval 1
}}
vrrp_instance VI_1 {{
  interface lo
  virtual_router_id 51
  priority 100
  virtual_ipaddress {{
    192.0.2.1
  }}
  track_script {{
    chk
  }}
}}
"""


def _make_case(directory: Path, case: str) -> Path:
    """A script laid out as `case` describes, under the secure `directory`."""
    home = directory / case
    home.mkdir()
    home.chmod(0o1777 if case == "sticky-dir" else 0o777 if case == "writable-dir" else 0o755)
    script = write_script(home / "chk.sh", "exit 0\n")
    if case == "world-writable":
        script.chmod(0o777)
    elif case == "non-root-owner":
        os.chown(script, NOBODY, 0)
    elif case in ("group-root-writable", "group-other-writable"):
        script.chmod(0o775)
        os.chown(script, 0, 0 if case == "group-root-writable" else NOBODY)
    return script


@needs_root
@pytest.mark.keepalived
@pytest.mark.parametrize(
    "case",
    [
        "safe",
        "world-writable",
        "writable-dir",
        "sticky-dir",
        "non-root-owner",
        "group-root-writable",
        "group-other-writable",
    ],
)
def test_the_verdict_is_keepalived_s_own(secure_dir: Path, case: str) -> None:
    binary = keepalived_path()
    if binary is None:
        pytest.skip("keepalived is not installed here")
    script = _make_case(secure_dir, case)
    config = secure_dir / "keepalived.conf"
    config.write_text(KEEPALIVED_CONFIG.format(script=script))
    checked = subprocess.run(
        [binary, "--config-test", "-f", str(config), "--log-console", "--log-detail"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    keepalived_refuses = "Disabling track script chk due to insecure" in (
        checked.stdout + checked.stderr
    )
    assert (check_script_security(str(script), 0) is not None) is keepalived_refuses
