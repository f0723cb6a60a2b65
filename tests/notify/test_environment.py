"""Scripts get a small fixed environment, never havip's own: a collector's API key in
OTEL_EXPORTER_OTLP_HEADERS or systemd's NOTIFY_SOCKET must not reach a notify or track script."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
import trio

from havip.notify.environment import DEFAULT_PATH, script_environment
from havip.notify.runner import NotifyDispatcher, NotifyScripts, RunAs, ScriptCommand, run_command
from havip.track.scripts import ScriptTracker, TrackScript

from .processes import write_script
from .test_dispatcher import running

SECRETS = {
    "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer collector-api-key",
    "NOTIFY_SOCKET": "/run/systemd/notify",
    "HAVIP_METRICS_LISTEN": "127.0.0.1:10112",
    "LD_PRELOAD": "/tmp/evil.so",
}


@pytest.fixture
def polluted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("LC_TIME", "C")
    monkeypatch.setenv("TZ", "UTC")


def dumped(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def expected_identity(uid: int) -> dict[str, str]:
    entry = pwd.getpwuid(uid)
    return {"HOME": entry.pw_dir, "USER": entry.pw_name, "LOGNAME": entry.pw_name}


async def test_a_script_sees_path_locale_and_its_identity_only(
    tmp_path: Path, polluted: None
) -> None:
    out = tmp_path / "env"
    # `env` itself, executed directly (no shell adds PWD or SHLVL), with its output redirected
    # by a shell only at the end: /usr/bin/env prints exactly what it was given.
    outcome = await run_command(["/bin/sh", "-c", f"exec /usr/bin/env > {out}"], 10)
    assert outcome.result == "success"
    env = dumped(out)
    env.pop("PWD", None)  # dash exports PWD for what it execs
    assert env == {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "LC_TIME": "C",
        "TZ": "UTC",
        "SHELL": pwd.getpwuid(os.geteuid()).pw_shell,
        **expected_identity(os.geteuid()),
    }


def test_without_a_path_scripts_get_the_usual_system_one() -> None:
    env = script_environment({"OTEL_EXPORTER_OTLP_HEADERS": "x"}, os.geteuid())
    assert env["PATH"] == DEFAULT_PATH
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in env


@pytest.mark.skipif(os.geteuid() != 0, reason="switching user needs root")
async def test_a_script_run_as_another_user_gets_that_users_identity(polluted: None) -> None:
    identity = expected_identity(65534)
    check = " && ".join(f'[ "${name}" = {value} ]' for name, value in identity.items())
    nobody = RunAs(65534, 65534, "nobody")
    as_nobody = await run_command(ScriptCommand(check).argv(), 10, nobody)
    as_root = await run_command(ScriptCommand(check).argv(), 10)
    assert (as_nobody.result, as_root.result) == ("success", "failure")


async def test_track_and_notify_scripts_do_not_see_havips_secrets(
    tmp_path: Path, polluted: None
) -> None:
    track_out, notify_out = tmp_path / "track-env", tmp_path / "notify-env"
    track_script = write_script(tmp_path / "track.sh", f"/usr/bin/env > {track_out}\n")
    notify_script = write_script(tmp_path / "notify.sh", f"/usr/bin/env > {notify_out}\n")
    track = TrackScript("chk", ScriptCommand(str(track_script)), interval=60)
    tracker = ScriptTracker(track, on_result=lambda *_: None, on_change=lambda *_: None)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(tracker.run)
            while not track_out.exists() or not track_out.read_text():
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    scripts = NotifyScripts(notify=ScriptCommand(str(notify_script)))
    async with running(NotifyDispatcher(on_done=lambda _run: None)) as dispatcher:
        dispatcher.notify("INSTANCE", "VI_1", "MASTER", 100, scripts)
    for out in (track_out, notify_out):
        env = dumped(out)
        assert env["PATH"] == os.environ["PATH"]
        assert not set(SECRETS) & set(env), out.name
