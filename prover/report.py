"""Summaries and plots of benchmark runs: pass rates per category (with and without the
flagged MiniF2F statements), unbiased pass@k curves from repeated attempts, solved-vs-budget
curves, and side-by-side comparison of several runs, as Markdown and PNG.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from math import comb
from pathlib import Path
from typing import Sequence

from prover.runs import AttemptRecord, RunError, load_records

__all__ = ["RunSummary", "pass_at_k", "load_run", "summarize", "budget_curve", "pass_at_k_curve", "render_markdown", "write_plots"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` attempts with ``c`` successes (Chen et al. 2021): 1 - C(n-c, k)/C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


@dataclass(frozen=True)
class RunSummary:
    """The numbers of one run that the report prints."""

    name: str
    theorems: int
    attempts: int
    proved: int
    by_category: tuple[tuple[str, int, int], ...]
    proved_unflagged: int
    theorems_unflagged: int
    errors: int
    policy: str

    @property
    def rate(self) -> float:
        return self.proved / self.theorems if self.theorems else 0.0


def load_run(directory: Path) -> tuple[dict, list[AttemptRecord]]:
    """Read a run directory's manifest and records."""
    directory = Path(directory)
    results = directory / "results.jsonl"
    if not results.is_file():
        raise RunError(f"{directory}: no results.jsonl (is this a 'prover bench' --out directory?)")
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    return manifest, load_records(results)


def _by_theorem(records: Sequence[AttemptRecord]) -> dict[str, list[AttemptRecord]]:
    grouped: dict[str, list[AttemptRecord]] = defaultdict(list)
    for record in records:
        grouped[record.theorem].append(record)
    return grouped


def summarize(name: str, manifest: dict, records: Sequence[AttemptRecord], flagged: set[str]) -> RunSummary:
    """Pass rates of a run: a theorem counts as proved when any attempt was verified."""
    grouped = _by_theorem(records)
    solved = {t for t, recs in grouped.items() if any(r.proved for r in recs)}
    categories: dict[str, list[str]] = defaultdict(list)
    for theorem, recs in grouped.items():
        categories[recs[0].category or "all"].append(theorem)
    unflagged = [t for t in grouped if t not in flagged]
    return RunSummary(
        name=name,
        theorems=len(grouped),
        attempts=max((len(r) for r in grouped.values()), default=0),
        proved=len(solved),
        by_category=tuple(
            (cat, sum(t in solved for t in names), len(names)) for cat, names in sorted(categories.items())
        ),
        proved_unflagged=sum(t in solved for t in unflagged),
        theorems_unflagged=len(unflagged),
        errors=sum(r.status == "error" for r in records),
        policy=manifest.get("config", {}).get("policy", {}).get("name", "?"),
    )


def pass_at_k_curve(records: Sequence[AttemptRecord]) -> list[tuple[int, float]]:
    """Mean unbiased pass@k over theorems for k = 1..(fewest attempts any theorem has)."""
    grouped = _by_theorem(records)
    if not grouped:
        return []
    n_min = min(len(recs) for recs in grouped.values())
    return [
        (k, sum(pass_at_k(len(recs), sum(r.proved for r in recs), k) for recs in grouped.values()) / len(grouped))
        for k in range(1, n_min + 1)
    ]


def budget_curve(records: Sequence[AttemptRecord], resource: str = "expansions") -> list[tuple[float, float]]:
    """Fraction of theorems proved on the first attempt within each spent amount of ``resource``."""
    first = [recs[0] for recs in _by_theorem(sorted(records, key=lambda r: r.attempt)).values()]
    if not first:
        return []
    costs = sorted(r.spent.get(resource, 0.0) for r in first if r.proved)
    return [(cost, (i + 1) / len(first)) for i, cost in enumerate(costs)]


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100.0 * part / whole:.1f}%)" if whole else "0/0"


def render_markdown(summaries: Sequence[RunSummary], curves: dict[str, list[tuple[int, float]]], plots: Sequence[str] = ()) -> str:
    """The report as Markdown: overview, per-category table, pass@k, plots."""
    lines = ["# Benchmark report", "", "| run | policy | attempts | proved | without flagged | errors |", "|---|---|---|---|---|---|"]
    for s in summaries:
        lines.append(
            f"| {s.name} | {s.policy} | {s.attempts} | {_pct(s.proved, s.theorems)} | "
            f"{_pct(s.proved_unflagged, s.theorems_unflagged)} | {s.errors} |"
        )
    categories = sorted({cat for s in summaries for cat, _, _ in s.by_category})
    lines += ["", "## By category", "", "| category | " + " | ".join(s.name for s in summaries) + " |",
              "|---|" + "---|" * len(summaries)]
    for cat in categories:
        cells = []
        for s in summaries:
            row = next(((p, n) for c, p, n in s.by_category if c == cat), None)
            cells.append(_pct(*row) if row else "-")
        lines.append(f"| {cat} | " + " | ".join(cells) + " |")
    if any(len(curve) > 1 for curve in curves.values()):
        lines += ["", "## pass@k (unbiased estimator over repeated attempts)", "", "| k | " + " | ".join(curves) + " |",
                  "|---|" + "---|" * len(curves)]
        for k in range(1, max(len(c) for c in curves.values()) + 1):
            cells = [f"{dict(c)[k]:.3f}" if k in dict(c) else "-" for c in curves.values()]
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
    if plots:
        lines += ["", "## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
    return "\n".join(lines) + "\n"


def write_plots(runs: dict[str, Sequence[AttemptRecord]], directory: Path, *, resource: str = "samples") -> list[Path]:
    """PNG plots: solved vs ``resource`` spent (``samples``, ``expansions``, ``env_calls``,
    ``tokens`` or ``seconds``), and pass@k when runs have repeated attempts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    def save(fig, ax, name: str) -> None:
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(directory / name, dpi=120)
        plt.close(fig)
        written.append(directory / name)

    written: list[Path] = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, records in runs.items():
        curve = budget_curve(records, resource)
        if curve:
            ax.step([0.0] + [c for c, _ in curve], [0.0] + [f for _, f in curve], where="post", label=name)
    ax.set(xlabel=f"{resource.replace('_', ' ')} spent", ylabel="fraction proved (first attempt)", title="Solved vs budget")
    save(fig, ax, "budget_curve.png")
    curves = {name: pass_at_k_curve(records) for name, records in runs.items()}
    if any(len(c) > 1 for c in curves.values()):
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, curve in curves.items():
            ax.plot([k for k, _ in curve], [v for _, v in curve], marker="o", label=name)
        ks = sorted({k for curve in curves.values() for k, _ in curve})
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set(xlabel="k (attempts)", ylabel="pass@k", title="pass@k (unbiased)")
        save(fig, ax, "pass_at_k.png")
    return written
