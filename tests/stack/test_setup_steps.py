"""The installer logic: idempotent steps, the offline fast-fail, the command runner, the real step list.

No test sends traffic anywhere but the loopback interface: the offline case injects a probe.
"""

from __future__ import annotations

import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lean_env.errors import BackendUnavailable
from lean_env.setup import (
    CommandRunner,
    NetworkProbe,
    SetupError,
    SetupPaths,
    Step,
    install_steps,
    record_project,
    run_steps,
    toolchain_mismatch,
)
from lean_env.stack import DEFAULT_STACK, LeanProject, find_lean_project, read_config


@dataclass
class FakeWork:
    """A unit of work that becomes done when run, counting its runs."""

    done: bool = False
    runs: int = 0

    def run(self) -> None:
        self.runs += 1
        self.done = True


@dataclass
class Recorder:
    lines: list[str] = field(default_factory=list)

    def __call__(self, line: str) -> None:
        self.lines.append(line)


def fake_step(name: str, work: FakeWork, *, network: bool = False) -> Step:
    return Step(name, f"do {name}", lambda: work.done, work.run, needs_network=network)


def test_only_pending_steps_run_and_a_rerun_does_nothing() -> None:
    works = {"a": FakeWork(done=True), "b": FakeWork(), "c": FakeWork()}
    steps = [fake_step(name, work, network=True) for name, work in works.items()]
    assert run_steps(steps, probe=lambda: True, echo=Recorder()) == ["b", "c"]
    echo = Recorder()
    assert run_steps(steps, probe=lambda: True, echo=echo) == []
    assert [w.runs for w in works.values()] == [0, 1, 1]
    assert echo.lines == ["[done] a", "[done] b", "[done] c"]


def test_offline_fails_before_running_anything_and_says_what_is_missing() -> None:
    local, remote = FakeWork(), FakeWork()
    steps = [fake_step("project", local), fake_step("mathlib-cache", remote, network=True)]
    with pytest.raises(SetupError) as info:
        run_steps(steps, probe=lambda: False, echo=Recorder())
    message = str(info.value)
    assert "no network" in message and "mathlib-cache" in message and "--lean-project PATH" in message
    assert "project," not in message  # local steps are not listed as downloads
    assert local.runs == remote.runs == 0


def test_probe_is_not_consulted_when_nothing_pending_needs_the_network() -> None:
    def probe() -> bool:
        raise AssertionError("probe must not be called")

    steps = [fake_step("elan", FakeWork(done=True), network=True), fake_step("config", FakeWork())]
    assert run_steps(steps, probe=probe, echo=Recorder()) == ["config"]


def test_a_step_that_does_not_achieve_its_result_is_an_error() -> None:
    broken = Step("repl-build", "build", lambda: False, lambda: None)
    with pytest.raises(SetupError, match="'repl-build' ran but its result is missing"):
        run_steps([broken], probe=lambda: True, echo=Recorder())


def test_network_probe_on_loopback() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert NetworkProbe(host="127.0.0.1", port=port, timeout=1.0)()
    start = time.monotonic()
    assert not NetworkProbe(host="127.0.0.1", port=port, timeout=1.0)()  # closed now: refused at once
    assert time.monotonic() - start < 1.0


def test_runner_streams_output_and_puts_the_bin_dir_on_path(tmp_path: Path) -> None:
    echo = Recorder()
    code = "import os; print('hello'); print(os.environ['PATH'].split(os.pathsep)[0])"
    CommandRunner(bin_dir=tmp_path, echo=echo)([sys.executable, "-c", code], cwd=tmp_path)
    assert echo.lines[1:] == ["  hello", f"  {tmp_path}"]
    assert echo.lines[0].startswith(f"$ {sys.executable} -c") and f"(in {tmp_path})" in echo.lines[0]


def test_runner_failure_is_one_line_with_exit_code_and_output_tail(tmp_path: Path) -> None:
    code = "import sys; print('first'); print('cache: 404 Not Found'); sys.exit(3)"
    with pytest.raises(SetupError) as info:
        CommandRunner(bin_dir=tmp_path, echo=Recorder())([sys.executable, "-c", code])
    message = str(info.value)
    assert "exit code 3" in message and "first | cache: 404 Not Found" in message and "\n" not in message


def test_runner_reports_a_missing_program(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="`no-such-program-xyz` not found"):
        CommandRunner(bin_dir=tmp_path, echo=Recorder())(["no-such-program-xyz"])


def test_real_steps_in_order_and_their_done_checks(tmp_path: Path, isolated_env: Path) -> None:
    paths = SetupPaths(cache_dir=isolated_env)
    steps = {s.name: s for s in install_steps(paths, CommandRunner(bin_dir=tmp_path, echo=Recorder()))}
    assert list(steps) == [
        "elan", "toolchain", "project", "mathlib", "mathlib-cache", "repl-source", "repl-build", "config",
    ]
    assert {name for name, s in steps.items() if s.needs_network} == {
        "elan", "toolchain", "mathlib", "mathlib-cache", "repl-source",
    }
    assert not any(s.is_done() for s in steps.values())
    (paths.elan_home / "toolchains" / "leanprover--lean4---v4.24.0").mkdir(parents=True)
    assert steps["toolchain"].is_done()

    steps["project"].run()
    lakefile = (paths.project_dir / "lakefile.toml").read_text()
    assert f'rev = "{DEFAULT_STACK.mathlib_rev}"' in lakefile and 'name = "mathlib"' in lakefile
    assert (paths.project_dir / "lean-toolchain").read_text().strip() == DEFAULT_STACK.lean_toolchain
    assert steps["project"].is_done()
    (paths.project_dir / "lakefile.toml").write_text(lakefile.replace(DEFAULT_STACK.mathlib_rev, "master"))
    assert not steps["project"].is_done()  # a drifted project is rewritten on the next run


def test_config_step_records_the_installed_layout(tmp_path: Path, isolated_env: Path) -> None:
    paths = SetupPaths(cache_dir=isolated_env)
    steps = {s.name: s for s in install_steps(paths, CommandRunner(bin_dir=tmp_path, echo=Recorder()))}
    steps["project"].run()
    paths.repl_binary.parent.mkdir(parents=True)
    paths.repl_binary.write_text("")
    assert steps["repl-build"].is_done()
    steps["config"].run()
    assert steps["config"].is_done()
    found = find_lean_project()
    assert found == LeanProject(root=paths.project_dir.resolve(), repl_binary=paths.repl_binary.resolve())
    assert read_config()["mathlib_rev"] == DEFAULT_STACK.mathlib_rev


def test_record_project_refuses_an_incomplete_layout(fake_project: LeanProject, isolated_env: Path) -> None:
    fake_project.repl_binary.unlink()
    with pytest.raises(BackendUnavailable, match="REPL binary"):
        record_project(fake_project, isolated_env)
    assert read_config() == {}


def test_toolchain_mismatch_warns_only_on_a_different_toolchain(fake_project: LeanProject) -> None:
    assert toolchain_mismatch(fake_project) is None
    (fake_project.root / "lean-toolchain").write_text("leanprover/lean4:v4.9.0\n")
    assert "v4.9.0" in toolchain_mismatch(fake_project)
