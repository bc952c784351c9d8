"""Training data, training and evaluation of the value model (``prover.models.value``).

Labels come from search graphs: a state on a proof (status ``proved``) is 1, a dead state
(every tactic tried from it failed) is 0. A state left ``open`` is a weak label; it is
labelled by Monte-Carlo rollouts from it instead (Math-Shepherd's hard estimate: 1 when
any of ``n`` rollouts proves it). Training is ``transformers.Trainer`` on a one-logit
classifier with binary cross-entropy, then temperature scaling (Guo et al. 2017): one
scalar ``T`` fitted on held-out states (the eval data, else a tenth of the training
theorems kept out of training) so that ``sigmoid(logit / T)`` is calibrated; evaluation
reports AUC, Brier score, expected calibration error and a reliability curve.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
from transformers import (
    DataCollatorWithPadding,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
    set_seed,
)

from lean_env import Environment, Theorem
from lean_env.types import NewState, ProofState
from prover import runtime
from prover.metrics import auc
from prover.models.loading import write_prover_config
from prover.models.scratch import SCRATCH_SIZES
from prover.models.tokenizer import new_tokenizer
from prover.models.value import VALUE_TASK, TransformersValue, build_value_model, load_value_model, value_text
from prover.runs import Run, RunError, load_graphs, manifest_value
from prover.training.data import refuse_test_split
from search import BestFirst, Budget, Proposer, Rollouts, SearchResult
from search.engine import SearchEngine
from search.graph import FAILED, OPEN, PROVED, ProofGraph
from search.proposer import as_propose_fn

__all__ = [
    "ValueExample",
    "label_graph",
    "rollout_label",
    "value_examples",
    "graph_value_examples",
    "sandbox_value_examples",
    "run_value_examples",
    "write_value_examples",
    "read_value_examples",
    "CALIBRATION_FRACTION",
    "TEMPERATURE_RANGE",
    "fit_temperature",
    "split_by_theorem",
    "ValueTrainer",
    "load_value_examples",
    "value_task",
    "value_model",
    "train_value_model",
    "ValueReport",
    "evaluate_value",
]


@dataclass(frozen=True)
class ValueExample:
    """One labelled state: its text (``value_text``), the label in ``[0, 1]``, where the
    label came from (``proof``, ``dead`` or ``rollouts``) and the theorem it belongs to."""

    state: str
    label: float
    source: str
    theorem: str


def label_graph(theorem: str, graph: ProofGraph) -> tuple[list[ValueExample], list[ProofState]]:
    """Strong labels of a search graph's states, and the open states left for rollouts
    (live states when the graph has them; a graph reloaded from disk gives their goals)."""
    examples, weak = [], []
    for node in graph.nodes():
        if node.kind != "state":
            continue
        try:
            state = graph.state(node.id)
        except KeyError:
            state = ProofState(goals=node.goals)
        if node.status == PROVED:
            examples.append(ValueExample(value_text(state), 1.0, "proof", theorem))
        elif node.status == FAILED:
            examples.append(ValueExample(value_text(state), 0.0, "dead", theorem))
        elif node.status == OPEN:
            weak.append(state)
    return examples, weak


async def rollout_label(theorem: Theorem, state: ProofState, *, env: Environment, proposer: Proposer, n: int,
                        depth: int, seed: int) -> float:
    """1.0 when any of ``n`` rollouts of at most ``depth`` tactics from ``state`` closes
    the proof, else 0.0 (a search rooted at ``state`` instead of the theorem's start)."""
    engine = SearchEngine(theorem, env=env, propose=as_propose_fn(proposer), budget=Budget(), seed=seed)
    engine.graph = ProofGraph(state.goals)
    engine.graph.bind(engine.graph.root, state)
    await Rollouts(n=n, max_depth=depth, concurrent=n).run(engine)
    return 1.0 if engine.graph.root_status == PROVED else 0.0


def value_examples(theorems: Iterable[Theorem], results: Iterable[SearchResult], *, env: Environment,
                   rollout_proposer: Proposer, rollouts: int = 8, depth: int = 16, max_open: int = 8,
                   seed: int = 0) -> list[ValueExample]:
    """Labelled states of finished searches of ``theorems`` (matched by name): strong labels
    from each graph, and up to ``max_open`` open states per search (drawn with ``seed``)
    labelled by rollouts. Duplicate (theorem, state) pairs keep their first label."""
    by_name = {t.name: t for t in theorems}
    return graph_value_examples([(by_name[r.theorem], r.graph) for r in results], env=env,
                                rollout_proposer=rollout_proposer, rollouts=rollouts, depth=depth, max_open=max_open,
                                seed=seed)


async def _replayed(theorem: Theorem, graph: ProofGraph, state: ProofState, env: Environment) -> ProofState | None:
    """A live state for ``state`` of ``graph``: itself when live, else the end of its path's
    tactics replayed from the theorem's start (``None`` when the replay ends elsewhere)."""
    if state.handle is not None:
        return state
    node = graph.node_for_key(state.key)
    live = await env.start(theorem)
    for tactic in graph.history(node) if node is not None else ():
        result = await env.step(live, tactic)
        if not isinstance(result, NewState):
            return None
        live = result.state
    return live if live.key == state.key else None


def graph_value_examples(searches: Iterable[tuple[Theorem, ProofGraph]], *, env: Environment | None = None,
                         rollout_proposer: Proposer | None = None, rollouts: int = 8, depth: int = 16,
                         max_open: int = 8, seed: int = 0) -> list[ValueExample]:
    """``value_examples`` of (theorem, graph) pairs: open states of a graph reloaded from
    disk are reached again by replaying their path in ``env``; without ``env`` (or with
    ``rollouts == 0``) open states are left out."""
    rng = random.Random(seed)
    out: dict[tuple[str, str], ValueExample] = {}
    for theorem, graph in searches:
        strong, weak = label_graph(theorem.name, graph)
        for example in strong:
            out.setdefault((theorem.name, example.state), example)
        if env is None or rollout_proposer is None or rollouts < 1:
            continue
        for state in rng.sample(weak, min(max_open, len(weak))):
            if (theorem.name, value_text(state)) in out:
                continue
            seed_of_state = rng.randrange(2**31)
            live = runtime.run(_replayed(theorem, graph, state, env))
            if live is None:
                continue
            label = runtime.run(rollout_label(theorem, live, env=env, proposer=rollout_proposer, n=rollouts,
                                              depth=depth, seed=seed_of_state))
            out[(theorem.name, value_text(state))] = ValueExample(value_text(state), label, "rollouts", theorem.name)
    return list(out.values())


def sandbox_value_examples(split: str, *, limit: int | None = None, tokens: int = 256, seed: int = 0) -> list[ValueExample]:
    """Labelled states of sandbox split ``split`` (never ``test``): best-first searches with
    the model-free baseline under ``tokens`` generated tokens each, labelled by
    ``value_examples`` (open states by rollouts of the baseline at temperature 1)."""
    from prover.agent import Agent
    from prover.baseline import BaselineProposer
    from prover.data import load_dataset
    from prover.training.data import TestSplitRefused
    from propsandbox import SandboxEnvironment

    if split == "test":
        raise TestSplitRefused("value-model data from sandbox:test would leak the held-out split; use train or valid")
    data = load_dataset(f"sandbox:{split}").limit(limit)
    agent = Agent(env=SandboxEnvironment(), proposer=BaselineProposer())
    run = agent.run(data, policy=BestFirst(k=4), budget=Budget(max_tokens=tokens), seed=seed)
    return value_examples(data.theorems, run.results, env=agent.env, rollout_proposer=BaselineProposer(temperature=1.0),
                          seed=seed)


def run_value_examples(directory: str | Path, *, rollouts: int = 0, depth: int = 16, max_open: int = 8, seed: int = 0,
                       warnings: list[str] | None = None) -> list[ValueExample]:
    """Labelled states of the proof graphs a run saved (``prover bench --save-graphs``), one
    per (theorem, state): proof path 1, dead 0, and with ``rollouts`` up to ``max_open``
    open states per graph labelled by rollouts of the run's own environment and proposer
    (rebuilt from its manifest), else open states left out. A run on a test split raises
    ``TestSplitRefused``; one without graphs ``RunError``."""
    run = Run.load(directory)
    splits = {record.split for record in run.records}
    spec = manifest_value(run.manifest, "dataset.name")
    if isinstance(spec, str) and ":" in spec:
        splits.add(spec.rsplit(":", 1)[-1])
    where = f"{directory} (a test split would leak the held-out theorems into the value model)"
    for split in splits:
        refuse_test_split(split, where)
    graphs = load_graphs(directory, warnings=warnings)
    for saved in graphs:
        refuse_test_split(saved.theorem.split, where)
    searches = [(saved.theorem, saved.graph) for saved in graphs]
    if rollouts < 1 or not graphs:
        return graph_value_examples(searches)
    from prover.agent import Agent
    from prover.config import ConfigError, ProverConfig, apply_mapping

    described = manifest_value(run.manifest, "config")
    try:
        config = apply_mapping(ProverConfig(), {"env": described["env"], "model": {**described["model"], "value": None}})
    except (KeyError, TypeError, ConfigError) as exc:
        raise RunError(f"{directory}: its manifest does not name an environment and proposer to roll out with ({exc}); "
                       "label without rollouts") from None
    with Agent.from_config(config, statement=graphs[0].theorem.statement) as agent:
        return graph_value_examples(searches, env=agent.env, rollout_proposer=agent.proposer, rollouts=rollouts,
                                    depth=depth, max_open=max_open, seed=seed)


def write_value_examples(path: Path, examples: Sequence[ValueExample]) -> None:
    """One JSON object per line."""
    path.write_text("".join(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in examples), encoding="utf-8")


def read_value_examples(path: Path) -> list[ValueExample]:
    """The examples ``write_value_examples`` wrote."""
    return [ValueExample(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class _Examples(torch.utils.data.Dataset):
    def __init__(self, examples: Sequence[ValueExample], tokenizer, max_tokens: int):
        tokenizer.truncation_side = "left"
        self.rows = [{"input_ids": tokenizer(e.state, truncation=True, max_length=max_tokens).input_ids,
                      "labels": [float(e.label)]} for e in examples]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        return self.rows[index]


CALIBRATION_FRACTION = 0.1
"""Share of the training theorems held out to fit the temperature when no eval data is given."""


TEMPERATURE_RANGE = (0.1, 100.0)
"""Bounds of a fitted temperature (a tiny one would saturate the sigmoid into ties)."""


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, *, steps: int = 100) -> float:
    """The temperature ``T`` minimising the log loss of ``sigmoid(logits / T)`` against
    ``labels`` in ``[0, 1]`` (fitted as ``log T`` by L-BFGS, clamped to
    ``TEMPERATURE_RANGE``); 1.0 when the labels are all on one side of 0.5 (then the loss
    only falls as ``T`` goes to 0, which would say nothing about calibration)."""
    logits, labels = logits.detach().double(), labels.detach().double()
    if bool((labels >= 0.5).all()) or bool((labels < 0.5).all()):
        return 1.0
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    low, high = TEMPERATURE_RANGE
    return min(max(float(log_t.detach().exp()), low), high)


def split_by_theorem(examples: Sequence[ValueExample], fraction: float, *, seed: int = 0
                     ) -> tuple[list[ValueExample], list[ValueExample]]:
    """``(kept, held out)``: the states of a random ``fraction`` of the theorems (at least
    one, never all) held out, so no theorem is on both sides; nothing is held out when
    there are fewer than two theorems."""
    theorems = sorted({e.theorem for e in examples})
    if len(theorems) < 2 or fraction <= 0:
        return list(examples), []
    count = min(max(round(len(theorems) * fraction), 1), len(theorems) - 1)
    held = set(random.Random(seed).sample(theorems, count))
    return [e for e in examples if e.theorem not in held], [e for e in examples if e.theorem in held]


class ValueTrainer(Trainer):
    """``transformers.Trainer`` for a value model: the one-logit classifier's own loss
    (binary cross-entropy); after training the temperature is fitted on ``calibration``
    states (none: 1.0), and saved with ``prover_config.json`` (``task = "value"``,
    ``temperature``) so ``load_value_model`` and ``--value`` recognise the directory."""

    def __init__(self, *args, calibration: Sequence[ValueExample] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.calibration = list(calibration)
        self.temperature = 1.0

    def train(self, *args, **kwargs):
        output = super().train(*args, **kwargs)
        if self.calibration:
            model = self.accelerator.unwrap_model(self.model)
            scorer = TransformersValue(model, self.processing_class, max_tokens=self.args.max_prompt_tokens)
            logits = scorer.logits([e.state for e in self.calibration])
            self.temperature = fit_temperature(logits, torch.tensor([e.label for e in self.calibration]))
            model.train()
        return output

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        super()._save(output_dir, state_dict=state_dict)
        if self.args.should_save:
            write_prover_config(output_dir or self.args.output_dir,
                                {"task": VALUE_TASK, "step": self.state.global_step, "temperature": self.temperature})


def load_value_examples(spec: str) -> list[ValueExample]:
    """Labelled states from ``sandbox:<split>`` (searched and labelled here), a run directory
    of ``prover bench --save-graphs`` (``run_value_examples``) or a JSONL file written by
    ``write_value_examples``."""
    if spec.startswith("sandbox:"):
        return sandbox_value_examples(spec.split(":", 1)[1])
    if Path(spec).is_dir():
        return run_value_examples(spec)
    return read_value_examples(Path(spec))


def value_task(config: TrainingArguments, *, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
               traces: object = None, eval_traces: object = None, callbacks: Sequence = ()) -> ValueTrainer:
    """The ``value`` training task (``prover train --task value``): a ``ValueTrainer`` over
    the labelled states of ``config.train_data`` (and ``config.eval_data`` when set), states
    truncated to ``config.max_prompt_tokens``; the tactic task's ``traces`` do not apply. The
    temperature is fitted on the eval states, else on ``CALIBRATION_FRACTION`` of the
    training theorems, held out of training."""
    limit = config.max_prompt_tokens
    train = load_value_examples(config.train_data)
    if config.eval_data:
        calibration = load_value_examples(config.eval_data)
    else:
        train, calibration = split_by_theorem(train, CALIBRATION_FRACTION, seed=config.seed)
    evaluation = _Examples(calibration, tokenizer, limit) if config.eval_data else None
    return ValueTrainer(model=model, args=config, train_dataset=_Examples(train, tokenizer, limit),
                        eval_dataset=evaluation, data_collator=DataCollatorWithPadding(tokenizer),
                        processing_class=tokenizer, callbacks=list(callbacks), calibration=calibration)


def value_model(config: TrainingArguments) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The classifier a value run trains: ``config.model_name_or_path`` (any causal LM
    checkpoint) given a fresh one-logit head, or a from-scratch ``config.model_size`` one."""
    if config.model_name_or_path is None:
        set_seed(config.seed)
        tokenizer = new_tokenizer()
        return build_value_model(SCRATCH_SIZES[config.model_size], tokenizer), tokenizer
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(config.model_name_or_path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForSequenceClassification.from_pretrained(
        config.model_name_or_path, num_labels=1, problem_type="multi_label_classification",
        pad_token_id=tokenizer.pad_token_id)
    return model, tokenizer


def train_value_model(examples: Sequence[ValueExample], out: Path, *, size: str = "tiny", max_steps: int = 300,
                      batch_size: int = 32, lr: float = 1e-3, seed: int = 0) -> TransformersValue:
    """Train a from-scratch value model of ``size`` on ``examples`` as the ``value`` training
    task does (``value_model`` + ``value_task``, one process) and load it from ``out``."""
    from prover.training.config import DCOConfig

    out.mkdir(parents=True, exist_ok=True)
    write_value_examples(out / "train_states.jsonl", examples)
    config = DCOConfig(task="value", train_data=str(out / "train_states.jsonl"), output_dir=str(out), model_size=size,
                       max_steps=max_steps, per_device_train_batch_size=batch_size, learning_rate=lr, seed=seed,
                       lr_scheduler_type="cosine", warmup_steps=max(max_steps // 20, 1), save_strategy="no",
                       report_to=[], device_type="auto")
    model, tokenizer = value_model(config)
    trainer = value_task(config, model=model, tokenizer=tokenizer)
    trainer.train()
    trainer.save_model(str(out))
    return load_value_model(out)


@dataclass(frozen=True)
class ValueReport:
    """How good a value model is on labelled states: ``auc`` (a positive state scored above
    a negative one), ``brier`` (mean squared error of the probability), ``ece`` (expected
    calibration error: the states-weighted mean gap between predicted and observed in the
    reliability curve's bins) and the reliability curve, per probability bin
    ``(mean predicted, fraction positive, states)``."""

    auc: float | None
    brier: float
    reliability: tuple[tuple[float, float, int], ...]
    states: int
    ece: float = 0.0


def evaluate_value(model: TransformersValue, examples: Sequence[ValueExample], *, bins: int = 10) -> ValueReport:
    """Score ``examples`` (hard labels: label >= 0.5 is positive) and summarise."""
    scores = model.probabilities([e.state for e in examples])
    labels = [e.label >= 0.5 for e in examples]
    area = auc([s for s, y in zip(scores, labels) if y], [s for s, y in zip(scores, labels) if not y])
    brier = sum((s - e.label) ** 2 for s, e in zip(scores, examples)) / max(len(examples), 1)
    curve = []
    for b in range(bins):
        members = [(s, y) for s, y in zip(scores, labels) if b / bins <= s < (b + 1) / bins or (b == bins - 1 and s == 1.0)]
        if members:
            curve.append((sum(s for s, _ in members) / len(members), sum(y for _, y in members) / len(members), len(members)))
    ece = sum(count * abs(predicted - observed) for predicted, observed, count in curve) / max(len(examples), 1)
    return ValueReport(auc=area, brier=brier, reliability=tuple(curve), states=len(examples), ece=ece)
