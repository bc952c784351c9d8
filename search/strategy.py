"""Strategy tables: which search strategy to run for a theorem of a given predicted
difficulty and a given total budget (Snell et al. 2024, compute-optimal test-time scaling).

``prover calibrate`` measures a grid of strategies on a validation set and writes a table;
the ``compute-optimal`` policy reads it and picks per theorem. The file is TOML, written
to be read by a person (docs/test-time-compute.md documents every key)::

    kind = "tactic"          # proposer kind every strategy of the table uses
    unit = "tokens"          # the budget the table's budgets count (Budget.max_tokens)
    signal = "pilot"         # difficulty signal: "pilot" or "root-value"
    pilot = 4                # pilot samples spent (from the same budget) before choosing
    edges = [0.42, 0.61]     # upper difficulty edges of every bin but the last
    budgets = [64, 256]      # total budgets the table has a choice for

    [[choice]]
    bin = 0                  # difficulty <= 0.42
    budget = 64
    policy = "best-first"
    params = { k = 4 }
    solved = 31              # calibration theorems of this bin solved by the choice
    theorems = 33            # calibration theorems in this bin
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from search.errors import SearchConfigError
from search.proposer import ProposerKind

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["Signal", "Strategy", "Choice", "StrategyTable", "read_strategy_table"]

Signal = Literal["pilot", "root-value"]
"""Where a theorem's predicted difficulty comes from: a pilot of a few samples, or the
value of the root state (the value model's, the goal heuristic's without one)."""


@dataclass(frozen=True)
class Strategy:
    """A policy name and its parameters, as ``resolve_policy`` takes them."""

    policy: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``policy k=v ...``, the strategy as tables and reports name it."""
        return " ".join([self.policy, *(f"{k}={v}" for k, v in sorted(self.params.items()))])


@dataclass(frozen=True)
class Choice:
    """The strategy chosen for one (difficulty bin, total budget) cell, with the
    calibration evidence: ``solved`` of the bin's ``theorems``."""

    bin: int
    budget: int
    strategy: Strategy
    solved: int
    theorems: int


@dataclass(frozen=True)
class StrategyTable:
    """Per difficulty bin and total budget, the strategy to run (see the module docstring)."""

    kind: ProposerKind
    signal: Signal
    pilot: int
    edges: tuple[float, ...]
    budgets: tuple[int, ...]
    choices: tuple[Choice, ...]
    unit: str = "tokens"

    def __post_init__(self) -> None:
        if self.kind not in ("tactic", "proof") or self.signal not in ("pilot", "root-value") or self.unit != "tokens":
            raise SearchConfigError("strategy table: kind must be tactic or proof, signal pilot or root-value, unit tokens")
        cells = {(c.bin, c.budget) for c in self.choices}
        wanted = {(b, budget) for b in range(len(self.edges) + 1) for budget in self.budgets}
        if not self.budgets or cells != wanted or list(self.edges) != sorted(self.edges):
            raise SearchConfigError("strategy table: edges must be sorted and every (bin, budget) cell needs one choice")

    @classmethod
    def fixed(cls, strategy: Strategy, *, kind: ProposerKind, signal: Signal, pilot: int) -> "StrategyTable":
        """A one-cell table that always picks ``strategy`` (after the same pilot): how
        ``prover calibrate`` measures each strategy exactly as compute-optimal would run it."""
        return cls(kind=kind, signal=signal, pilot=pilot, edges=(), budgets=(0,),
                   choices=(Choice(bin=0, budget=0, strategy=strategy, solved=0, theorems=0),))

    def bin_of(self, difficulty: float) -> int:
        """The bin of a difficulty: the first whose upper edge is at least it."""
        return bisect.bisect_left(self.edges, difficulty)

    def pick(self, difficulty: float, budget: int | None) -> Strategy:
        """The strategy for ``difficulty`` at the largest table budget not above ``budget``
        (the smallest one below every budget; the largest with no limit)."""
        fitting = [b for b in self.budgets if budget is None or b <= budget]
        column = max(fitting) if fitting else min(self.budgets)
        cell = (self.bin_of(difficulty), column)
        return next(c.strategy for c in self.choices if (c.bin, c.budget) == cell)

    def to_toml(self, *, comment: str = "") -> str:
        """The table as TOML (strings quoted as JSON, which TOML accepts), led by ``comment`` lines."""
        lines = [f"# {line}".rstrip() for line in comment.splitlines()]
        lines += [f"kind = {json.dumps(self.kind)}", f"unit = {json.dumps(self.unit)}",
                  f"signal = {json.dumps(self.signal)}", f"pilot = {self.pilot}",
                  f"edges = [{', '.join(f'{e:.4g}' for e in self.edges)}]",
                  f"budgets = [{', '.join(map(str, self.budgets))}]"]
        for c in sorted(self.choices, key=lambda c: (c.bin, c.budget)):
            params = ", ".join(f"{k} = {json.dumps(v)}" for k, v in sorted(c.strategy.params.items()))
            lines += ["", "[[choice]]", f"bin = {c.bin}", f"budget = {c.budget}",
                      f"policy = {json.dumps(c.strategy.policy)}", f"params = {{ {params} }}" if params else "params = {}",
                      f"solved = {c.solved}", f"theorems = {c.theorems}"]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str) -> "StrategyTable":
        """Parse ``to_toml``'s format; ``SearchConfigError`` says what is wrong."""
        try:
            data = tomllib.loads(text)
            choices = tuple(
                Choice(bin=int(c["bin"]), budget=int(c["budget"]),
                       strategy=Strategy(str(c["policy"]), dict(c.get("params", {}))),
                       solved=int(c.get("solved", 0)), theorems=int(c.get("theorems", 0)))
                for c in data["choice"]
            )
            return cls(kind=data["kind"], signal=data["signal"], pilot=int(data["pilot"]),
                       edges=tuple(float(e) for e in data["edges"]), budgets=tuple(int(b) for b in data["budgets"]),
                       choices=choices, unit=data.get("unit", "tokens"))
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise SearchConfigError(f"not a strategy table: {type(exc).__name__}: {exc}") from None


def read_strategy_table(path: str | Path) -> StrategyTable:
    """Read a strategy table file; a missing or malformed file is a ``SearchConfigError``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SearchConfigError(f"cannot read strategy table {path}: {exc.strerror or exc}") from None
    return StrategyTable.from_toml(text)
