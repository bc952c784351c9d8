"""How well a trained tactic model proves sandbox theorems (default: the valid split).

Two measurements through the real search package on ``SandboxEnvironment``:

* pass@k of independent rollouts: ``--attempts`` one-rollout searches per theorem
  (``Rollouts(n=1)``, distinct seeds), ``c`` of them successful; pass@k uses the
  unbiased estimator 1 - C(n-c, k) / C(n, k) (Chen et al., 2021);
* best-first search with ``--k`` samples per expansion under ``--expansions``.

    python benchmarks/eval_sandbox_model.py runs/models/sandbox-small --attempts 32
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter

import torch

from propsandbox import SandboxEnvironment, load_split
from prover.models import GenerationSettings, load_proposer
from prover.report import pass_at_k
from search import BestFirst, Budget, Rollouts, Scheduler, SchedulerConfig, SearchJob


async def _run(scheduler: Scheduler, jobs: list[SearchJob]) -> dict[str, int]:
    proved: Counter[str] = Counter()
    async for index, result in scheduler.stream_jobs(jobs):
        proved[jobs[index].theorem.name] += result.proved
    return proved


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
    theorems = [g.theorem for g in load_split(args.split)][: args.limit]
    config = SchedulerConfig(max_batch=64, max_concurrent=64)
    env = SandboxEnvironment()

    started = time.perf_counter()
    rollouts = Scheduler(env=env, proposer=proposer, policy=Rollouts(n=1, max_depth=args.max_depth), config=config)
    proved = asyncio.run(_run(rollouts, [SearchJob(t, seed) for t in theorems for seed in range(args.attempts)]))
    rollout_seconds = time.perf_counter() - started
    print(f"model {args.model}  split {args.split} ({len(theorems)} theorems)  temperature {args.temperature}")
    print(f"rollouts: {args.attempts} per theorem, max depth {args.max_depth}, {rollout_seconds:.0f}s")
    for k in sorted({1, 4, 8, 16, 32, args.attempts}):
        if k <= args.attempts:
            score = sum(pass_at_k(args.attempts, proved[t.name], k) for t in theorems) / len(theorems)
            print(f"  pass@{k:<3d} {score:.3f}")

    started = time.perf_counter()
    best_first = Scheduler(
        env=env, proposer=proposer, policy=BestFirst(k=args.k), budget=Budget(max_expansions=args.expansions), config=config
    )
    solved = asyncio.run(_run(best_first, [SearchJob(t, 0) for t in theorems]))
    print(
        f"best-first k={args.k}, {args.expansions} expansions: proved {sum(solved.values())}/{len(theorems)} "
        f"({time.perf_counter() - started:.0f}s)"
    )


if __name__ == "__main__":
    main()
