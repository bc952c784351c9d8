"""The pinned Lean stack and how to find a Lean project that satisfies it.

Statements, REPL transcripts and results are only comparable on one exact setup, so
the versions live here in one place. A *Lean project* is a Lake project whose
dependencies include Mathlib (``import Mathlib`` works under ``lake env``), together
with a built leanprover-community REPL binary run inside it.

Where things are looked up (first hit wins):

* the project: an explicit path (``--lean-project``), else env ``PROVER_LEAN_PROJECT``,
  else key ``lean_project`` of ``<cache dir>/config.toml`` written by ``prover setup``;
* the REPL binary: env ``PROVER_REPL_BIN``, else key ``repl_binary`` of that config,
  else ``<cache dir>/repl-<tag>/.lake/build/bin/repl`` (where ``prover setup`` builds it);
* the cache dir: env ``PROVER_CACHE_DIR``, else ``~/.cache/lean-prover``.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from lean_env.errors import BackendUnavailable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "LeanStack",
    "DEFAULT_STACK",
    "LeanProject",
    "ENV_LEAN_PROJECT",
    "ENV_REPL_BIN",
    "ENV_CACHE_DIR",
    "CONFIG_FILE",
    "default_cache_dir",
    "config_path",
    "default_repl_dir",
    "read_config",
    "write_config",
    "find_lean_project",
]

ENV_LEAN_PROJECT = "PROVER_LEAN_PROJECT"
ENV_REPL_BIN = "PROVER_REPL_BIN"
ENV_CACHE_DIR = "PROVER_CACHE_DIR"
CONFIG_FILE = "config.toml"
_LAKEFILES = ("lakefile.lean", "lakefile.toml")


@dataclass(frozen=True)
class LeanStack:
    """Exact versions of Lean, Mathlib and the REPL that belong together.

    The default is the stack of the primary MiniF2F set (yangky11/miniF2F-lean4); the
    REPL tag ``v4.24.0`` is tested upstream against this very Mathlib rev.
    """

    lean_toolchain: str = "leanprover/lean4:v4.24.0"
    mathlib_rev: str = "f897ebcf72cd16f89ab4577d0c826cd14afaafc7"
    repl_tag: str = "v4.24.0"
    mathlib_url: str = "https://github.com/leanprover-community/mathlib4"
    repl_url: str = "https://github.com/leanprover-community/repl"


DEFAULT_STACK = LeanStack()


@dataclass(frozen=True)
class LeanProject:
    """A Lake project with Mathlib plus the REPL binary to run in it."""

    root: Path
    repl_binary: Path

    def repl_command(self) -> tuple[str, ...]:
        """The REPL command line; run it with ``cwd=root`` so ``lake env`` sets the Mathlib search path."""
        return ("lake", "env", str(self.repl_binary))

    @property
    def toolchain(self) -> str | None:
        """The project's ``lean-toolchain`` (``None`` if unreadable)."""
        return _read_toolchain(self.root)

    @property
    def repl_toolchain(self) -> str | None:
        """The toolchain the REPL binary was built with, when it sits in a Lake build
        layout (``<repl>/.lake/build/bin/repl`` next to ``<repl>/lean-toolchain``)."""
        parents = self.repl_binary.parents
        if len(parents) < 4 or [p.name for p in parents[:3]] != ["bin", "build", ".lake"]:
            return None
        return _read_toolchain(parents[3])

    def validate(self) -> None:
        """Raise ``BackendUnavailable`` with a one-line reason unless the layout is complete
        and the REPL was built for the project's toolchain (a REPL must match its Lean:
        one built for another version fails on every start)."""
        if not self.root.is_dir():
            raise BackendUnavailable(f"Lean project {self.root} is not a directory")
        if not any((self.root / name).is_file() for name in _LAKEFILES):
            raise BackendUnavailable(f"Lean project {self.root} has no lakefile.lean or lakefile.toml")
        if not (self.root / "lean-toolchain").is_file():
            raise BackendUnavailable(f"Lean project {self.root} has no lean-toolchain file")
        if not self.repl_binary.is_file():
            raise BackendUnavailable(
                f"REPL binary {self.repl_binary} not found (build it with `prover setup` or set {ENV_REPL_BIN})"
            )
        project, repl = self.toolchain, self.repl_toolchain
        if project and repl and project != repl:
            tag = project.rpartition(":")[2]
            raise BackendUnavailable(
                f"Lean project {self.root} uses {project} but the REPL {self.repl_binary} was built with {repl}; "
                f"build the REPL at tag {tag} (git clone --branch {tag} {DEFAULT_STACK.repl_url} && lake build) "
                f"and set {ENV_REPL_BIN} to it, or use a project on {repl}"
            )


def _read_toolchain(directory: Path) -> str | None:
    try:
        return (directory / "lean-toolchain").read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def default_cache_dir() -> Path:
    """``$PROVER_CACHE_DIR`` or ``~/.cache/lean-prover``."""
    override = os.environ.get(ENV_CACHE_DIR)
    return Path(override).expanduser() if override else Path.home() / ".cache" / "lean-prover"


def config_path(cache_dir: Path | None = None) -> Path:
    """Location of the config file that ``prover setup`` writes."""
    return (cache_dir or default_cache_dir()) / CONFIG_FILE


def default_repl_dir(cache_dir: Path | None = None, stack: LeanStack = DEFAULT_STACK) -> Path:
    """Where ``prover setup`` clones and builds the REPL for ``stack``."""
    return (cache_dir or default_cache_dir()) / f"repl-{stack.repl_tag}"


def read_config(cache_dir: Path | None = None) -> dict[str, str]:
    """The setup config as a dict (empty when absent); a corrupt file is reported, not ignored."""
    path = config_path(cache_dir)
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BackendUnavailable(f"config {path} is not valid TOML ({exc}); rerun `prover setup`") from exc
    return {key: str(value) for key, value in data.items()}


def write_config(values: dict[str, str], cache_dir: Path | None = None) -> Path:
    """Write flat string ``values`` as TOML; returns the file's path.

    JSON string escapes are a subset of TOML basic-string escapes, hence ``json.dumps``.
    """
    path = config_path(cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by `prover setup`; edit or rerun it to change.\n"]
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}\n" for key, value in sorted(values.items())]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(lines), encoding="utf-8")
    tmp.replace(path)
    return path


def find_lean_project(explicit: Path | None = None, *, cache_dir: Path | None = None) -> LeanProject | None:
    """Locate the Lean project (see the module docstring for the order); ``None`` if none is configured.

    The result is not validated: call ``validate()`` before starting a process.
    """
    config = read_config(cache_dir)
    root_text = str(explicit) if explicit is not None else os.environ.get(ENV_LEAN_PROJECT) or config.get("lean_project")
    if not root_text:
        return None
    repl_text = os.environ.get(ENV_REPL_BIN) or config.get("repl_binary")
    repl_binary = Path(repl_text) if repl_text else default_repl_dir(cache_dir) / ".lake" / "build" / "bin" / "repl"
    return LeanProject(root=Path(root_text).expanduser(), repl_binary=repl_binary.expanduser())
