"""Calibration of compute-optimal search: measure a grid of strategies at several total
budgets on a validation set, bin its theorems by a predicted difficulty, and choose per
(bin, budget) the strategy that solved most (Snell et al. 2024, arXiv 2408.03314).

Each strategy is measured exactly as ``compute-optimal`` would run it at test time: the
pilot first (its cost taken from the same budget), then the strategy on the graph the
pilot grew. Every run is a normal run directory (resumable) under ``OUT/runs``.
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar, Sequence

from prover.agent import Agent
from prover.data import Dataset
from prover.data.jsonl import write_text_atomically
from prover.metrics import auc
from prover.runs import Run
from search import Budget, SearchConfigError, SearchContext
from search.policies import resolve_policy
from search.policies.compute_optimal import ComputeOptimal, predict_difficulty
from search.proposer import ProposerKind
from search.strategy import Choice, Signal, Strategy, StrategyTable

__all__ = ["DEFAULT_GRIDS", "Calibration", "calibrate", "signal_auc"]

DEFAULT_GRIDS: dict[str, tuple[Strategy, ...]] = {
    "tactic": (
        Strategy("best-first", {"k": 4}),
        Strategy("best-first", {"k": 8}),
        Strategy("beam", {"width": 4, "k": 4, "max_depth": 16}),
        Strategy("mcts", {"k": 4}),
        Strategy("rollouts", {"n": 10_000, "max_depth": 16, "concurrent": 4}),
    ),
    "proof": (
        Strategy("pass-n", {"n": 10_000, "per_call": 8}),
        Strategy("revise", {"n": 10_000, "depth": 2, "concurrent": 2}),
        Strategy("revise", {"n": 10_000, "depth": 4, "concurrent": 2}),
        Strategy("revise", {"n": 10_000, "depth": 8, "concurrent": 2}),
    ),
}
"""Strategies measured when no grid is given, per proposer kind: their sample counts are
large so that the token budget, not the strategy, ends each search; revision chains run
two at a time, so that small budgets still reach the chains' later rounds."""


@dataclass(frozen=True)
class _Probe:
    """A policy that only predicts the theorem's difficulty and records it in ``out``."""

    name: ClassVar[str] = "difficulty-probe"
    kind: ProposerKind
    signal: Signal
    pilot: int
    depth: int
    out: dict

    @property
    def proposer_kind(self) -> ProposerKind:
        return self.kind

    async def run(self, ctx: SearchContext) -> None:
        self.out[ctx.theorem.name] = await predict_difficulty(ctx, kind=self.kind, signal=self.signal,
                                                              pilot=self.pilot, depth=self.depth)


@dataclass(frozen=True)
class Calibration:
    """What ``calibrate`` measured: each signal's difficulty per theorem, each
    (strategy label, budget) cell's solved theorems, and the table chosen from them."""

    difficulties: dict[str, dict[str, float]]
    solved: dict[tuple[str, int], frozenset[str]]
    table: StrategyTable
    theorems: tuple[str, ...]


def calibrate(
    agent: Agent,
    data: Dataset,
    *,
    kind: ProposerKind,
    strategies: Sequence[Strategy],
    budgets: Sequence[int],
    signal: Signal,
    pilot: int,
    bins: int,
    out: Path,
    pilot_depth: int = 16,
    seed: int = 0,
    limits: Budget = Budget(),
    on_run: Callable[[str, Run], None] | None = None,
) -> Calibration:
    """Measure ``strategies`` x ``budgets`` (tokens) on ``data`` after ``signal``'s pilot,
    bin the theorems into ``bins`` quantiles of that signal's difficulty, and write
    ``OUT/strategy.toml`` and ``OUT/calibration.md``. Both signals' difficulties are
    predicted, so the report can compare how well each foretells failure. ``limits``
    bounds every search too (its token limit is replaced by each budget)."""
    for strategy in strategies:
        chosen = resolve_policy(strategy.policy, strategy.params)
        if chosen.proposer_kind != kind:
            raise SearchConfigError(f"strategy {strategy.label!r} needs a {chosen.proposer_kind!r} proposer, the grid is {kind!r}")
    names = tuple(t.name for t in data.theorems)
    difficulties: dict[str, dict[str, float]] = {}
    for each in ("pilot", "root-value"):
        found: dict[str, float] = {}
        agent.run(data, policy=_Probe(kind, each, pilot, pilot_depth, found), budget=limits, attempts=1, seed=seed)
        difficulties[each] = found
    solved: dict[tuple[str, int], frozenset[str]] = {}
    tables = out / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    for index, strategy in enumerate(strategies):
        path = tables / f"{index:02d}-{strategy.policy}.toml"
        write_text_atomically(path, StrategyTable.fixed(strategy, kind=kind, signal=signal, pilot=pilot).to_toml(
            comment=f"calibration of {strategy.label} after the {signal} pilot"))
        policy = ComputeOptimal(strategy=str(path), pilot_depth=pilot_depth)
        for budget in budgets:
            name = f"{index:02d}-{strategy.policy}@{budget}"
            run = agent.run(data, policy=policy, budget=dataclasses.replace(limits, max_tokens=budget), attempts=1, seed=seed,
                            out=out / "runs" / name, resume=True)
            solved[(strategy.label, budget)] = run.solved
            if on_run is not None:
                on_run(name, run)
    edges = _quantile_edges([difficulties[signal].get(n, 1.0) for n in names], bins)
    table = _choose(kind=kind, signal=signal, pilot=pilot, edges=edges, budgets=tuple(budgets), strategies=strategies,
                    solved=solved, difficulty={n: difficulties[signal].get(n, 1.0) for n in names})
    calibration = Calibration(difficulties=difficulties, solved=solved, table=table, theorems=names)
    write_text_atomically(out / "strategy.toml", table.to_toml(comment=_TABLE_COMMENT.format(dataset=data.name)))
    write_text_atomically(out / "calibration.md", _markdown(calibration, strategies, data.name))
    return calibration


_TABLE_COMMENT = """Strategy table written by 'prover calibrate' on {dataset}.
Use: prover bench --policy compute-optimal --strategy THIS_FILE --max-tokens B ...
Per difficulty bin and total budget (generated tokens), the strategy that solved most
calibration theorems; the format is documented in docs/test-time-compute.md."""


def _quantile_edges(values: list[float], bins: int) -> tuple[float, ...]:
    """Upper edges of ``bins`` equal-count bins (fewer when values repeat)."""
    ordered = sorted(values)
    if bins <= 1 or not ordered:
        return ()
    cuts = {ordered[min(len(ordered) - 1, (len(ordered) * i) // bins - 1)] for i in range(1, bins)}
    return tuple(sorted(c for c in cuts if c < ordered[-1]))


def _choose(*, kind: ProposerKind, signal: Signal, pilot: int, edges: tuple[float, ...], budgets: tuple[int, ...],
            strategies: Sequence[Strategy], solved: dict[tuple[str, int], frozenset[str]],
            difficulty: dict[str, float]) -> StrategyTable:
    """Per (bin, budget), the strategy solving most of the bin's theorems (the earlier in
    the grid on a tie, so list cheaper strategies first)."""
    probe = StrategyTable(kind=kind, signal=signal, pilot=pilot, edges=edges, budgets=(0,),
                          choices=tuple(Choice(b, 0, strategies[0], 0, 0) for b in range(len(edges) + 1)))
    members = {b: {n for n, d in difficulty.items() if probe.bin_of(d) == b} for b in range(len(edges) + 1)}
    choices = []
    for b, names in members.items():
        for budget in budgets:
            best = max(strategies, key=lambda s: (len(solved[(s.label, budget)] & names), -strategies.index(s)))
            choices.append(Choice(b, budget, best, len(solved[(best.label, budget)] & names), len(names)))
    return dataclasses.replace(probe, budgets=budgets, choices=tuple(choices))


def signal_auc(difficulty: dict[str, float], unsolved: set[str]) -> float | None:
    """How well a difficulty foretells failure: the probability that an unsolved theorem
    is rated harder than a solved one (ties count half); ``None`` without both kinds."""
    return auc([d for n, d in difficulty.items() if n in unsolved], [d for n, d in difficulty.items() if n not in unsolved])


def _markdown(calibration: Calibration, strategies: Sequence[Strategy], dataset: str) -> str:
    """The calibration as a person reads it: each signal's AUC, then per budget the
    solved count of every strategy in every bin, the chosen one in bold."""
    table = calibration.table
    cells = calibration.solved
    bins = range(len(table.edges) + 1)
    counts = {c.bin: c.theorems for c in table.choices}
    everything = set(calibration.theorems)
    unsolved_by_most = {n for n in everything
                        if sum(n in s for s in cells.values()) * 2 < len(cells)}
    lines = [f"# Calibration on {dataset}", "",
             f"{len(everything)} theorems; budgets in generated tokens; strategies run after the "
             f"`{table.signal}` signal's pilot ({table.pilot} samples), as compute-optimal runs them.", "",
             "## Difficulty signals", "",
             "AUC: the probability that a theorem most grid cells failed is rated harder than one most solved.", "",
             "| signal | AUC | mean difficulty |", "|---|---|---|"]
    for signal, values in calibration.difficulties.items():
        auc = signal_auc(values, unsolved_by_most)
        mean = statistics.fmean(values.values()) if values else float("nan")
        lines.append(f"| {signal} | {'n/a' if auc is None else f'{auc:.3f}'} | {mean:.3f} |")
    edges = [f"<= {e:.4g}" for e in table.edges] + ["rest"]
    lines += ["", f"Bins of `{table.signal}` difficulty: " + ", ".join(f"{b}: {edges[b]} ({counts[b]} theorems)" for b in bins)]
    for budget in table.budgets:
        chosen = {c.bin: c.strategy.label for c in table.choices if c.budget == budget}
        lines += ["", f"## Budget {budget} tokens", "", "| strategy | " + " | ".join(f"bin {b}" for b in bins) + " | all |",
                  "|---|" + "---|" * (len(bins) + 1)]
        for strategy in strategies:
            row = []
            for b in bins:
                names = {n for n in everything if table.bin_of(calibration.difficulties[table.signal].get(n, 1.0)) == b}
                text = f"{len(cells[(strategy.label, budget)] & names)}/{len(names)}"
                row.append(f"**{text}**" if chosen[b] == strategy.label else text)
            lines.append(f"| {strategy.label} | " + " | ".join(row) + f" | {len(cells[(strategy.label, budget)])} |")
        best_total = sum(c.solved for c in table.choices if c.budget == budget)
        lines.append(f"| compute-optimal (in-sample) | " + " | ".join(
            str(c.solved) for c in sorted(table.choices, key=lambda c: c.bin) if c.budget == budget) + f" | {best_total} |")
    return "\n".join(lines) + "\n"
