"""CE's overconfidence and the confidence-limited (DCO) loss on the propositional sandbox,
rerun with one command:

    python benchmarks/dco_sandbox/run.py              # the committed plan (plan.DEFAULT)
    python benchmarks/dco_sandbox/run.py --quick      # a smoke test of every stage, minutes (report in --work)
    python benchmarks/dco_sandbox/run.py --seeds 0 1 2 --epochs 2 8 24 ...   # a stated reduced plan

Stages, each cached under ``--work`` (default ``runs/dco_sandbox``; a rerun skips what is there):

1. ``base``: the ``sandbox-small`` preset model against the model-free baseline, best-first
   on sandbox:valid under matched env-call budgets, sampling with and without over-sampling
   (``GenerationSettings.oversample``) and with beam decoding;
2. ``train``: for each seed, CE on a small subset of sandbox:train with a snapshot after each
   of the plan's epochs, and DCO-step / DCO-proof over the N' grid for the same epochs;
3. ``measure``: each model on held-out sandbox:test theorems (``measure.py``);
4. ``report``: ``docs/dco-sandbox.md`` and its plots (``report.py``).

The sandbox is a propositional stand-in for Lean, not Lean.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import torch
from transformers import TrainerCallback

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure  # noqa: E402
import report  # noqa: E402
from plan import DEFAULT, QUICK, Plan, Variant  # noqa: E402

from prover import close, load_dataset  # noqa: E402
from prover.baseline import BaselineProposer  # noqa: E402
from prover.config import override  # noqa: E402
from prover.models import GenerationSettings, load_proposer, write_prover_config  # noqa: E402
from prover.training import load_train_config, sandbox_traces, train  # noqa: E402
from prover.training.config import without_schedule_kwargs  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


class EpochSnapshots(TrainerCallback):
    """Saves the model after each epoch in ``epochs`` to ``out/epoch-<e>`` (a loadable model directory)."""

    def __init__(self, out: Path, epochs: tuple[int, ...], prompt_format: str):
        self.out, self.epochs, self.format = out, set(epochs), prompt_format

    def on_epoch_end(self, args: Any, state: Any, control: Any, model: Any = None, processing_class: Any = None,
                     **kwargs: Any) -> None:
        epoch = round(state.epoch)
        if epoch in self.epochs and state.is_world_process_zero:
            directory = self.out / f"epoch-{epoch}"
            model.save_pretrained(directory)
            processing_class.save_pretrained(directory)
            write_prover_config(directory, {"format": self.format, "epoch": epoch, "step": state.global_step})


def _cached(path: Path, compute: Callable[[], Any]) -> Any:
    """``compute()``'s JSON result, kept in ``path`` so a rerun reads it instead."""
    if path.is_file():
        return json.loads(path.read_text())
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, indent=1, sort_keys=True))
    tmp.replace(path)
    return value


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def train_config(plan: Plan, variant: Variant, seed: int, out: Path, units_per_proof: float):
    """The preset's training arguments with this run's loss, seed, size and epochs."""
    proof_level = variant.loss == "dco-proof"
    batch = max(1, round(plan.batch_size / units_per_proof)) if proof_level else plan.batch_size
    fields = {
        "output_dir": str(out), "model_size": plan.model_size, "loss_type": variant.loss, "dco_n": variant.n,
        "seed": seed, "max_steps": -1, "num_train_epochs": max(plan.epochs), "save_strategy": "no",
        "per_device_train_batch_size": batch, "learning_rate": plan.learning_rate,
        "lr_scheduler_type": "constant_with_warmup", "warmup_steps": 20, "threads": 1, "report_to": "none",
        "disable_tqdm": True, "logging_steps": 10,
    }
    return override(without_schedule_kwargs(load_train_config(preset="sandbox-small")), fields.items())


def model_dir(plan: Plan, work: Path, variant: Variant, seed: int) -> Path:
    """Where a training run's snapshots go, named by everything that shapes them."""
    shape = f"p{plan.train_theorems}-e{max(plan.epochs)}-{plan.model_size}-b{plan.batch_size}-lr{plan.learning_rate:g}"
    return work / "models" / shape / f"{variant.name}-seed{seed}"


def stage_train(plan: Plan, work: Path) -> None:
    traces = measure.spread(sandbox_traces("train"), plan.train_theorems)
    units_per_proof = sum(len(t.steps) for t in traces) / len(traces)
    for seed in plan.seeds:
        for variant in plan.variants:
            out = model_dir(plan, work, variant, seed)
            epochs = plan.epochs if variant.loss == "ce" else (max(plan.epochs),)
            if all((out / f"epoch-{e}" / "config.json").is_file() for e in epochs):
                continue
            _log(f"train {variant.name} seed {seed}: {len(traces)} proofs, {max(plan.epochs)} epochs")
            config = train_config(plan, variant, seed, out, units_per_proof)
            started = time.perf_counter()
            result = train(config, traces=traces, callbacks=[EpochSnapshots(out, epochs, config.prompt_format)])
            (out / "train.json").write_text(json.dumps({"seconds": time.perf_counter() - started, "steps": result.global_step,
                                                        "units": result.units}))


def _proposer(directory: Path, **settings: Any):
    return load_proposer(directory, settings=GenerationSettings(max_new_tokens=48, batch_rows=256, **settings))


def measure_model(plan: Plan, directory: Path, seed: int) -> dict[str, Any]:
    """Every measurement of one model directory, cached in it."""
    test = measure.test_theorems(plan.test_theorems)
    sampler = _proposer(directory, temperature=1.0)
    searcher = _proposer(directory, temperature=1.0, oversample=plan.oversample)
    tag = f"n{plan.rollouts}-t{plan.test_theorems}"
    results = {
        "rollouts": _cached(directory / f"rollouts-{tag}-d{plan.max_depth}.json", lambda: measure.rollouts(
            sampler, test, n=plan.rollouts, max_depth=plan.max_depth, seed=seed)),
        "confidence": _cached(directory / f"confidence-t{plan.test_theorems}-m{plan.confidence_samples}.json",
                              lambda: measure.confidence(sampler, measure.reference_states(test.theorems),
                                                         samples=plan.confidence_samples, seed=seed)),
    }
    for policy in ("best-first", "beam"):
        name = f"{policy}-s{plan.search_samples}-k{plan.search_k}-x{plan.oversample}-t{plan.test_theorems}.json"
        results[policy] = _cached(directory / name, lambda: measure.search(
            searcher, test, policy=policy, k=plan.search_k, samples=plan.search_samples, max_depth=plan.max_depth,
            seed=seed))
    return results


def stage_measure(plan: Plan, work: Path) -> dict[str, Any]:
    """Measurements of every (variant, seed, epoch) model: ``{variant: {epoch: {seed: results}}}``."""
    out: dict[str, Any] = {}
    for seed in plan.seeds:
        for variant in plan.variants:
            epochs = plan.epochs if variant.loss == "ce" else (max(plan.epochs),)
            for epoch in epochs:
                directory = model_dir(plan, work, variant, seed) / f"epoch-{epoch}"
                _log(f"measure {variant.name} seed {seed} epoch {epoch}")
                out.setdefault(variant.name, {}).setdefault(str(epoch), {})[str(seed)] = measure_model(plan, directory, seed)
    return out


def stage_base(plan: Plan, work: Path) -> dict[str, Any]:
    """The preset model against the baseline at matched env-call budgets on sandbox:valid."""
    directory = work / "models" / "base-sandbox-small"
    if not (directory / "config.json").is_file():
        _log(f"train the sandbox-small preset ({plan.base_steps} steps)")
        config = override(load_train_config(preset="sandbox-small"), [
            ("output_dir", str(directory)), ("max_steps", plan.base_steps), ("save_strategy", "no"), ("threads", 1),
            ("report_to", "none"), ("disable_tqdm", True), ("model_size", plan.model_size)])
        started = time.perf_counter()
        train(config)
        (directory / "train.json").write_text(json.dumps({"seconds": time.perf_counter() - started}))
    valid = load_dataset("sandbox:valid").spread(plan.base_theorems)
    proposers: dict[str, Callable[[], Any]] = {"baseline": BaselineProposer}
    for factor in plan.base_oversample:
        proposers[f"model T=1 x{factor}"] = lambda f=factor: _proposer(directory, temperature=1.0, oversample=f)
    proposers["model beam"] = lambda: _proposer(directory, beam_search=True)
    rows: dict[str, Any] = {}
    for name, make in proposers.items():
        for calls in plan.base_env_calls:
            key = f"{name} @{calls}"
            path = directory / f"base-{name.replace(' ', '_').replace('=', '')}-e{calls}-t{plan.base_theorems}.json"
            if not path.is_file():
                _log(f"base: {key}")

            def compute(make=make, calls=calls) -> dict[str, Any]:
                proposer = make()
                started = time.perf_counter()
                try:
                    row = dict(measure.best_first_env_calls(proposer, valid, k=plan.search_k, env_calls=calls))
                finally:
                    close(proposer)
                return {**row, "seconds": time.perf_counter() - started}

            rows[key] = {"proposer": name, "env_budget": calls, **_cached(path, compute)}
    trained = json.loads((directory / "train.json").read_text())
    return {"rows": rows, "train_seconds": trained["seconds"], "theorems": len(valid.theorems),
            "provenance": trained.get("provenance")}


def parse_plan(argv: list[str] | None = None) -> tuple[Plan, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke test of every stage (tiny model and sizes)")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "dco_sandbox", help="cache of models and measurements")
    parser.add_argument("--docs", type=Path, default=None,
                        help="where the report and plots go (default: docs/, or the work directory with --quick)")
    parser.add_argument("--skip-base", action="store_true", help="leave out the base-model comparison")
    parser.add_argument("--base-only", action="store_true", help="run only the base-model comparison (no report)")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--epochs", type=int, nargs="+")
    parser.add_argument("--step-n", type=float, nargs="+")
    parser.add_argument("--proof-n", type=float, nargs="*")
    parser.add_argument("--base-env-calls", type=int, nargs="+")
    parser.add_argument("--base-oversample", type=int, nargs="+")
    for name in ("train-theorems", "test-theorems", "rollouts", "search-samples", "oversample", "base-theorems",
                 "base-steps", "confidence-samples"):
        parser.add_argument(f"--{name}", type=int)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else DEFAULT
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in vars(args).items()
             if v is not None and k in Plan.__dataclass_fields__}
    return replace(plan, **given), args


def main(argv: list[str] | None = None) -> None:
    plan, args = parse_plan(argv)
    torch.set_num_threads(1)
    work = args.work / ("quick" if args.quick else "full")
    started = time.perf_counter()
    command = "python benchmarks/dco_sandbox/run.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    base = None if args.skip_base else stage_base(plan, work)
    if args.base_only:
        return
    stage_train(plan, work)
    measured = stage_measure(plan, work)
    trained = [model_dir(plan, work, v, seed) / "train.json" for v in plan.variants for seed in plan.seeds]
    train_seconds = sum(json.loads(path.read_text())["seconds"] for path in trained if path.is_file())
    docs = args.docs or (work if args.quick else ROOT / "docs")
    path = report.write(plan, measured, base, docs=docs, name="dco-sandbox-quick" if args.quick else "dco-sandbox",
                        command=command.strip(), seconds=time.perf_counter() - started, train_seconds=train_seconds,
                        proof_steps=measure.mean_proof_length(measure.test_theorems(plan.test_theorems).theorems))
    _log(f"report: {path} ({math.ceil(time.perf_counter() - started)} s this invocation)")


if __name__ == "__main__":
    main()
