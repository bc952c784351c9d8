"""Sandbox benchmarks: step throughput on ordinary goals, and how pathological tactics end.

(a) Throughput. The workload is every tactic the model-free baseline offers at every state
along the reference proofs of the sandbox's valid split (a realistic mix of ``intro``,
``exact``, ``obtain``, ``by_cases``, ... on small goals). It is stepped through
``SandboxEnvironment.step_sync`` (the synchronous core) and through ``await env.step``
(what a search does: 32 steps gathered at a time), warm (tactic-parse and render caches
filled by a first pass) and cold (caches emptied before each pass). Steps per second, best
of ``--repeat`` passes, with the median beside it.

(b) Pathological tactics, each in a fresh subprocess limited to ``--memory-mb`` of address
space and ``--timeout`` seconds: how long ``step_sync`` takes to answer, what it answers
and the peak resident memory. Then a best-first search whose proposer offers only the
``repeat`` case, under ``Budget(max_expansions=10, max_seconds=3)``: the wall time until
the search returns. Then ``--scripts`` distinct 98k-character scripts stepped one after
another: peak memory before and after (the tactic-parse cache). Last, a search under ``Budget(max_seconds=0.3)`` whose one step is
seconds of honest work (with the work limits raised so that only the deadline can stop
it): the wall time until the search returns.

Run: ``.venv/bin/python benchmarks/bench_sandbox.py``

On a loaded machine wall and even CPU time vary by tens of percent; instruction counts do
not. ``--passes KIND N`` only runs N passes of one throughput figure (``sync-warm``,
``sync-cold``, ``async-warm``, ``async-cold``, ``rank``), for counting under valgrind:
``valgrind --tool=callgrind --callgrind-out-file=/dev/null python benchmarks/bench_sandbox.py
--passes sync-warm N`` for N = 0 and N = 2; the difference divided by 2 x the pairs is the
instructions per step.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time

from lean_env import NewState, Theorem
from propsandbox import SandboxEnvironment, clear_caches, load_split, rank_tactics

PATHOLOGICAL = {
    "repeat all_goals by_cases": ("theorem t (p q : Prop) : q := by", "repeat all_goals by_cases h : p"),
    "20 <;> by_cases links": ("theorem t (p q : Prop) : q := by", "by_cases h : p" + " <;> by_cases h : p" * 20),
    "repeat have doubling": ("theorem t (p : Prop) (h : p) : p := by", "repeat (have h := And.intro h h)"),
    "100k-character script": ("theorem t (p : Prop) (h : p) : p := by", "skip\n" * 20_000),
}

_CHILD = """
import resource, sys, time
from lean_env import Theorem
from propsandbox import SandboxEnvironment
statement, tactic = sys.argv[1], sys.argv[2]
env = SandboxEnvironment()
state = env.start_sync(Theorem("t", statement))
started = time.perf_counter()
result = env.step_sync(state, tactic)
seconds = time.perf_counter() - started
detail = getattr(result, "reason", "") or type(result).__name__
print(f"{seconds:.3f}s -> {type(result).__name__} ({detail}), peak RSS "
      f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
"""

_SEARCH_CHILD = """
import time
from lean_env import Theorem
from prover import Agent, BestFirst, Budget
from propsandbox import SandboxEnvironment
from search import Candidate

class Repeat:
    name, kind = "repeat", "tactic"
    def propose(self, queries, k):
        return [[Candidate("repeat all_goals by_cases h : p", -1.0, 6)] for _ in queries]

env = SandboxEnvironment()
agent = Agent(env=env, proposer=Repeat())
started = time.perf_counter()
result = agent.prove(Theorem("t", "theorem t (p q : Prop) : q := by"), policy=BestFirst(k=1),
                     budget=Budget(max_expansions=10, max_seconds=3.0))
print(f"search returned after {time.perf_counter() - started:.2f}s: {result.status} "
      f"({result.spent.env_calls} env calls)")
"""

_CACHE_CHILD = """
import resource, sys
from lean_env import Theorem
from propsandbox import SandboxEnvironment
env = SandboxEnvironment()
root = env.start_sync(Theorem("t", "theorem t (p : Prop) (h : p) : p := by"))
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
start = rss()
for i in range(int(sys.argv[1])):
    env.step_sync(root, f"exact f{i} " + "h " * 49_000)
print(f"peak RSS {start} MB before, {rss()} MB after")
"""

_DEADLINE_CHILD = """
import inspect, time
from lean_env import Theorem
from prover import Agent, BestFirst, Budget
from propsandbox import SandboxEnvironment
from search import Candidate

SLOW = ("by_cases h : p" + " <;> by_cases h : p" * 6 + "\\nall_goals (first "
        + " ".join(f"| exact x{i}" for i in range(5000)) + " | skip)")

class Slow:
    name, kind = "slow", "tactic"
    def propose(self, queries, k):
        return [[Candidate(SLOW, -1.0, 6)] for _ in queries]

if "work" in inspect.signature(SandboxEnvironment).parameters:
    from propsandbox import WorkLimits
    env = SandboxEnvironment(work=WorkLimits(work=10**9, goals=10**6, rendered=10**9))
else:
    env = SandboxEnvironment()
agent = Agent(env=env, proposer=Slow())
started = time.perf_counter()
result = agent.prove(Theorem("t", "theorem t (p q : Prop) : q := by"), policy=BestFirst(k=1),
                     budget=Budget(max_seconds=0.3))
print(f"search returned after {time.perf_counter() - started:.2f}s: {result.status}")
"""


def workload() -> list[tuple[object, str]]:
    """(state, tactic) pairs: every baseline suggestion at every reference-proof state."""
    env = SandboxEnvironment()
    pairs = []
    for item in load_split("valid"):
        state = env.start_sync(item.theorem)
        for tactic in item.proof:
            pairs.extend((state, text) for text, _ in rank_tactics(state.goals[0]))
            result = env.step_sync(state, tactic)
            if not isinstance(result, NewState):
                break
            state = result.state
    return pairs


def time_sync(env: SandboxEnvironment, pairs, *, cold: bool) -> tuple[float, float]:
    """(steps per wall second, steps per CPU second of this process)."""
    if cold:
        clear_caches()
    wall, cpu = time.perf_counter(), time.process_time()
    for state, tactic in pairs:
        env.step_sync(state, tactic)
    return len(pairs) / (time.perf_counter() - wall), len(pairs) / (time.process_time() - cpu)


def time_async(env: SandboxEnvironment, pairs, *, cold: bool) -> tuple[float, float]:
    """As ``time_sync``, through ``await env.step`` 32 at a time."""
    async def main() -> tuple[float, float]:
        if cold:
            clear_caches()
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(pairs), 32):
            await asyncio.gather(*(env.step(state, tactic) for state, tactic in pairs[i:i + 32]))
        return len(pairs) / (time.perf_counter() - wall), len(pairs) / (time.process_time() - cpu)

    return asyncio.run(main())


def throughput(repeat: int) -> None:
    pairs = workload()
    env = SandboxEnvironment()
    time_sync(env, pairs, cold=False)  # fill the caches
    print(f"(a) {len(pairs)} (state, tactic) pairs from the valid split's reference proofs "
          "(steps per wall second / per CPU second of this process)")
    for label, timer, cold in (("step_sync, warm", time_sync, False), ("step_sync, cold", time_sync, True),
                               ("await step, warm", time_async, False), ("await step, cold", time_async, True)):
        rates = [timer(env, pairs, cold=cold) for _ in range(repeat)]
        wall, cpu = [r[0] for r in rates], [r[1] for r in rates]
        print(f"    {label:<18} best {max(wall):>9,.0f} / {max(cpu):>9,.0f} steps/s   "
              f"median {statistics.median(wall):>9,.0f} / {statistics.median(cpu):>9,.0f}")
    goals = sorted({state.goals[0] for state, _ in pairs})
    rates = []
    for _ in range(repeat):
        cpu = time.process_time()
        for goal in goals:
            rank_tactics(goal)
        rates.append(len(goals) / (time.process_time() - cpu))
    print(f"    baseline rank_tactics on {len(goals)} distinct goals (defeq-heavy): best {max(rates):,.0f} "
          f"median {statistics.median(rates):,.0f} goals per CPU second")


def pathological(memory_mb: int, timeout: float, scripts: int) -> None:
    print(f"(b) pathological tactics (fresh process each, {memory_mb} MB address space, {timeout:g}s timeout)")
    limit = f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({memory_mb << 20}, {memory_mb << 20}))\n"
    for label, (statement, tactic) in PATHOLOGICAL.items():
        answer = _child(limit + _CHILD, [statement, tactic], timeout, f"no answer after {timeout:g}s (killed)")
        print(f"    {label:<26} {answer}")
    search = _child(limit + _SEARCH_CHILD, [], timeout, f"search had not returned after {timeout:g}s (killed)")
    print(f"    best-first, Budget(max_expansions=10, max_seconds=3), proposer offering the repeat case: {search}")
    cache = _child(limit + _CACHE_CHILD, [str(scripts)], timeout * 10, f"not done after {timeout * 10:g}s (killed)")
    print(f"    {scripts} distinct 98k-character scripts stepped (the tactic-parse cache): {cache}")
    deadline = _child(limit + _DEADLINE_CHILD, [], timeout, f"search had not returned after {timeout:g}s (killed)")
    print("    best-first, Budget(max_seconds=0.3), one step of seconds of work (128 goals x 5,000 failing "
          f"alternatives; work limits raised where they exist): {deadline}")


def _child(code: str, args: list[str], timeout: float, on_timeout: str) -> str:
    """What a fresh Python process running ``code`` printed, how it died, or ``on_timeout``."""
    try:
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return on_timeout
    return out.stdout.strip() or f"died: {out.stderr.strip().splitlines()[-1:]}"


def passes(kind: str, count: int) -> None:
    """Only run ``count`` passes of one throughput figure (for instruction counting)."""
    pairs = workload()
    env = SandboxEnvironment()
    time_sync(env, pairs, cold=False)
    goals = sorted({state.goals[0] for state, _ in pairs})
    for _ in range(count):
        if kind == "rank":
            for goal in goals:
                rank_tactics(goal)
        else:
            timer = time_sync if kind.startswith("sync") else time_async
            timer(env, pairs, cold=kind.endswith("cold"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes per throughput figure")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space limit of each pathological case")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds before a pathological case is killed")
    parser.add_argument("--scripts", type=int, default=100, help="distinct long scripts for the parse-cache case")
    parser.add_argument("--skip-pathological", action="store_true")
    parser.add_argument("--passes", nargs=2, metavar=("KIND", "N"), help="only run N passes of one figure")
    args = parser.parse_args()
    if args.passes:
        passes(args.passes[0], int(args.passes[1]))
        return
    throughput(args.repeat)
    if not args.skip_pathological:
        pathological(args.memory_mb, args.timeout, args.scripts)


if __name__ == "__main__":
    main()
