"""Batched generation throughput of the transformers proposer (tactics per second).

Each call proposes one sampled tactic for each of ``batch`` sandbox states, so the batch
is the number of rows decoded together. A randomly initialised model rarely emits EOS,
so every row runs the full ``--new-tokens`` and all batch sizes do the same work per
tactic; with ``--model`` a trained checkpoint is measured on its natural tactic lengths.

    python benchmarks/bench_generation.py --config small --batches 1,8,64
    python benchmarks/bench_generation.py --config 100m --device cuda   # GPU path
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

from propsandbox import load_split
from prover.models import (
    SCRATCH_SIZES,
    GenerationSettings,
    TransformersProposer,
    build_scratch_model,
    get_format,
    load_proposer,
    new_tokenizer,
)
from prover.training import sandbox_traces


def _proposer(args: argparse.Namespace, settings: GenerationSettings) -> TransformersProposer:
    if args.model:
        return load_proposer(args.model, device=args.device, settings=settings)
    tokenizer = new_tokenizer()
    torch.manual_seed(0)
    model = build_scratch_model(SCRATCH_SIZES[args.config], "causal", tokenizer).to(args.device)
    return TransformersProposer(model, tokenizer, get_format("sandbox"), settings=settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="small", choices=sorted(SCRATCH_SIZES), help="from-scratch model shape")
    parser.add_argument("--model", help="a trained model directory instead of a random model")
    parser.add_argument("--batches", default="1,8,64")
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model is None:
        load_split("valid")  # warm the split cache so it is not timed
    batches = [int(b) for b in args.batches.split(",")]
    settings = GenerationSettings(temperature=1.0, max_new_tokens=args.new_tokens, batch_rows=max(batches))
    proposer = _proposer(args, settings)
    queries = [step.query for trace in sandbox_traces("valid") for step in trace.steps]
    params = sum(p.numel() for p in proposer.model.parameters())
    print(f"model {args.model or args.config} ({params / 1e6:.2f}M parameters), device {args.device}, "
          f"threads {torch.get_num_threads()}, up to {args.new_tokens} new tokens, sampling")
    proposer.propose(queries[:2], 1)  # warm-up
    rates = {}
    for batch in batches:
        samples = []
        tokens = 0
        for repeat in range(args.repeats):
            chunk = [dataclasses.replace(q, seed=repeat) for q in queries[repeat * batch : (repeat + 1) * batch]]
            started = time.perf_counter()
            result = proposer.propose(chunk, 1)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            samples.append(time.perf_counter() - started)
            tokens += sum(c.num_tokens for cands in result for c in cands)
        seconds = statistics.median(samples)
        rates[batch] = batch / seconds
        print(f"  batch {batch:3d}: {rates[batch]:8.1f} tactics/s  ({seconds * 1000:7.1f} ms per call, "
              f"{tokens / sum(samples):8.0f} generated tokens/s)")
    if 1 in rates and len(rates) > 1:
        top = max(rates)
        print(f"  batch-{top}/batch-1 throughput ratio: {rates[top] / rates[1]:.1f}x")


if __name__ == "__main__":
    main()
