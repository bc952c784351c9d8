"""Batched generation throughput of the generation backends (tactics per second).

Each call proposes one sampled tactic for each of ``batch`` sandbox states, so the batch
is the number of rows decoded together. Both backends load the same model directory the
way ``prover bench`` does (``load_proposer``): ``--model`` (a trained checkpoint, measured
on its natural tactic lengths) or a randomly initialised model of ``--config`` saved to a
temporary directory (it rarely emits EOS, so every row runs the full ``--new-tokens``).
``--backend transformers,vllm`` measures both in one process on the same model and prints
the ratio. The vLLM CPU engine sets its own thread count (it reserves a core for itself);
``--threads`` applies to the transformers backend.

    python benchmarks/bench_generation.py --backend transformers --batches 1,8,64
    VLLM_CPU_KVCACHE_SPACE=1 python benchmarks/bench_generation.py --backend transformers,vllm --model runs/models/sandbox-small
    python benchmarks/bench_generation.py --config 100m --device cuda --backend vllm --dtype bfloat16   # GPU
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from prover.models import (
    SCRATCH_SIZES,
    CompletionProposer,
    GenerationSettings,
    build_scratch_model,
    load_proposer,
    new_tokenizer,
    write_prover_config,
)
from prover.training import sandbox_traces


def _random_model(config: str, directory: Path) -> Path:
    tokenizer = new_tokenizer()
    torch.manual_seed(0)
    build_scratch_model(SCRATCH_SIZES[config], "causal", tokenizer).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    write_prover_config(directory, {"format": "sandbox"})
    return directory


def _parameters(directory: Path) -> int:
    from safetensors import safe_open

    with safe_open(str(directory / "model.safetensors"), framework="pt") as weights:
        return sum(math.prod(weights.get_slice(name).get_shape()) for name in weights.keys())


def _measure(proposer: CompletionProposer, queries: list, batches: list[int], repeats: int, cuda: bool) -> dict[int, float]:
    proposer.propose(queries[:2], 1)  # warm-up
    rates = {}
    for batch in batches:
        samples, tokens = [], 0
        for repeat in range(repeats):
            chunk = [dataclasses.replace(q, seed=repeat) for q in queries[repeat * batch : (repeat + 1) * batch]]
            started = time.perf_counter()
            result = proposer.complete(chunk, 1)
            if cuda:
                torch.cuda.synchronize()
            samples.append(time.perf_counter() - started)
            tokens += sum(len(c.token_ids) for completions in result for c in completions)
        seconds = statistics.median(samples)
        rates[batch] = batch / seconds
        print(f"  batch {batch:3d}: {rates[batch]:8.1f} tactics/s  ({seconds * 1000:8.1f} ms per call, "
              f"{tokens / sum(samples):8.0f} generated tokens/s)", flush=True)
    if 1 in rates and len(rates) > 1:
        top = max(rates)
        print(f"  batch-{top}/batch-1 throughput ratio: {rates[top] / rates[1]:.1f}x")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="transformers", help="transformers, vllm, or both comma-separated")
    parser.add_argument("--config", default="small", choices=sorted(SCRATCH_SIZES), help="from-scratch model shape")
    parser.add_argument("--model", help="a trained model directory instead of a random model")
    parser.add_argument("--batches", default="1,8,64")
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    batches = [int(b) for b in args.batches.split(",")]
    settings = GenerationSettings(temperature=1.0, max_new_tokens=args.new_tokens, batch_rows=max(batches))
    queries = [step.query for trace in sandbox_traces("valid") for step in trace.steps]
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(args.model) if args.model else _random_model(args.config, Path(scratch))
        print(f"model {args.model or args.config} ({_parameters(directory) / 1e6:.2f}M parameters), device {args.device}, "
              f"dtype {args.dtype}, up to {args.new_tokens} new tokens, sampling, {max(batches) * args.repeats} states "
              f"of {len(queries)}; median of {args.repeats} calls per batch size")
        results = {}
        for backend in args.backend.split(","):
            engine = {"engine_args": {"seed": 0}} if backend == "vllm" else {}
            proposer = load_proposer(directory, backend=backend, device=args.device, dtype=args.dtype, settings=settings, **engine)
            threads = "vLLM's own threads" if backend == "vllm" else f"torch threads {torch.get_num_threads()}"
            print(f"{backend} ({threads}):", flush=True)
            try:
                results[backend] = _measure(proposer, queries, batches, args.repeats, args.device.startswith("cuda"))
            finally:
                proposer.close()
    if {"transformers", "vllm"} <= set(results):
        for batch in batches:
            print(f"  vllm/transformers at batch {batch}: {results['vllm'][batch] / results['transformers'][batch]:.2f}x")


if __name__ == "__main__":
    main()
