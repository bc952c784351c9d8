"""Summaries and plots of runs (``prover.Run``, loaded or made in this process): pass rates
per category (with and without the flagged MiniF2F statements), unbiased pass@k curves
from repeated attempts, solved-vs-budget curves, and side-by-side comparison of several
runs, as Markdown and PNG.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from prover.runs import Run

__all__ = ["RunSummary", "summarize", "budget_curve", "pass_at_k_curve", "render_markdown", "write_plots", "render_report"]


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


def summarize(run: Run, flagged: frozenset[str] = frozenset()) -> RunSummary:
    """Pass rates of a run: a theorem counts as proved when any attempt was verified."""
    grouped = run.by_theorem()
    solved = {t for t, recs in grouped.items() if any(r.proved for r in recs)}
    categories: dict[str, list[str]] = defaultdict(list)
    for theorem, recs in grouped.items():
        categories[recs[0].category or "all"].append(theorem)
    unflagged = [t for t in grouped if t not in flagged]
    return RunSummary(
        name=run.name,
        theorems=len(grouped),
        attempts=max((len(r) for r in grouped.values()), default=0),
        proved=len(solved),
        by_category=tuple(
            (cat, sum(t in solved for t in names), len(names)) for cat, names in sorted(categories.items())
        ),
        proved_unflagged=sum(t in solved for t in unflagged),
        theorems_unflagged=len(unflagged),
        errors=sum(r.status == "error" for r in run.records),
        policy=run.policy,
    )


def pass_at_k_curve(run: Run) -> list[tuple[int, float]]:
    """Mean unbiased pass@k over theorems for k = 1..(fewest attempts any theorem has)."""
    grouped = run.by_theorem()
    if not grouped:
        return []
    return [(k, run.pass_at_k(k)) for k in range(1, min(len(g) for g in grouped.values()) + 1)]


def budget_curve(run: Run, resource: str = "expansions") -> list[tuple[float, float]]:
    """Fraction of theorems proved on the first attempt within each spent amount of ``resource``."""
    first = [group[0] for group in run.by_theorem().values()]
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


def write_plots(runs: Sequence[Run], directory: Path, *, resource: str = "samples") -> list[Path]:
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
    for run in runs:
        curve = budget_curve(run, resource)
        if curve:
            ax.step([0.0] + [c for c, _ in curve], [0.0] + [f for _, f in curve], where="post", label=run.name)
    ax.set(xlabel=f"{resource.replace('_', ' ')} spent", ylabel="fraction proved (first attempt)", title="Solved vs budget")
    save(fig, ax, "budget_curve.png")
    curves = {run.name: pass_at_k_curve(run) for run in runs}
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


def render_report(runs: Sequence[Run], directory: Path | str, *, flagged: frozenset[str] = frozenset(),
                  resource: str = "samples") -> str:
    """Write ``report.md`` and its PNG plots for ``runs`` into ``directory``; returns the Markdown."""
    directory = Path(directory)
    summaries = [summarize(run, flagged) for run in runs]
    curves = {run.name: pass_at_k_curve(run) for run in runs}
    plots = write_plots(runs, directory, resource=resource)
    markdown = render_markdown(summaries, curves, [str(p) for p in plots])
    (directory / "report.md").write_text(markdown, encoding="utf-8")
    return markdown
