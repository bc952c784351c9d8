"""Installer for the pinned Lean stack: elan, the toolchain, a Mathlib project, the REPL.

The installation is a list of small ``Step`` objects, each able to tell whether it is
already done, so a rerun skips finished work and a test can drive the logic with fakes.
Every external command goes through ``CommandRunner`` (one place for PATH and errors).
Network access is checked once, quickly, before any step that needs it.
"""

from __future__ import annotations

import collections
import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from lean_env.errors import BackendUnavailable
from lean_env.stack import (
    DEFAULT_STACK,
    ENV_LEAN_PROJECT,
    ENV_REPL_BIN,
    LeanProject,
    LeanStack,
    config_path,
    default_repl_dir,
    read_config,
    write_config,
)

__all__ = [
    "SetupError",
    "Step",
    "SetupPaths",
    "CommandRunner",
    "NetworkProbe",
    "ELAN_INIT_URL",
    "install_steps",
    "run_steps",
    "record_project",
    "toolchain_mismatch",
    "describe_project",
]

ELAN_INIT_URL = "https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh"
_PROJECT_NAME = "prover_workspace"
_OUTPUT_TAIL_LINES = 5

Echo = Callable[[str], None]


class SetupError(BackendUnavailable):
    """Installing or recording the Lean stack failed; the message is one line saying what and why."""


@dataclass(frozen=True)
class Step:
    """One idempotent installation step: ``run`` is skipped when ``is_done()`` already holds."""

    name: str
    description: str
    is_done: Callable[[], bool]
    run: Callable[[], None]
    needs_network: bool = False


@dataclass(frozen=True)
class SetupPaths:
    """Where the installer puts things under ``cache_dir`` (elan keeps its own home)."""

    cache_dir: Path
    stack: LeanStack = DEFAULT_STACK

    @property
    def project_dir(self) -> Path:
        return self.cache_dir / f"lean-project-{self.stack.repl_tag}"

    @property
    def repl_dir(self) -> Path:
        return default_repl_dir(self.cache_dir, self.stack)

    @property
    def repl_binary(self) -> Path:
        return self.repl_dir / ".lake" / "build" / "bin" / "repl"

    @property
    def elan_home(self) -> Path:
        """``$ELAN_HOME`` or ``~/.elan``, as elan itself decides."""
        return Path(os.environ.get("ELAN_HOME") or Path.home() / ".elan")

    @property
    def config(self) -> Path:
        return config_path(self.cache_dir)


@dataclass(frozen=True)
class CommandRunner:
    """Runs external commands with elan's ``bin`` on PATH, streaming output to ``echo``.

    A failure raises ``SetupError`` naming the command, its exit code and the last output lines.
    """

    bin_dir: Path
    echo: Echo

    def __call__(self, args: Sequence[str], *, cwd: Path | None = None) -> None:
        env = dict(os.environ, PATH=f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
        shown = " ".join(args)
        self.echo(f"$ {shown}" + (f"   (in {cwd})" if cwd else ""))
        tail: collections.deque[str] = collections.deque(maxlen=_OUTPUT_TAIL_LINES)
        try:
            with subprocess.Popen(
                list(args), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            ) as proc:
                assert proc.stdout is not None
                for line in proc.stdout:
                    tail.append(line.rstrip())
                    self.echo("  " + line.rstrip())
                code = proc.wait()
        except FileNotFoundError as exc:
            raise SetupError(f"`{args[0]}` not found (looked on PATH and in {self.bin_dir})") from exc
        if code != 0:
            raise SetupError(f"`{shown}` failed with exit code {code}: {' | '.join(tail) or 'no output'}")


@dataclass(frozen=True)
class NetworkProbe:
    """A short TCP connection attempt telling whether the downloads can possibly work."""

    host: str = "github.com"
    port: int = 443
    timeout: float = 3.0

    def __call__(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout):
                return True
        except OSError:
            return False


def _elan_executable(paths: SetupPaths) -> Path | None:
    found = shutil.which("elan")
    if found:
        return Path(found)
    local = paths.elan_home / "bin" / "elan"
    return local if local.is_file() else None


def _install_elan(paths: SetupPaths, run: CommandRunner) -> None:
    script = paths.cache_dir / "elan-init.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(ELAN_INIT_URL, timeout=30) as response:
            script.write_bytes(response.read())
    except (urllib.error.URLError, OSError) as exc:
        raise SetupError(f"could not download the elan installer from {ELAN_INIT_URL}: {exc}") from exc
    run(["sh", str(script), "-y", "--default-toolchain", "none"])


def _toolchain_dir(paths: SetupPaths) -> Path:
    """elan's directory for the pinned toolchain (``/`` becomes ``--`` and ``:`` becomes ``---``)."""
    dirname = paths.stack.lean_toolchain.replace("/", "--").replace(":", "---")
    return paths.elan_home / "toolchains" / dirname


def _project_files(stack: LeanStack) -> dict[str, str]:
    lakefile = (
        f'name = "{_PROJECT_NAME}"\n\n'
        "[[require]]\n"
        'name = "mathlib"\n'
        f'git = "{stack.mathlib_url}"\n'
        f'rev = "{stack.mathlib_rev}"\n'
    )
    return {"lakefile.toml": lakefile, "lean-toolchain": stack.lean_toolchain + "\n"}


def _files_match(root: Path, files: dict[str, str]) -> bool:
    return all((root / name).is_file() and (root / name).read_text(encoding="utf-8") == text for name, text in files.items())


def _write_files(root: Path, files: dict[str, str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")


def _clone_repl(paths: SetupPaths, run: CommandRunner) -> None:
    """Clone next to the target, then rename, so an interrupted clone never looks finished."""
    partial = paths.repl_dir.with_name(paths.repl_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    run(["git", "clone", "--depth", "1", "--branch", paths.stack.repl_tag, paths.stack.repl_url, str(partial)])
    partial.rename(paths.repl_dir)


def _config_values(project: LeanProject, stack: LeanStack) -> dict[str, str]:
    return {
        "lean_project": str(project.root),
        "repl_binary": str(project.repl_binary),
        "lean_toolchain": stack.lean_toolchain,
        "mathlib_rev": stack.mathlib_rev,
        "repl_tag": stack.repl_tag,
    }


def install_steps(paths: SetupPaths, run: CommandRunner) -> list[Step]:
    """The full installation for ``paths.stack``, in order."""
    stack, project, repl = paths.stack, paths.project_dir, paths.repl_dir
    files = _project_files(stack)
    mathlib = project / ".lake" / "packages" / "mathlib"
    target = LeanProject(root=project, repl_binary=paths.repl_binary)
    return [
        Step(
            "elan",
            f"install the Lean toolchain manager elan into {paths.elan_home}",
            lambda: _elan_executable(paths) is not None,
            lambda: _install_elan(paths, run),
            needs_network=True,
        ),
        Step(
            "toolchain",
            f"elan toolchain install {stack.lean_toolchain}",
            lambda: _toolchain_dir(paths).is_dir(),
            lambda: run(["elan", "toolchain", "install", stack.lean_toolchain]),
            needs_network=True,
        ),
        Step(
            "project",
            f"write a Lake project requiring Mathlib {stack.mathlib_rev[:12]} in {project}",
            lambda: _files_match(project, files),
            lambda: _write_files(project, files),
        ),
        Step(
            "mathlib",
            "lake update: fetch Mathlib and its dependencies at the pinned revisions",
            lambda: (project / "lake-manifest.json").is_file() and (mathlib / "lakefile.lean").is_file(),
            lambda: run(["lake", "update"], cwd=project),
            needs_network=True,
        ),
        Step(
            "mathlib-cache",
            "lake exe cache get: download Mathlib's prebuilt .olean files",
            lambda: (mathlib / ".lake" / "build" / "lib" / "lean" / "Mathlib.olean").is_file(),
            lambda: run(["lake", "exe", "cache", "get"], cwd=project),
            needs_network=True,
        ),
        Step(
            "repl-source",
            f"git clone {stack.repl_url} at tag {stack.repl_tag} into {repl}",
            lambda: (repl / "lean-toolchain").is_file(),
            lambda: _clone_repl(paths, run),
            needs_network=True,
        ),
        Step(
            "repl-build",
            f"lake build the REPL (binary {paths.repl_binary})",
            lambda: paths.repl_binary.is_file(),
            lambda: run(["lake", "build"], cwd=repl),
        ),
        Step(
            "config",
            f"record the project in {paths.config}",
            lambda: read_config(paths.cache_dir) == _config_values(target, stack),
            lambda: record_project(target, paths.cache_dir, stack),
        ),
    ]


def run_steps(steps: Sequence[Step], *, probe: Callable[[], bool], echo: Echo) -> list[str]:
    """Run the steps not yet done, in order; returns the names of those that ran.

    When a pending step needs the network and ``probe()`` says it is unreachable, fail
    before running anything, naming what is missing and the ``--lean-project`` way out.
    """
    pending = [step for step in steps if not step.is_done()]
    offline_needs = [step.name for step in pending if step.needs_network]
    if offline_needs and not probe():
        raise SetupError(
            f"no network: still missing {', '.join(offline_needs)}, which must be downloaded; "
            "rerun with network access or point at an existing Lean project with `prover setup --lean-project PATH`"
        )
    ran = []
    for step in steps:
        if step.is_done():
            echo(f"[done] {step.name}")
            continue
        echo(f"[run]  {step.name}: {step.description}")
        step.run()
        if not step.is_done():
            raise SetupError(f"step {step.name!r} ran but its result is missing ({step.description})")
        ran.append(step.name)
    return ran


def record_project(project: LeanProject, cache_dir: Path, stack: LeanStack = DEFAULT_STACK) -> LeanProject:
    """Validate ``project`` and write it, with absolute paths, to the config file; returns what was written."""
    project.validate()
    resolved = LeanProject(root=project.root.resolve(), repl_binary=project.repl_binary.resolve())
    write_config(_config_values(resolved, stack), cache_dir)
    return resolved


def toolchain_mismatch(project: LeanProject, stack: LeanStack = DEFAULT_STACK) -> str | None:
    """A warning when the project's ``lean-toolchain`` is not the pinned one, else ``None``."""
    found = (project.root / "lean-toolchain").read_text(encoding="utf-8").strip()
    if found == stack.lean_toolchain:
        return None
    return f"warning: {project.root} uses {found}, not the pinned {stack.lean_toolchain}; results may differ"


def describe_project(project: LeanProject, config: Path) -> list[str]:
    """Lines telling the user where everything is and how to override it."""
    return [
        f"Lean project : {project.root}   (override: env {ENV_LEAN_PROJECT}, config key lean_project)",
        f"REPL binary  : {project.repl_binary}   (override: env {ENV_REPL_BIN}, config key repl_binary)",
        f"REPL command : {' '.join(project.repl_command())}   (run in the project directory)",
        f"config file  : {config}",
    ]
