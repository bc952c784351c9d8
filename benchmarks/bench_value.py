"""The learned value model on the sandbox: data from search graphs, training, held-out
calibration, and value-guided search at equal token budgets.

1. Data: best-first searches (model-free baseline, ``--collect-tokens`` each) on the first
   ``--train`` theorems of sandbox:train give labelled states (proof path 1, dead 0, open
   states by Monte-Carlo rollouts); the same on sandbox:valid gives held-out states.
2. Training: a from-scratch ``--size`` classifier, ``transformers.Trainer``, BCE.
3. Evaluation on the held-out states: AUC, Brier score, expected calibration error (ECE)
   and the reliability curve, next to the goal heuristic's AUC on the same states: before
   temperature scaling (T = 1), with the T fitted in training (on a tenth of the training
   theorems, held out of training), and with a T fitted on half of the held-out theorems
   and evaluated on the other half (both halves' figures).
4. Search on sandbox:test at each budget (generated tokens) and seed: best-first, beam and
   MCTS without a value model and with the learned one (best-first also with the value's
   weight at 4 instead of the default 1: a sweep row, not tuned on another split).

    python benchmarks/bench_value.py --train 300 --steps 400 --budgets 32,64,128,256 --seeds 0,1,2
    python benchmarks/bench_value.py --train 150 --steps 400 --no-search   # data, training, calibration only
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from prover import Agent, Budget, load_dataset
from prover.baseline import BaselineProposer
from prover.metrics import auc
from prover.models.value import TransformersValue
from prover.training.value import (
    evaluate_value,
    fit_temperature,
    sandbox_value_examples,
    split_by_theorem,
    train_value_model,
    write_value_examples,
)
from propsandbox import SandboxEnvironment
from search import MCTS, Beam, BestFirst, goal_heuristic
from lean_env.types import ProofState


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=300, help="sandbox:train theorems searched for data")
    parser.add_argument("--valid", type=int, default=100, help="sandbox:valid theorems searched for held-out states")
    parser.add_argument("--collect-tokens", type=int, default=256)
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--budgets", default="32,64,128,256")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--temperature", type=float, default=1.0, help="baseline tactic sampling temperature in search")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-search", action="store_true", help="stop after the held-out evaluation (skip step 4)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_value"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    budgets = tuple(int(b) for b in args.budgets.split(","))
    seeds = tuple(int(s) for s in args.seeds.split(","))
    print(f"# value model bench: cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}, torch threads {args.threads}")
    started = time.perf_counter()
    train = sandbox_value_examples("train", limit=args.train, tokens=args.collect_tokens, seed=0)
    held_out = sandbox_value_examples("valid", limit=args.valid, tokens=args.collect_tokens, seed=1)
    args.out.mkdir(parents=True, exist_ok=True)
    write_value_examples(args.out / "train.jsonl", train)
    write_value_examples(args.out / "valid.jsonl", held_out)
    for name, examples in (("train", train), ("held-out", held_out)):
        sources = {s: sum(e.source == s for e in examples) for s in ("proof", "dead", "rollouts")}
        positive = sum(e.label >= 0.5 for e in examples) / len(examples)
        print(f"{name}: {len(examples)} states {sources}, {positive:.2f} positive")
    print(f"data: {time.perf_counter() - started:.0f}s")
    trained = time.perf_counter()
    value = train_value_model(train, args.out / "model", size=args.size, max_steps=args.steps)
    print(f"training ({args.size}, {args.steps} steps): {time.perf_counter() - trained:.0f}s")
    heuristic = [goal_heuristic(ProofState(goals=tuple(e.state.split("\n\n")))) for e in held_out]
    labels = [e.label >= 0.5 for e in held_out]
    heuristic_auc = auc([h for h, y in zip(heuristic, labels) if y], [h for h, y in zip(heuristic, labels) if not y])
    print(f"goal heuristic AUC on the held-out states: {heuristic_auc:.3f}")
    fit_half, eval_half = split_by_theorem(held_out, 0.5, seed=0)
    half_t = fit_temperature(value.logits([e.state for e in fit_half]), torch.tensor([e.label for e in fit_half]))

    def scorer(t: float) -> TransformersValue:
        return TransformersValue(value.model, value.tokenizer, temperature=t)

    for name, model, examples in (("T = 1 (before)", scorer(1.0), held_out),
                                  (f"T = {value.temperature:.2f} (fitted on held-out training theorems)", value, held_out),
                                  ("half A, T = 1", scorer(1.0), eval_half),
                                  (f"half A, T = {half_t:.2f} (fitted on held-out half B)", scorer(half_t), eval_half)):
        report = evaluate_value(model, examples)
        print(f"held-out {name}: AUC {report.auc:.3f}, Brier {report.brier:.3f}, ECE {report.ece:.3f}, {report.states} states")
        print("  reliability (mean predicted -> fraction provable, states): "
              + ", ".join(f"{p:.2f} -> {o:.2f} ({c})" for p, o, c in report.reliability))
    if args.no_search:
        print(f"total {time.perf_counter() - started:.0f}s, load {os.getloadavg()[0]:.1f}")
        return

    test = load_dataset("sandbox:test")
    policies = [("best-first", BestFirst(k=4)), ("best-first w=4", BestFirst(k=4, value_weight=4.0)),
                ("beam", Beam(width=4, k=4, max_depth=16)), ("mcts", MCTS(k=4))]
    rows = []
    for label, policy in policies:
        for guided in ((True,) if "w=" in label else (False, True)):
            agent = Agent(env=SandboxEnvironment(), proposer=BaselineProposer(temperature=args.temperature),
                          value=value if guided else None)
            cells = []
            for budget in budgets:
                runs = [agent.run(test, policy=policy, budget=Budget(max_tokens=budget), seed=s) for s in seeds]
                rates = [len(run.solved) / len(test.theorems) for run in runs]
                evaluations = statistics.fmean(r.spent.get("evaluations", 0) for run in runs for r in run.records)
                cells.append(f"{statistics.fmean(rates):.3f} [{min(rates):.2f},{max(rates):.2f}] {evaluations:.0f}v")
            rows.append((f"{label}{' + value' if guided else ''}", cells))
    print(f"\n# sandbox:test ({len(test.theorems)}), solve rate mean [min,max] over seeds {args.seeds}, "
          f"baseline temperature {args.temperature}; total {time.perf_counter() - started:.0f}s, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'policy':<22}" + "".join(f"{b:>26}" for b in budgets))
    for label, cells in rows:
        print(f"{label:<22}" + "".join(f"{c:>26}" for c in cells))


if __name__ == "__main__":
    main()
