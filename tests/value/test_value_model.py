"""The learned value model: labels from search graphs and rollouts, training with
transformers.Trainer, held-out evaluation, and value-guided search through the scheduler."""

from __future__ import annotations

import asyncio

import pytest

from lean_env.types import ProofState, Theorem
from prover import Agent, Budget
from prover.baseline import BaselineProposer
from prover.models import ModelLoadError
from prover.models.value import TransformersValue, load_value_model
from prover.training.value import (
    ValueExample,
    evaluate_value,
    label_graph,
    read_value_examples,
    rollout_label,
    train_value_model,
    value_examples,
    write_value_examples,
)
from propsandbox import SandboxEnvironment
from search import BestFirst, run_search

EASY = Theorem("easy", "theorem easy (p q : Prop) (hp : p) (hq : q) : p ∧ q := by")
STUCK = Theorem("stuck", "theorem stuck (p q : Prop) (hp : p) : p ∧ q := by")


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Torch single-threaded (see ``one_thread``)."""


def _search(theorem, budget=Budget(max_expansions=20)):
    return asyncio.run(run_search(theorem, env=SandboxEnvironment(), proposer=BaselineProposer(), policy=BestFirst(k=4),
                                  budget=budget))


def test_graph_labels_proof_states_one_and_dead_states_zero():
    proved = _search(EASY)
    strong, _ = label_graph("easy", proved.graph)
    assert proved.status == "proved" and {e.label for e in strong if e.source == "proof"} == {1.0}
    stuck = _search(STUCK)
    strong, weak = label_graph("stuck", stuck.graph)
    assert stuck.status != "proved"
    assert all(e.label == 0.0 and e.source == "dead" for e in strong) and all(e.theorem == "stuck" for e in strong)
    assert strong and len(strong) + len(weak) == sum(n.kind == "state" for n in stuck.graph.nodes())


def test_rollouts_label_a_state_by_whether_any_rollout_proves_it():
    env = SandboxEnvironment()
    proposer = BaselineProposer(temperature=1.0)

    def label(theorem):
        return asyncio.run(rollout_label(theorem, env.start_sync(theorem), env=env, proposer=proposer, n=4, depth=8, seed=0))

    assert label(EASY) == 1.0 and label(STUCK) == 0.0


def test_examples_mix_strong_and_rollout_labels_and_round_trip(tmp_path):
    results = [_search(EASY), _search(STUCK, Budget(max_expansions=2))]
    examples = value_examples([EASY, STUCK], results, env=SandboxEnvironment(),
                              rollout_proposer=BaselineProposer(temperature=1.0), rollouts=2, depth=4, max_open=2)
    assert {e.source for e in examples} >= {"proof", "rollouts"}
    assert len({(e.theorem, e.state) for e in examples}) == len(examples)
    write_value_examples(tmp_path / "v.jsonl", examples)
    assert read_value_examples(tmp_path / "v.jsonl") == examples


def _separable(n: int) -> list[ValueExample]:
    good = [ValueExample(f"p q : Prop\nh{i} : p\n⊢ p", 1.0, "proof", f"g{i}") for i in range(n)]
    bad = [ValueExample(f"p q : Prop\nh{i} : q\n⊢ False", 0.0, "dead", f"b{i}") for i in range(n)]
    return good + bad


def test_a_trained_value_model_saves_loads_scores_in_batches_and_separates_states(tmp_path):
    examples = _separable(16)
    trained = train_value_model(examples, tmp_path / "value", size="tiny", max_steps=60, batch_size=16, lr=3e-3)
    loaded = load_value_model(tmp_path / "value", batch_rows=5)
    states = [ProofState(goals=(e.state,)) for e in examples]
    scores = loaded.evaluate(states)
    assert len(scores) == len(states) and all(0.0 <= s <= 1.0 for s in scores)
    assert scores == pytest.approx(trained.evaluate(states), abs=1e-5)  # batches of 5 or all at once
    report = evaluate_value(loaded, examples, bins=4)
    assert report.auc is not None and report.auc > 0.9 and report.states == len(examples)
    assert sum(count for _, _, count in report.reliability) == len(examples)


def test_value_guided_search_batches_the_learned_model(tmp_path):
    model = train_value_model(_separable(4), tmp_path / "value", size="tiny", max_steps=2, batch_size=8)
    calls = []

    class Counting(TransformersValue):
        def evaluate(self, states):
            calls.append(len(states))
            return super().evaluate(states)

    value = Counting(model.model, model.tokenizer)
    agent = Agent(env=SandboxEnvironment(), proposer=BaselineProposer(), value=value)
    theorems = [EASY, Theorem("swap", "theorem swap (p q : Prop) : p ∧ q → q ∧ p := by")]
    run = agent.run(theorems, policy=BestFirst(k=4), budget=Budget(max_expansions=30))
    assert run.solved == {"easy", "swap"}
    assert sum(r.spent["evaluations"] for r in run.records) == sum(calls) > 0


def test_a_directory_that_is_not_a_value_model_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="no value model directory"):
        load_value_model(tmp_path / "missing")
    with pytest.raises(ModelLoadError, match="not a value model"):
        load_value_model(tmp_path)


def test_the_cli_searches_with_a_value_model_directory(tmp_path):
    from click.testing import CliRunner

    from prover.cli.main import cli

    train_value_model(_separable(2), tmp_path / "value", size="tiny", max_steps=1, batch_size=4)
    statement = "theorem t (p q : Prop) : p ∧ q → q ∧ p := by"
    result = CliRunner().invoke(cli, ["prove", statement, "--value", str(tmp_path / "value"), "--policy", "mcts"])
    assert result.exit_code == 0, result.output
    refused = CliRunner().invoke(cli, ["prove", statement, "--value", str(tmp_path / "none")])
    assert refused.exit_code == 2 and "no value model directory" in refused.output


def test_sandbox_value_data_never_comes_from_the_test_split():
    from prover.training.data import TestSplitRefused
    from prover.training.value import sandbox_value_examples

    with pytest.raises(TestSplitRefused):
        sandbox_value_examples("test")
    examples = sandbox_value_examples("valid", limit=2, tokens=32)
    assert examples and {e.theorem for e in examples} <= {"sb_valid_0001", "sb_valid_0002"}


def test_a_causal_lm_checkpoint_gets_a_scalar_head(tmp_path):
    """Any causal LM directory (the layout both generation backends read) becomes a value
    model to fine-tune: the same weights under a fresh one-logit head."""
    from types import SimpleNamespace

    from prover.models import SCRATCH_SIZES, build_scratch_model, new_tokenizer
    from prover.training.value import value_model

    tokenizer = new_tokenizer()
    build_scratch_model(SCRATCH_SIZES["tiny"], "causal", tokenizer).save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    model, loaded = value_model(SimpleNamespace(model_name_or_path=str(tmp_path / "lm"), model_size="tiny", seed=0))
    assert model.config.num_labels == 1 and model.config.problem_type == "multi_label_classification"
    scores = TransformersValue(model, loaded).evaluate([ProofState(goals=("⊢ True",)), ProofState(goals=("p : Prop\n⊢ p",))])
    assert len(scores) == 2 and all(0 < s < 1 for s in scores)


def test_prover_train_task_value_trains_a_value_model_on_the_trainer_stack(tmp_path):
    from click.testing import CliRunner

    from prover.cli.main import cli

    data = tmp_path / "states.jsonl"
    write_value_examples(data, _separable(4))
    out = tmp_path / "value"
    result = CliRunner().invoke(cli, ["train", "--task", "value", "--data", str(data), "--eval-data", str(data),
                                      "--size", "tiny", "--max-steps", "4", "--batch-size", "4", "--device", "cpu",
                                      "--output-dir", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "trained 4/4 steps" in result.output
    model = load_value_model(out)
    assert len(model.evaluate([ProofState(goals=("⊢ True",))])) == 1
    lora = CliRunner().invoke(cli, ["train", "--task", "value", "--data", str(data), "--lora-r", "4",
                                    "--model", str(out), "--output-dir", str(tmp_path / "x"), "--no-progress"])
    assert lora.exit_code == 2 and "not supported" in lora.output


def test_bench_graphs_train_a_value_model_that_prove_loads(tmp_path):
    """End to end: bench --save-graphs on sandbox:valid, train --task value --data RUN, prove --value."""
    from click.testing import CliRunner

    from prover.cli.main import cli
    from prover.runs import GRAPHS_FILE, load_graphs
    from prover.training.value import run_value_examples

    run = tmp_path / "run"
    bench = CliRunner().invoke(cli, ["bench", "--dataset", "sandbox:valid", "--limit", "3", "--out", str(run),
                                     "--save-graphs", "--max-expansions", "20"])
    assert bench.exit_code == 0, bench.output
    assert len((run / GRAPHS_FILE).read_text().splitlines()) == 3
    examples = run_value_examples(run)
    assert "proof" in {e.source for e in examples} <= {"proof", "dead"}
    assert len({(e.theorem, e.state) for e in examples}) == len(examples)
    assert {e.theorem for e in examples} <= {g.theorem.name for g in load_graphs(run)}
    out = tmp_path / "value"
    train = CliRunner().invoke(cli, ["train", "--task", "value", "--data", str(run), "--eval-data", str(run),
                                     "--size", "tiny", "--max-steps", "2", "--batch-size", "4", "--device", "cpu",
                                     "--output-dir", str(out), "--no-progress"])
    assert train.exit_code == 0, train.output
    prove = CliRunner().invoke(cli, ["prove", "theorem t (p q : Prop) : p ∧ q → q ∧ p := by", "--value", str(out)])
    assert prove.exit_code == 0, prove.output


def test_a_run_without_graphs_or_on_a_test_split_is_refused_as_value_data(tmp_path):
    from click.testing import CliRunner

    from prover.cli.main import cli

    def train(run):
        return CliRunner().invoke(cli, ["train", "--task", "value", "--data", str(run), "--size", "tiny",
                                        "--max-steps", "1", "--output-dir", str(tmp_path / "v"), "--no-progress"])

    for name, split, flags in (("plain", "valid", []), ("test", "test", ["--save-graphs"])):
        bench = CliRunner().invoke(cli, ["bench", "--dataset", f"sandbox:{split}", "--limit", "1", "--out",
                                         str(tmp_path / name), "--max-expansions", "5", *flags])
        assert bench.exit_code == 0, bench.output
    plain, test = train(tmp_path / "plain"), train(tmp_path / "test")
    assert plain.exit_code == 2 and "--save-graphs" in plain.output and len(plain.output.strip().splitlines()) == 1
    assert test.exit_code == 2 and "test split" in test.output and len(test.output.strip().splitlines()) == 1


def test_temperature_scaling_cools_an_overconfident_model_without_changing_its_ranking():
    import torch

    from prover.training.value import fit_temperature

    gen = torch.Generator().manual_seed(0)
    truth = torch.rand(400, generator=gen) * 0.8 + 0.1  # true probabilities in [0.1, 0.9]
    labels = torch.bernoulli(truth, generator=gen)
    logits = 4.0 * torch.logit(truth)  # four times too sure
    t = fit_temperature(logits, labels)
    assert 2.5 < t < 6.0

    def log_loss(scale):
        return float(torch.nn.functional.binary_cross_entropy_with_logits(logits / scale, labels))

    assert log_loss(t) < log_loss(1.0)


def test_the_fitted_temperature_is_saved_applied_and_leaves_auc_alone(tmp_path):
    import json

    from prover.training.value import split_by_theorem

    examples = _separable(12) + [ValueExample(f"p : Prop\nh{i} : p\n⊢ p", 0.0, "dead", f"n{i}") for i in range(4)]
    kept, held = split_by_theorem(examples, 0.25, seed=0)
    assert held and not {e.theorem for e in kept} & {e.theorem for e in held}
    train_value_model(examples, tmp_path / "value", size="tiny", max_steps=40, batch_size=16, lr=3e-3)
    config = json.loads((tmp_path / "value" / "prover_config.json").read_text())
    loaded = load_value_model(tmp_path / "value")
    assert loaded.temperature == config["temperature"] > 0 and loaded.temperature != 1.0
    raw = TransformersValue(loaded.model, loaded.tokenizer)
    calibrated, plain = evaluate_value(loaded, examples), evaluate_value(raw, examples)
    assert calibrated.auc == pytest.approx(plain.auc), loaded.temperature
    assert 0 <= calibrated.ece <= 1
    del config["temperature"]  # a directory saved before temperature scaling
    (tmp_path / "value" / "prover_config.json").write_text(json.dumps(config))
    assert load_value_model(tmp_path / "value").temperature == 1.0


def test_ece_is_the_weighted_gap_of_the_reliability_curve():
    class Fixed:
        def probabilities(self, texts):
            return [0.9 if "good" in t else 0.1 for t in texts]

    examples = [ValueExample(f"good {i}", float(i < 6), "proof", "t") for i in range(10)]
    examples += [ValueExample(f"bad {i}", 0.0, "dead", "t") for i in range(10)]
    report = evaluate_value(Fixed(), examples)
    assert report.ece == pytest.approx((10 * abs(0.9 - 0.6) + 10 * 0.1) / 20)


def test_one_sided_calibration_labels_leave_the_temperature_at_one():
    import torch

    from prover.training.value import fit_temperature

    assert fit_temperature(torch.tensor([0.5, 2.0, -1.0]), torch.ones(3)) == 1.0


def test_value_data_labels_open_states_of_saved_graphs_by_rollouts_of_the_runs_own_proposer(tmp_path):
    from click.testing import CliRunner

    from prover.cli.main import cli

    run = tmp_path / "run"
    bench = CliRunner().invoke(cli, ["bench", "--dataset", "sandbox:valid", "--limit", "2", "--out", str(run),
                                     "--save-graphs", "--max-tokens", "16"])  # small budget: open states remain
    assert bench.exit_code == 0, bench.output
    states = tmp_path / "states.jsonl"
    result = CliRunner().invoke(cli, ["value-data", str(run), "--out", str(states), "--rollouts", "2", "--depth", "4",
                                      "--max-open", "2"])
    assert result.exit_code == 0, result.output
    examples = read_value_examples(states)
    rolled = [e for e in examples if e.source == "rollouts"]
    assert rolled and all(e.label in (0.0, 1.0) for e in rolled) and f"-> {states}" in result.output
    assert len({(e.theorem, e.state) for e in examples}) == len(examples)
    missing = CliRunner().invoke(cli, ["value-data", str(tmp_path / "nothing"), "--out", str(states)])
    assert missing.exit_code == 2 and len(missing.output.strip().splitlines()) == 1
