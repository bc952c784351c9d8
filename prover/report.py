"""Summaries and plots of runs (``prover.Run``, loaded or made in this process), written so
that no number claims more than the records support.

Every rate is over the theorems a run was asked for (its manifest lists them), so an
interrupted run is marked "N of M" and its unfinished theorems count as not proved; each
rate carries a 95% interval (Wilson for a proportion; a bootstrap over theorems for mean
pass@k). Runs over different theorem sets are flagged, and can be compared on the theorems
every run finished (``common``); ``diff`` lists theorems one run proved and another did
not. Each row shows the policy, its parameters, the budget, the model and the sampling
temperature; repeated attempts of a deterministic setting (temperature 0) are flagged,
since their pass@k is flat by construction. Errors are counted in every summary.

The default compute axis is generated tokens: a tactic, a whole proof and a rollout are
all made of tokens, so ``pass-n`` (whole proofs) and tree searches (single tactics) are
charged in one unit, where counting samples would price a whole proof like one tactic.
Environment calls, the other cost, are in the table.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from prover.runs import AttemptRecord, Run, manifest_value, pass_at_k
from search import POLICIES

__all__ = [
    "RunSummary",
    "Comparison",
    "summarize",
    "compare",
    "wilson_interval",
    "bootstrap_interval",
    "budget_curve",
    "pass_at_k_curve",
    "render_markdown",
    "write_plots",
    "render_report",
    "BUDGET_AXES",
]

BUDGET_AXES = ("tokens", "samples", "expansions", "env_calls", "seconds")
"""Resources a solved-vs-budget curve can be drawn over; the first is the default."""
_Z95 = 1.959963984540054
_BOOTSTRAP_SAMPLES = 1000


def wilson_interval(successes: int, trials: int, z: float = _Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95% by default); ``(0, 1)`` with no trials."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_interval(values: Sequence[float], *, samples: int = _BOOTSTRAP_SAMPLES, seed: int = 0) -> tuple[float, float]:
    """A 95% percentile interval of the mean of ``values`` by resampling them (theorems) with replacement."""
    if not values:
        return 0.0, 1.0
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(samples))
    return means[int(0.025 * (samples - 1))], means[int(math.ceil(0.975 * (samples - 1)))]


# ---------------------------------------------------------------------------- one run


def _planned(run: Run) -> list[str]:
    """The theorems the run was asked for: the manifest's list, and any with records it lacks."""
    names = list(run.planned_theorems or ())
    listed = set(names)
    names += [name for name in run.by_theorem() if name not in listed]
    return names


def _wanted(run: Run) -> int:
    """Attempts per theorem the run was asked for (the most recorded when its manifest does not say)."""
    return run.planned_attempts or max((len(g) for g in run.by_theorem().values()), default=0)


def _finished(run: Run) -> set[str]:
    """Theorems with every attempt the run was asked for recorded."""
    wanted = _wanted(run)
    return {name for name, group in run.by_theorem().items() if len(group) >= wanted}


def _label(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)


def _settings(table: Any) -> str:
    """``k=8, alpha=0.0`` for a table of settings (unset ones left out)."""
    if not isinstance(table, dict):
        return "?"
    return ", ".join(f"{key}={_label(value)}" for key, value in table.items() if value is not None) or "-"


def effective_temperature(run: Run) -> float | None:
    """The sampling temperature the run's proposer used, ``None`` when the manifest cannot
    tell (an agent built from objects records only the proposer's name)."""
    model = manifest_value(run.manifest, "config.model")
    if not isinstance(model, dict) or "temperature" not in model:
        return None
    if isinstance(model["temperature"], (int, float)):
        return float(model["temperature"])
    proposer = model.get("proposer")
    policy = POLICIES.get(run.policy)
    whole_proofs = policy is not None and policy.proposer_kind == "proof"
    if proposer == "model" or (proposer in ("auto", "baseline") and whole_proofs):
        return 1.0  # prover.backends: models sample at 1.0, the whole-proof baseline too
    if proposer in ("auto", "baseline", "automation"):
        return 0.0  # the tactic baseline's top-k and the automation list are deterministic
    return None


def _model(run: Run) -> str:
    model = manifest_value(run.manifest, "config.model")
    if not isinstance(model, dict):
        return "?"
    if model.get("path"):
        return f"{model['path']}" + (f" ({model['format']})" if model.get("format") else "")
    return str(model.get("proposer", "?"))


def _identical_attempts(grouped: dict[str, list[AttemptRecord]]) -> bool:
    """Whether every theorem's repeated attempts did exactly the same (a deterministic setting)."""
    def signature(record: AttemptRecord) -> tuple:
        spent = tuple(sorted((k, v) for k, v in record.spent.items() if k != "seconds"))
        return record.status, record.proof, spent

    repeated = [group for group in grouped.values() if len(group) > 1]
    return bool(repeated) and all(len({signature(r) for r in group}) == 1 for group in repeated)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


@dataclass(frozen=True)
class RunSummary:
    """The numbers of one run that the report prints. ``theorems`` is what the run was asked
    for (M) and ``finished`` how many of them have every attempt recorded; rates are over M."""

    name: str
    theorems: int
    finished: int
    reached: int
    attempts: int
    proved: int
    interval: tuple[float, float]
    by_category: tuple[tuple[str, int, int], ...]
    proved_unflagged: int
    theorems_unflagged: int
    errors: int
    error_kinds: tuple[tuple[str, int], ...]
    policy: str
    params: str
    budget: str
    model: str
    temperature: float | None
    deterministic: bool
    pass_at_k: tuple[tuple[int, float, float, float], ...]
    tokens_per_attempt: float
    env_calls_per_attempt: float
    warnings: tuple[str, ...] = ()

    @property
    def rate(self) -> float:
        return self.proved / self.theorems if self.theorems else 0.0

    @property
    def complete(self) -> bool:
        return self.finished == self.theorems


def pass_at_k_values(run: Run, planned: Sequence[str] | None = None) -> dict[int, list[float]]:
    """Per theorem of the plan, unbiased pass@k for k = 1..(fewest attempts a reached theorem
    has); theorems without records count 0."""
    grouped = run.by_theorem()
    planned = list(planned) if planned is not None else _planned(run)
    if not grouped:
        return {}
    most = min(len(group) for group in grouped.values())
    return {k: [pass_at_k(len(g), sum(r.proved for r in g), k) if (g := grouped.get(name)) else 0.0 for name in planned]
            for k in range(1, most + 1)}


def pass_at_k_curve(run: Run) -> list[tuple[int, float]]:
    """Mean unbiased pass@k over the run's planned theorems (unfinished ones count 0) for
    k = 1..(fewest attempts any reached theorem has)."""
    return [(k, _mean(values)) for k, values in pass_at_k_values(run).items()]


def summarize(run: Run, flagged: frozenset[str] = frozenset()) -> RunSummary:
    """Pass rates of a run over its planned theorems: a theorem counts as proved when any
    attempt was verified, and a planned theorem without records as not proved."""
    grouped = run.by_theorem()
    planned = _planned(run)
    wanted = _wanted(run)
    solved = {t for t, recs in grouped.items() if any(r.proved for r in recs)}
    categories: dict[str, list[str]] = defaultdict(list)
    for theorem in planned:
        recs = grouped.get(theorem)
        categories[(recs[0].category or "all") if recs else "(not run)"].append(theorem)
    unflagged = [t for t in planned if t not in flagged]
    errors = [r for r in run.records if r.status == "error"]
    kinds = Counter((r.error or "no message").split(":", 1)[0][:80] for r in errors)
    deterministic_setting = effective_temperature(run) == 0.0
    curve = pass_at_k_values(run, planned)
    warnings = list(run.warnings)
    finished = len(_finished(run))
    if finished < len(planned):
        warnings.append(f"{run.name} is incomplete: {finished} of {len(planned)} theorems have all {wanted} "
                        f"attempt(s) recorded; its rates count the rest as not proved")
    return RunSummary(
        name=run.name,
        theorems=len(planned),
        finished=finished,
        reached=len(grouped),
        attempts=wanted,
        proved=len(solved),
        interval=wilson_interval(len(solved), len(planned)),
        by_category=tuple(
            (cat, sum(t in solved for t in names), len(names)) for cat, names in sorted(categories.items())
        ),
        proved_unflagged=sum(t in solved for t in unflagged),
        theorems_unflagged=len(unflagged),
        errors=len(errors),
        error_kinds=tuple(kinds.most_common(3)),
        policy=run.policy,
        params=_settings(manifest_value(run.manifest, "config.policy.params")),
        budget=_settings(manifest_value(run.manifest, "config.budget")),
        model=_model(run),
        temperature=effective_temperature(run),
        deterministic=wanted > 1 and (deterministic_setting or _identical_attempts(grouped)),
        pass_at_k=tuple((k, _mean(v), *bootstrap_interval(v)) for k, v in curve.items()),
        tokens_per_attempt=_mean([r.spent.get("tokens", 0.0) for r in run.records]),
        env_calls_per_attempt=_mean([r.spent.get("env_calls", 0.0) for r in run.records]),
        warnings=tuple(warnings),
    )


def budget_curve(run: Run, resource: str = "expansions") -> list[tuple[float, float]]:
    """Fraction of the planned theorems proved on the first attempt within each spent amount of ``resource``."""
    grouped = run.by_theorem()
    planned = len(_planned(run))
    first = [group[0] for group in grouped.values()]
    if not first:
        return []
    costs = sorted(r.spent.get(resource, 0.0) for r in first if r.proved)
    return [(cost, (i + 1) / planned) for i, cost in enumerate(costs)]


# ---------------------------------------------------------------------------- several runs


@dataclass(frozen=True)
class Comparison:
    """How runs relate: the theorems every run finished (with the same statement), warnings
    about differing theorem sets, and per pair (first run vs each other) the theorems only
    one of them proved."""

    common: tuple[str, ...]
    warnings: tuple[str, ...]
    differences: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]


def compare(runs: Sequence[Run]) -> Comparison:
    """Compare the theorem sets and outcomes of ``runs`` (see ``Comparison``)."""
    warnings: list[str] = []
    planned = [set(_planned(run)) for run in runs]
    common = set.intersection(*(_finished(run) for run in runs)) if runs else set()
    hashes = [run.manifest.get("theorems") if isinstance(run.manifest.get("theorems"), dict) else {} for run in runs]
    differing = sorted(name for name in common if len({h[name] for h in hashes if name in h}) > 1)
    if differing:
        warnings.append(f"{len(differing)} theorem(s) have different statements in different runs "
                        f"({', '.join(differing[:3])}); they are left out of the common set")
        common -= set(differing)
    if len(runs) > 1 and any(p != planned[0] for p in planned[1:]):
        sizes = ", ".join(f"{run.name}: {len(p)}" for run, p in zip(runs, planned))
        warnings.append(f"the runs cover different theorems ({sizes}; {len(common)} finished by every run): "
                        "each rate is over its own run's theorems; --common compares them on the shared ones")
    order = [name for name in _planned(runs[0]) if name in common] if runs else []
    differences = []
    for other in runs[1:]:
        a, b = runs[0].solved & common, other.solved & common
        differences.append((runs[0].name, other.name, tuple(sorted(a - b)), tuple(sorted(b - a))))
    return Comparison(tuple(order), tuple(warnings), tuple(differences))


# ---------------------------------------------------------------------------- output


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100.0 * part / whole:.1f}%)" if whole else "0/0"


def _with_interval(part: int, whole: int) -> str:
    if not whole:
        return "0/0"
    low, high = wilson_interval(part, whole)
    return f"{_pct(part, whole)} [{100 * low:.1f}–{100 * high:.1f}%]"


def _temperature(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def render_markdown(summaries: Sequence[RunSummary], plots: Sequence[str] = (), *,
                    comparison: Comparison | None = None, restricted: bool = False, diff: bool = False) -> str:
    """The report as Markdown: warnings, overview, errors, per-category table, pass@k, differences, plots."""
    lines = ["# Benchmark report", ""]
    warnings = [w for s in summaries for w in s.warnings] + list(comparison.warnings if comparison else ())
    warnings += [f"{s.name}: its {s.attempts} attempts per theorem are identical (a deterministic setting, "
                 f"temperature {_temperature(s.temperature)}), so its pass@k is flat by construction; sample with "
                 "--temperature > 0 to measure pass@k" for s in summaries if s.deterministic]
    lines += [f"> **Warning:** {w}" for w in warnings] + ([""] if warnings else [])
    scope = (f"the {summaries[0].theorems} theorems every run finished (--common)" if restricted and summaries
             else "each run's planned theorems, unfinished ones counted as not proved")
    lines += [f"Rates are over {scope}; [brackets] are 95% Wilson intervals.", ""]
    lines += ["| run | policy | params | budget | model | temp | attempts | theorems | proved [95% CI] | "
              "without flagged | errors | tokens/attempt | env calls/attempt |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        theorems = f"{s.theorems}" if s.complete else f"{s.finished} of {s.theorems} (incomplete)"
        lines.append(
            f"| {s.name} | {s.policy} | {s.params} | {s.budget} | {s.model} | {_temperature(s.temperature)} | "
            f"{s.attempts} | {theorems} | {_with_interval(s.proved, s.theorems)} | "
            f"{_pct(s.proved_unflagged, s.theorems_unflagged)} | {s.errors} | {s.tokens_per_attempt:.1f} | "
            f"{s.env_calls_per_attempt:.1f} |"
        )
    if any(s.errors for s in summaries):
        lines += ["", "## Errors", ""]
        for s in summaries:
            if s.errors:
                kinds = ", ".join(f"{kind} x{count}" for kind, count in s.error_kinds)
                lines.append(f"- {s.name}: {s.errors} attempt(s) ended in an error ({kinds})")
    categories = sorted({cat for s in summaries for cat, _, _ in s.by_category})
    lines += ["", "## By category", "", "| category | " + " | ".join(s.name for s in summaries) + " |",
              "|---|" + "---|" * len(summaries)]
    for cat in categories:
        cells = []
        for s in summaries:
            row = next(((p, n) for c, p, n in s.by_category if c == cat), None)
            cells.append(_with_interval(*row) if row else "-")
        lines.append(f"| {cat} | " + " | ".join(cells) + " |")
    if any(len(s.pass_at_k) > 1 for s in summaries):
        lines += ["", "## pass@k (unbiased estimator over repeated attempts; [95% bootstrap over theorems])", "",
                  "| k | " + " | ".join(s.name for s in summaries) + " |", "|---|" + "---|" * len(summaries)]
        for k in range(1, max(len(s.pass_at_k) for s in summaries) + 1):
            cells = []
            for s in summaries:
                row = next((r for r in s.pass_at_k if r[0] == k), None)
                cells.append(f"{row[1]:.3f} [{row[2]:.3f}–{row[3]:.3f}]" if row else "-")
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
    if diff and comparison is not None:
        lines += ["", f"## Differences (over the {len(comparison.common)} theorems both runs finished)", ""]
        for first, other, only_first, only_other in comparison.differences:
            lines.append(f"- proved by {first}, not by {other} ({len(only_first)}): {', '.join(only_first) or '-'}")
            lines.append(f"- proved by {other}, not by {first} ({len(only_other)}): {', '.join(only_other) or '-'}")
    if plots:
        lines += ["", "## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
    return "\n".join(lines) + "\n"


def write_plots(runs: Sequence[Run], directory: Path, *, resource: str = BUDGET_AXES[0]) -> list[Path]:
    """PNG plots: solved vs ``resource`` spent (one of ``BUDGET_AXES``; generated tokens by
    default), and pass@k with its bootstrap band when runs have repeated attempts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)

    def save(fig, ax, name: str) -> None:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
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
    label = "generated tokens" if resource == "tokens" else resource.replace("_", " ")
    ax.set(xlabel=f"{label} spent", ylabel="fraction proved (first attempt)", title="Solved vs budget")
    save(fig, ax, "budget_curve.png")
    curves = {run.name: pass_at_k_values(run) for run in runs}
    if any(len(c) > 1 for c in curves.values()):
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, curve in curves.items():
            ks = list(curve)
            bands = [bootstrap_interval(curve[k]) for k in ks]
            ax.plot(ks, [_mean(curve[k]) for k in ks], marker="o", label=name)
            ax.fill_between(ks, [b[0] for b in bands], [b[1] for b in bands], alpha=0.2)
        ks = sorted({k for curve in curves.values() for k in curve})
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set(xlabel="k (attempts)", ylabel="pass@k", title="pass@k (unbiased, 95% bootstrap band)")
        save(fig, ax, "pass_at_k.png")
    return written


def render_report(runs: Sequence[Run], directory: Path | str, *, flagged: frozenset[str] = frozenset(),
                  resource: str = BUDGET_AXES[0], common: bool = False, diff: bool = False) -> str:
    """Write ``report.md`` and its PNG plots for ``runs`` into ``directory``; returns the
    Markdown. ``common`` restricts every run to the theorems all of them finished; ``diff``
    lists the theorems proved by one run and not another."""
    directory = Path(directory)
    comparison = compare(runs)
    if common:
        runs = [run.restricted(comparison.common) for run in runs]
    summaries = [summarize(run, flagged) for run in runs]
    plots = write_plots(runs, directory, resource=resource)
    markdown = render_markdown(summaries, [str(p) for p in plots], comparison=comparison, restricted=common, diff=diff)
    (directory / "report.md").write_text(markdown, encoding="utf-8")
    return markdown

