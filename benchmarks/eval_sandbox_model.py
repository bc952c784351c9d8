"""How well a trained tactic model proves sandbox theorems (default: the valid split).

Two measurements through the agent API on the sandbox:

* pass@k of independent rollouts: ``--attempts`` one-rollout searches per theorem
  (``Rollouts(n=1)``, attempt seeds by the one seed rule), ``c`` of them successful;
  pass@k uses the unbiased estimator 1 - C(n-c, k) / C(n, k) (Chen et al., 2021);
* best-first search with ``--k`` samples per expansion under ``--expansions``.

    python benchmarks/eval_sandbox_model.py runs/models/sandbox-small --attempts 32
"""

from __future__ import annotations

import argparse
import time

import torch

from prover import Agent, BestFirst, Budget, ProverConfig, Rollouts, SandboxEnvironment, load_dataset
from prover.models import GenerationSettings, load_proposer
from search import SchedulerConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="directory written by 'prover train'")
    parser.add_argument("--split", default="valid")
    parser.add_argument("--limit", type=int, default=None, help="first N theorems only")
    parser.add_argument("--attempts", type=int, default=32, help="rollouts per theorem for pass@k")
    parser.add_argument("--max-depth", type=int, default=16)
    parser.add_argument("--k", type=int, default=8, help="samples per best-first expansion")
    parser.add_argument("--expansions", type=int, default=32, help="best-first expansion budget")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    proposer = load_proposer(
        args.model, device=args.device, settings=GenerationSettings(temperature=args.temperature, max_new_tokens=96)
    )
    dataset = load_dataset(f"sandbox:{args.split}").limit(args.limit)
    config = ProverConfig(scheduler=SchedulerConfig(max_batch=64, max_concurrent=64))
    agent = Agent(env=SandboxEnvironment(), proposer=proposer, config=config)

    started = time.perf_counter()
    rollouts = agent.run(dataset, policy=Rollouts(n=1, max_depth=args.max_depth), budget=Budget(), attempts=args.attempts)
    print(f"model {args.model}  split {args.split} ({len(dataset.theorems)} theorems)  temperature {args.temperature}")
    print(f"rollouts: {args.attempts} per theorem, max depth {args.max_depth}, {time.perf_counter() - started:.0f}s")
    for k in sorted({1, 4, 8, 16, 32, args.attempts}):
        if k <= args.attempts:
            print(f"  pass@{k:<3d} {rollouts.pass_at_k(k):.3f}")

    started = time.perf_counter()
    best_first = agent.run(dataset, policy=BestFirst(k=args.k), budget=Budget(max_expansions=args.expansions), attempts=1)
    print(
        f"best-first k={args.k}, {args.expansions} expansions: proved {len(best_first.solved)}/{len(dataset.theorems)} "
        f"({time.perf_counter() - started:.0f}s)"
    )


if __name__ == "__main__":
    main()
