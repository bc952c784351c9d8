"""Solve rate vs total compute (generated tokens) for fixed strategies and compute-optimal
selection on the sandbox, with the model-free baseline proposers or a trained model (``--model``).

1. ``prover.calibrate.calibrate`` on the valid split: the grid of strategies x budgets,
   each run after the difficulty pilot exactly as compute-optimal runs it, and the table.
2. On the held-out test split (never seen by calibration), for each seed: every fixed
   strategy alone (no pilot), every strategy after the same pilot (the ablation that
   separates the pilot's own gain from the choice), and compute-optimal with the table,
   at every budget.

Budgets count generated tokens (``Budget.max_tokens``); the model-free proposers count a
candidate's whitespace-separated words as its tokens (tactic and whole-proof alike), a model
its tokenizer's tokens (bytes for the sandbox models, so about four times as many per
tactic: compare strategies within one proposer, not across), and environment calls are not
part of the unit. Prints one line per (strategy, budget): the
mean solve rate over seeds with its range, and the mean tokens spent per theorem.

    python benchmarks/bench_compute.py --kind tactic --budgets 16,32,64,128,256 --seeds 0,1,2
    python benchmarks/bench_compute.py --kind proof --budgets 16,32,64,128,256 --seeds 0,1,2
    python benchmarks/bench_compute.py --model runs/dco_sandbox/full/models/base-sandbox-small \
        --temperature 1.0 --budgets 64,256,1024 --theorems 30 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

from prover import Agent, Budget, ProverConfig, load_dataset
from prover.calibrate import DEFAULT_GRIDS, calibrate
from prover.config import ModelConfig, PolicyConfig
from search.policies import ComputeOptimal, resolve_policy


def _agent(kind: str, temperature: float | None, model: Path | None, oversample: int) -> Agent:
    policy = "best-first" if kind == "tactic" else "pass-n"
    source = ModelConfig(proposer="model", path=str(model), oversample=oversample) if model else ModelConfig()
    config = ProverConfig(policy=PolicyConfig(name=policy), model=replace(source, temperature=temperature))
    return Agent.from_config(config, statement=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=["tactic", "proof"], default="tactic")
    parser.add_argument("--budgets", default="16,32,64,128,256")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--signal", choices=["pilot", "root-value"], default="pilot")
    parser.add_argument("--pilot", type=int, default=2)
    parser.add_argument("--bins", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=None,
                        help="sampling temperature (default: the proposer's; 0 makes seeds irrelevant)")
    parser.add_argument("--model", type=Path, default=None,
                        help="a trained model directory whose prompt format fits --kind (default: the model-free baseline)")
    parser.add_argument("--oversample", type=int, default=1, help="model rows per candidate asked (model.oversample)")
    parser.add_argument("--theorems", type=int, default=None,
                        help="N theorems evenly spaced over each split (the sandbox orders its splits by tier)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_compute"))
    args = parser.parse_args()
    budgets = tuple(int(b) for b in args.budgets.split(","))
    seeds = tuple(int(s) for s in args.seeds.split(","))
    strategies = DEFAULT_GRIDS[args.kind]
    valid, test = (load_dataset(f"sandbox:{split}").spread(args.theorems) for split in ("valid", "test"))
    proposer = f"model {args.model} x{args.oversample}" if args.model else "model-free baseline"
    model_tag = f"-{args.model.name}-x{args.oversample}" if args.model else ""
    out = args.out / f"{args.kind}-{args.signal}-t{args.temperature}{model_tag}"
    print(f"# {args.kind} strategies, {proposer} (temperature {args.temperature or 'default'}); "
          f"calibration: sandbox:valid ({len(valid.theorems)}), test: sandbox:test ({len(test.theorems)}); "
          f"signal {args.signal}, pilot {args.pilot}, {args.bins} bins; cores {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    with _agent(args.kind, args.temperature, args.model, args.oversample) as agent:
        result = calibrate(agent, valid, kind=args.kind, strategies=strategies, budgets=budgets, signal=args.signal,
                           pilot=args.pilot, bins=args.bins, out=out)
        print(f"calibration: {time.perf_counter() - started:.0f}s; table {out / 'strategy.toml'}")
        for choice in sorted(result.table.choices, key=lambda c: (c.budget, c.bin)):
            print(f"  budget {choice.budget} bin {choice.bin}: {choice.strategy.label} ({choice.solved}/{choice.theorems})")
        rows: dict[str, dict[int, list[tuple[float, float]]]] = {}
        contenders = [(s.label, resolve_policy(s.policy, s.params)) for s in strategies]
        if args.signal == "pilot":  # ablation: the same pilot, then always one strategy
            contenders += [(f"pilot + {s.label}", ComputeOptimal(strategy=str(path)))
                           for s, path in zip(strategies, sorted((out / "tables").glob("*.toml")))]
        contenders.append(("compute-optimal", ComputeOptimal(strategy=str(out / "strategy.toml"))))
        for label, policy in contenders:
            for budget in budgets:
                for seed in seeds:
                    run = agent.run(test, policy=policy, budget=Budget(max_tokens=budget), seed=seed)
                    tokens = statistics.fmean(r.spent.get("tokens", 0) for r in run.records)
                    rows.setdefault(label, {}).setdefault(budget, []).append((len(run.solved) / len(test.theorems), tokens))
    print(f"\n# test split, solve rate (mean over seeds {args.seeds}, [min, max]) and mean tokens spent per theorem; "
          f"total {time.perf_counter() - started:.0f}s, load {os.getloadavg()[0]:.1f}")
    print(f"{'strategy':<58}" + "".join(f"{b:>26}" for b in budgets))
    for label, by_budget in rows.items():
        cells = []
        for budget in budgets:
            rates = [r for r, _ in by_budget[budget]]
            tokens = statistics.fmean(t for _, t in by_budget[budget])
            cells.append(f"{statistics.fmean(rates):.3f} [{min(rates):.2f},{max(rates):.2f}] {tokens:5.0f}t")
        print(f"{label:<58}" + "".join(f"{c:>26}" for c in cells))
    (out / "test_results.json").write_text(json.dumps(
        {label: {str(b): v for b, v in by_budget.items()} for label, by_budget in rows.items()}, indent=1))
    _goal(rows, budgets)


def _goal(rows: dict[str, dict[int, list[tuple[float, float]]]], budgets: tuple[int, ...]) -> None:
    """Snell's criterion: compute-optimal matches the best fixed strategy at some budget
    with at most half the budget, or solves more at an equal budget; checked against the
    strategies alone and against the same strategies after the pilot."""
    mean = {label: {b: statistics.fmean(r for r, _ in v[b]) for b in budgets} for label, v in rows.items()}
    ours = mean.pop("compute-optimal")
    for family, members in (("alone", {k: v for k, v in mean.items() if not k.startswith("pilot + ")}),
                            ("after the pilot", {k: v for k, v in mean.items() if k.startswith("pilot + ")})):
        if not members:
            continue
        print(f"\ncompute-optimal vs the best fixed strategy {family}:")
        for budget in budgets:
            best_label = max(members, key=lambda label: members[label][budget])
            best = members[best_label][budget]
            cheaper = [b for b in budgets if b * 2 <= budget and ours[b] >= best]
            verdict = "more" if ours[budget] > best else "equal" if ours[budget] == best else "less"
            print(f"  budget {budget}: best {best_label} {best:.3f}; compute-optimal {ours[budget]:.3f} ({verdict} at "
                  f"equal budget{'; matched with half or less: ' + str(cheaper[0]) if cheaper else ''})")


if __name__ == "__main__":
    main()
