"""Benchmark the Lean REPL pool against the stand-in REPL (tests/repl/fake_repl.py).

1. Overhead: with the stand-in answering at once, time every ``env.step`` and, inside it,
   the ``ReplProcess.request`` round trip (pipe write, the stand-in's work, pipe read,
   JSON decode). The pool's own overhead per step is the difference: hygiene, worker
   choice, locking, handle bookkeeping and result mapping.
2. Throughput: each step takes ``--delay-ms`` in the stand-in; ``--theorems`` searches
   run ``--steps`` sequential steps each, concurrently, with 1 worker and with N
   workers. Worker start-up (spawn + header) is done before timing.

Usage: .venv/bin/python benchmarks/bench_repl_pool.py [--overhead-steps 2000] [--delay-ms 50] ...
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import time
from pathlib import Path

from lean_env import EnvLimits
from lean_env.repl import ReplConfig, ReplEnvironment
from lean_env.repl.process import ReplProcess
from lean_env.types import NewState, Theorem

REPO = Path(__file__).resolve().parents[1]
FAKE_REPL = REPO / "tests" / "repl" / "fake_repl.py"
HEADER = "import Mathlib\n"


def _config(delay_ms: float, workers: int) -> ReplConfig:
    command = (sys.executable, str(FAKE_REPL), "--delay-ms", str(delay_ms))
    return ReplConfig(command=command, cwd=REPO, limits=EnvLimits(workers=workers, recycle_after_steps=1_000_000))


def _theorem(i: int) -> Theorem:
    return Theorem(f"t{i}", f"theorem t{i} (x : Nat) (h : x = {i}) : x = {i} ∧ x ≥ 0 := by", header=HEADER)


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


async def measure_overhead(steps: int) -> dict[str, float]:
    """Median/p90 (ms) of env.step, of the REPL round trip inside it, and of the difference."""
    inner: list[float] = []
    original = ReplProcess.request

    async def timed(self, request, timeout):
        began = time.perf_counter()
        try:
            return await original(self, request, timeout)
        finally:
            inner.append(time.perf_counter() - began)

    ReplProcess.request = timed  # instrumentation for this benchmark only
    try:
        async with ReplEnvironment(_config(0.0, 1)) as env:
            root = await env.start(_theorem(0))
            totals, overheads = [], []
            for _ in range(steps):
                inner.clear()
                began = time.perf_counter()
                result = await env.step(root, "skip")
                total = time.perf_counter() - began
                assert isinstance(result, NewState) and len(inner) == 1
                totals.append(total)
                overheads.append(total - inner[0])
            rounds = [t - o for t, o in zip(totals, overheads)]
    finally:
        ReplProcess.request = original
    ms = 1000.0
    return {
        "step_median": statistics.median(totals) * ms,
        "step_p90": _percentile(totals, 90) * ms,
        "repl_median": statistics.median(rounds) * ms,
        "repl_p90": _percentile(rounds, 90) * ms,
        "overhead_median": statistics.median(overheads) * ms,
        "overhead_p90": _percentile(overheads, 90) * ms,
    }


async def measure_throughput(workers: int, *, theorems: int, steps: int, delay_ms: float) -> float:
    """Steps per second for ``theorems`` concurrent searches of ``steps`` steps each."""
    async with ReplEnvironment(_config(delay_ms, workers)) as env:
        roots = [await env.start(_theorem(i)) for i in range(theorems)]
        await asyncio.gather(*(env.step(root, "skip") for root in roots))  # every worker warm

        async def search(state):
            for _ in range(steps):
                result = await env.step(state, "skip")
                assert isinstance(result, NewState)
                state = result.state

        began = time.perf_counter()
        await asyncio.gather(*(search(root) for root in roots))
        return theorems * steps / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--overhead-steps", type=int, default=2000)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--theorems", type=int, default=16)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()

    overhead = asyncio.run(measure_overhead(args.overhead_steps))
    one = asyncio.run(measure_throughput(1, theorems=args.theorems, steps=args.steps, delay_ms=args.delay_ms))
    many = asyncio.run(measure_throughput(args.workers, theorems=args.theorems, steps=args.steps, delay_ms=args.delay_ms))

    print(f"# REPL pool benchmark ({platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()}, stand-in REPL {FAKE_REPL.relative_to(REPO)})")
    print(f"\n## Per-step latency, stand-in answering at once ({args.overhead_steps} sequential steps on one worker)")
    print(f"| {'measure':<36} | {'median ms':>9} | {'p90 ms':>8} |")
    print(f"|{'-' * 38}|{'-' * 11}|{'-' * 10}|")
    for label, key in [("env.step end to end", "step"), ("REPL round trip inside it", "repl"), ("pool overhead (difference)", "overhead")]:
        print(f"| {label:<36} | {overhead[key + '_median']:>9.3f} | {overhead[key + '_p90']:>8.3f} |")
    print(f"\n## Throughput, {args.delay_ms:g} ms per step in the stand-in "
          f"({args.theorems} concurrent searches x {args.steps} sequential steps, start-up excluded)")
    print(f"| {'workers':>7} | {'steps/s':>9} | {'speed-up':>8} |")
    print(f"|{'-' * 9}|{'-' * 11}|{'-' * 10}|")
    print(f"| {1:>7} | {one:>9.1f} | {1.0:>7.2f}x |")
    print(f"| {args.workers:>7} | {many:>9.1f} | {many / one:>7.2f}x |")


if __name__ == "__main__":
    main()
