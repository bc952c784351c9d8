"""DCO training costs, measured on the DCOTrainer:

* ``step``: time of one DCO step relative to a CE step on the same batches (target: within
  1.1x). The trainers share initial weights and batches; steps are interleaved (CE,
  DCO-step, CE-proof, DCO-proof, CE, ...) so machine load affects all alike; the median
  is reported. ``threshold 0`` keeps every unit, isolating the loss from the refill.
* ``memory``: peak memory of the refill at drop rates 0, 0.5 and 0.9. A fraction of the
  units has a one-character target (untrained p ≈ e^-12), the rest a long one (p ≈ e^-200);
  at N' = e^60 with the learning rate 0 the short ones are always dropped, so the drop rate
  is that fraction. Reported: the peak bytes held for backward (autograd's saved-tensor
  hooks: the activation memory the refill controls) and the process's peak RSS (a fresh
  process per rate), with the units scored per step.
* ``processes``: training throughput (units per second, from the Trainer's runtime) of one
  process with batch B against ``accelerate launch`` with two CPU processes of B/2 each.

    python benchmarks/bench_dco.py step --steps 20 --threads 1
    python benchmarks/bench_dco.py memory
    python benchmarks/bench_dco.py processes --steps 60
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from lean_env.types import ProofState, Theorem
from prover.training import (
    CONFIGS_DIR,
    DCOConfig,
    ProofTrace,
    SavedTensorMeter,
    StepExample,
    build_model,
    sandbox_traces,
    tactic_trainer,
)
from search.proposer import Query

# name -> (loss fields, the CE variant it is compared with). Proof-level batches hold whole
# proofs, so their baseline is CE over the same proof batches: dco-proof at N' = 1.
VARIANTS = {
    "ce": (dict(loss_type="ce"), "ce"),
    "dco-step": (dict(loss_type="dco-step", dco_n=16.0, dco_threshold=0.0), "ce"),
    "ce-proof": (dict(loss_type="dco-proof", dco_n=1.0, dco_threshold=0.0), "ce-proof"),
    "dco-proof": (dict(loss_type="dco-proof", dco_n=1024.0, dco_threshold=0.0), "ce-proof"),
}


def _config(args: argparse.Namespace, **fields: object) -> DCOConfig:
    return DCOConfig(model_size=args.size, per_device_train_batch_size=args.batch_size, output_dir=tempfile.mkdtemp(),
                     device_type=args.device, report_to="none", disable_tqdm=True, seed=0, **fields)


def _stepper(config: DCOConfig, traces: list[ProofTrace]):
    """A trainer, its batches and a function running one optimizer step on a batch."""
    model, tokenizer = build_model(config)  # seeded by config.seed: every variant starts equal
    trainer = tactic_trainer(config, model=model, tokenizer=tokenizer, traces=traces, eval_traces=None, callbacks=[])
    trainer.current_gradient_accumulation_steps = 1
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)

    def step(batch: dict) -> None:
        trainer.training_step(model, batch)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return trainer, step


def bench_step(args: argparse.Namespace) -> None:
    traces = list(sandbox_traces("train")[: args.traces])
    runs = {}
    for name, (fields, _) in VARIANTS.items():
        trainer, step = _stepper(_config(args, **fields), traces)
        batches = itertools.cycle(trainer.get_train_dataloader())  # proof batches run out first: cycle the epoch
        runs[name] = (step, [next(batches) for _ in range(args.steps + 2)])
    times: dict[str, list[float]] = {name: [] for name in runs}
    for index in range(args.steps + 2):  # the first two steps warm up
        for name, (step, batches) in runs.items():
            started = time.perf_counter()
            step(batches[index])
            if args.device == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(samples[2:]) for name, samples in times.items()}
    print(f"step time: model {args.size}, batch {args.batch_size} units, {args.steps} timed steps, device {args.device}, "
          f"threads {torch.get_num_threads()}")
    for name, (_, baseline) in VARIANTS.items():
        print(f"  {name:10s} median step {medians[name] * 1000:7.1f} ms   ratio to {baseline:8s} {medians[name] / medians[baseline]:.3f}")


def _short_and_long(drop: float, count: int = 200) -> list[ProofTrace]:
    """``count`` one-step traces, a fraction ``drop`` of them with a one-character target."""
    traces = []
    for i in range(count):
        short = i < round(drop * count)
        theorem = Theorem(name=f"u{i}", statement=f"theorem u{i} : p := by")
        goal = f"h{i} : p ∧ q ∧ r\n⊢ " + " ∧ ".join(f"p{j}" for j in range(12))
        target = "x" if short else "refine ⟨h.1, h.2.1, h.2.2, ?_⟩ <;> exact And.intro (by assumption) (by simp_all)"
        traces.append(ProofTrace(name=theorem.name, steps=(StepExample(Query(theorem=theorem, state=ProofState(goals=(goal,))), target),)))
    return [traces[j] for j in torch.randperm(count, generator=torch.Generator().manual_seed(0)).tolist()]


def _memory_one(args: argparse.Namespace) -> None:
    """Child process: train ``args.steps`` steps at drop rate ``args.drop``; print one JSON line."""
    config = _config(args, loss_type="dco-step", dco_n=math.exp(60), learning_rate=0.0, max_refill_rounds=args.rounds,
                     max_steps=args.steps, logging_steps=args.steps, save_strategy="no")
    model, tokenizer = build_model(config)
    trainer = tactic_trainer(config, model=model, tokenizer=tokenizer, traces=_short_and_long(args.drop),
                             eval_traces=None, callbacks=[])
    with SavedTensorMeter() as meter:
        trainer.train()
    (log,) = [r for r in trainer.state.log_history if "loss" in r]
    scored = args.batch_size / max(1 - log["drop_fraction"], 1e-9) if log["kept_units"] else float("nan")
    print(json.dumps({"drop": log["drop_fraction"], "kept": log["kept_units"], "scored_per_step": scored,
                      "saved_peak_mb": meter.peak / 2**20,
                      "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def bench_memory(args: argparse.Namespace) -> None:
    print(f"refill peak memory: model {args.size}, batch {args.batch_size}, {args.steps} steps, up to {args.rounds} refill "
          f"rounds, N' = e^60, learning rate 0, a fresh process per drop rate")
    for drop in (0.0, 0.5, 0.9):
        command = [sys.executable, __file__, "memory-one", "--drop", str(drop), "--size", args.size, "--batch-size",
                   str(args.batch_size), "--steps", str(args.steps), "--rounds", str(args.rounds), "--device", args.device]
        if args.threads:
            command += ["--threads", str(args.threads)]
        result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        print(f"  drop {result['drop']:.2f}: kept {result['kept']:.1f}/step, scored {result['scored_per_step']:.0f}/step, "
              f"saved-for-backward peak {result['saved_peak_mb']:.1f} MiB, process RSS peak {result['rss_peak_mb']:.0f} MiB")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench_processes(args: argparse.Namespace) -> None:
    common = ["--preset", "sandbox-small", "--data", "sandbox:valid", "--max-steps", str(args.steps), "--threads", "1",
              "--no-progress", "--set", "save_strategy=no"]
    runs = {
        "1 process ": [sys.executable, "-m", "prover.cli", "train", *common, "--batch-size", str(args.batch_size)],
        "2 processes": [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                        str(CONFIGS_DIR / "accelerate" / "ddp.yaml"), "--num_processes", "2", "--main_process_port",
                        str(_free_port()), "-m", "prover.cli", "train", *common, "--batch-size", str(args.batch_size // 2)],
    }
    print(f"throughput: sandbox-small model, global batch {args.batch_size}, {args.steps} steps, 1 thread per process, "
          f"{os.cpu_count()} cores")
    for name, command in runs.items():
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([*command, "-o", out], check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            state = json.loads((Path(out) / "trainer_state.json").read_text())
        final = next(r for r in reversed(state["log_history"]) if "train_runtime" in r)
        units = args.steps * args.batch_size / final["train_runtime"]
        print(f"  {name}: {units:7.1f} units/s ({final['train_runtime']:.1f} s training loop)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["step", "memory", "memory-one", "processes"])
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--size", default="small")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--traces", type=int, default=400, help="step: sandbox train proofs to draw batches from")
    parser.add_argument("--drop", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=64, help="memory: refill rounds at most")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = {"step": 20, "memory": 4, "memory-one": 4, "processes": 60}
    args.steps = args.steps or steps[args.what]
    {"step": bench_step, "memory": bench_memory, "memory-one": _memory_one, "processes": bench_processes}[args.what](args)


if __name__ == "__main__":
    main()
