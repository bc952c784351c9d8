"""Time of one DCO training step relative to a CE step on the same batches (target: within 1.1x).

The trainers share the initial weights and the data order, so the step-level variants
see the very same batches, and so do the proof-level ones (whole proofs per unit); steps are interleaved (CE, DCO-step, DCO-proof, CE, ...) so machine
load affects all alike, and the median step time is reported. ``threshold 0`` keeps every
unit, isolating the cost of the loss itself from the refill of dropped units.

    python benchmarks/bench_dco.py --steps 20 --size small --batch-size 32 --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

from prover.models import SCRATCH_SIZES, build_scratch_model, new_tokenizer
from prover.training import DataSpec, LossConfig, ModelSpec, TrainConfig, Trainer, sandbox_traces

# name -> (loss, the CE variant it is compared with). Proof-level batches hold whole
# proofs, so their baseline is CE over the same proof batches: dco-proof at N' = 1.
VARIANTS = {
    "ce": (LossConfig(kind="ce"), "ce"),
    "dco-step": (LossConfig(kind="dco-step", n=16, threshold=0.0), "ce"),
    "ce-proof": (LossConfig(kind="dco-proof", n=1, threshold=0.0), "ce-proof"),
    "dco-proof": (LossConfig(kind="dco-proof", n=1024, threshold=0.0), "ce-proof"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--size", default="small", choices=sorted(SCRATCH_SIZES))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--traces", type=int, default=400, help="sandbox train proofs to draw batches from")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    traces = sandbox_traces("train")[: args.traces]
    tokenizer = new_tokenizer()
    torch.manual_seed(0)
    initial = build_scratch_model(SCRATCH_SIZES[args.size], "causal", tokenizer).state_dict()
    base = TrainConfig(
        model=ModelSpec(format="sandbox", size=args.size), data=DataSpec(source="sandbox:train"),
        batch_size=args.batch_size, max_steps=args.steps, device=args.device, output_dir="/dev/null",
    )
    trainers = {}
    for name, (loss, _) in VARIANTS.items():
        model = build_scratch_model(SCRATCH_SIZES[args.size], "causal", tokenizer)
        model.load_state_dict(initial)
        trainers[name] = Trainer(dataclasses.replace(base, loss=loss), traces=traces, model=model, tokenizer=tokenizer)
    times: dict[str, list[float]] = {name: [] for name in trainers}
    for _ in range(args.steps + 2):  # the first two steps warm up
        for name, trainer in trainers.items():
            started = time.perf_counter()
            trainer.train_step()
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(samples[2:]) for name, samples in times.items()}
    print(f"size {args.size}, batch {args.batch_size} units, {args.steps} timed steps, device {args.device}, "
          f"threads {torch.get_num_threads()}")
    for name, (_, baseline) in VARIANTS.items():
        ratio = medians[name] / medians[baseline]
        print(f"  {name:10s} median step {medians[name] * 1000:7.1f} ms   ratio to {baseline:8s} {ratio:.3f}")


if __name__ == "__main__":
    main()
