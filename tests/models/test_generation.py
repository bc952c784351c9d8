"""The transformers proposer: scores, deduplication, seeds, batch invariance, top-p, stops."""

from __future__ import annotations

import dataclasses

import pytest

from prover.models import (
    EncodedPair,
    GenerationSettings,
    TransformersProposer,
    get_format,
    merge_candidates,
    score_pairs,
)
from search.proposer import Candidate, Proposer

FORMATS = {"causal": "sandbox", "seq2seq": "reprover"}
SAMPLING = GenerationSettings(temperature=1.0, max_new_tokens=10)
GREEDY = GenerationSettings(temperature=0.0, max_new_tokens=10)
BEAM = GenerationSettings(beam_search=True, max_new_tokens=10)


def _proposer(arch_model, tokenizer, settings):
    arch, model = arch_model
    return TransformersProposer(model, tokenizer, get_format(FORMATS[arch]), settings=settings)


def _texts(results):
    return [[c.text for c in cands] for cands in results]


def test_is_a_search_proposer(arch_model, tokenizer):
    proposer = _proposer(arch_model, tokenizer, SAMPLING)
    assert isinstance(proposer, Proposer)
    assert proposer.kind == "tactic"


@pytest.mark.parametrize("settings", [SAMPLING, BEAM], ids=["sampling", "beam"])
def test_logprobs_match_teacher_forcing(arch_model, tokenizer, queries, settings):
    """Each completion's logprob is the model's own probability of its token ids (EOS included)."""
    proposer = _proposer(arch_model, tokenizer, settings)
    completions = proposer.complete(queries, 4)
    assert [len(c) for c in completions] == [4] * len(queries)
    pairs = [EncodedPair(tuple(proposer.prompt_ids(q)), c.token_ids) for q, cs in zip(queries, completions) for c in cs]
    scored = score_pairs(proposer.model, proposer.format, pairs, pad_id=tokenizer.pad_token_id)
    flat = [c for cs in completions for c in cs]
    assert [count for _, count in scored] == [len(c.token_ids) for c in flat]
    assert [c.logprob for c in flat] == pytest.approx([lp for lp, _ in scored], abs=1e-3)


@pytest.mark.parametrize("settings", [GREEDY, SAMPLING], ids=["greedy", "sampling"])
def test_batching_does_not_change_candidates(arch_model, tokenizer, queries, settings):
    proposer = _proposer(arch_model, tokenizer, settings)
    together = proposer.propose(queries, 4)
    alone = [proposer.propose([q], 4)[0] for q in queries]
    small_batches = _proposer(arch_model, tokenizer, dataclasses.replace(settings, batch_rows=3)).propose(queries[::-1], 4)
    assert _texts(together) == _texts(alone) == _texts(small_batches[::-1])
    for a, b in zip(together, alone):
        assert [c.logprob for c in a] == pytest.approx([c.logprob for c in b], abs=1e-4)


def test_seeds_are_per_query(arch_model, tokenizer, queries):
    proposer = _proposer(arch_model, tokenizer, SAMPLING)
    again = proposer.propose(queries, 6)
    assert _texts(again) == _texts(proposer.propose(queries, 6))
    reseeded = [dataclasses.replace(q, seed=q.seed + 1000) for q in queries]
    assert _texts(proposer.propose(reseeded, 6)) != _texts(again)


def test_sampling_returns_distinct_candidates_best_first(arch_model, tokenizer, queries):
    for cands in _proposer(arch_model, tokenizer, SAMPLING).propose(queries, 8):
        assert 1 <= len(cands) <= 8
        assert len({c.text for c in cands}) == len(cands)
        assert [c.logprob for c in cands] == sorted((c.logprob for c in cands), reverse=True)
        assert all(c.text and c.num_tokens > 0 for c in cands)
        assert sum(c.num_tokens for c in cands) <= 8 * 10  # 8 rows of at most 10 tokens, duplicates' included


def test_tiny_top_p_samples_the_greedy_path(arch_model, tokenizer, queries):
    """With a nucleus of one token, every sample is the greedy completion."""
    nucleus = _proposer(arch_model, tokenizer, dataclasses.replace(SAMPLING, top_p=1e-6)).complete(queries, 3)
    greedy = _proposer(arch_model, tokenizer, GREEDY).complete(queries, 3)
    for samples, (best,) in zip(nucleus, greedy):
        assert {c.token_ids for c in samples} == {best.token_ids}


def test_stop_strings_cut_text_and_tokens(arch_model, tokenizer, queries):
    """A text stop ends the completion at the token completing it; the text stops before it."""
    proposer = _proposer(arch_model, tokenizer, GREEDY)
    full = [c for (c,) in proposer.complete(queries, 1)]
    stop = next(c.text[2] for c in full if len(c.text) > 3)
    stopped = _proposer(arch_model, tokenizer, dataclasses.replace(GREEDY, stop=(stop,))).complete(queries, 1)
    cut = 0
    for whole, (part,) in zip(full, stopped):
        assert stop not in part.text and whole.text.startswith(part.text)
        if stop in whole.text:
            cut += 1
            assert part.text == whole.text[: whole.text.index(stop)]
            assert part.token_ids == whole.token_ids[: len(part.token_ids)]
            assert stop in tokenizer.decode(part.token_ids) and stop not in tokenizer.decode(part.token_ids[:-1])
    assert cut >= 1


def test_greedy_gives_one_candidate_and_k_zero_none(arch_model, tokenizer, queries):
    proposer = _proposer(arch_model, tokenizer, GREEDY)
    assert all(len(c) <= 1 for c in proposer.propose(queries, 5))
    assert proposer.propose(queries, 0) == [[] for _ in queries]
    assert proposer.propose([], 3) == []


def test_merge_keeps_best_logprob_per_text():
    merged = merge_candidates(
        [Candidate("a", -3.0, 2), Candidate("b", -1.0, 1), Candidate("a", -0.5, 4), Candidate("", 0.0, 1)], 5
    )
    assert merged == [Candidate("a", -0.5, 4), Candidate("b", -1.0, 1)]
    assert merge_candidates([Candidate("x", -1.0, 1), Candidate("y", -2.0, 1)], 1) == [Candidate("x", -1.0, 1)]


def test_format_must_fit_the_architecture(arch_model, tokenizer):
    arch, model = arch_model
    wrong = get_format("reprover" if arch == "causal" else "sandbox")
    with pytest.raises(ValueError, match="needs a"):
        TransformersProposer(model, tokenizer, wrong)


def test_oversampling_keeps_the_k_most_likely_distinct_samples(arch_model, tokenizer, queries):
    """k·F rows per query, merged: a superset of the plain k samples' texts, cut to the k best."""
    plain = _proposer(arch_model, tokenizer, SAMPLING).propose(queries, 3)
    over = _proposer(arch_model, tokenizer, dataclasses.replace(SAMPLING, oversample=4)).propose(queries, 3)
    for few, many in zip(plain, over):
        assert len(few) <= len(many) <= 3
        assert len({c.text for c in many}) == len(many)
        assert [c.logprob for c in many] == sorted((c.logprob for c in many), reverse=True)
        assert min(c.logprob for c in many) >= min(c.logprob for c in few) - 1e-6 or len(many) > len(few)


@pytest.mark.parametrize("oversample", [1, 4])
def test_every_generated_token_is_charged_to_the_kept_candidates(arch_model, tokenizer, queries, oversample):
    """Duplicates and over-sampled rows merged away still cost their tokens, so a token budget counts all generation."""
    proposer = _proposer(arch_model, tokenizer, dataclasses.replace(SAMPLING, oversample=oversample))
    for rows, kept in zip(proposer.complete(queries, 3), proposer.propose(queries, 3)):
        assert len(kept) <= 3 and (not kept or sum(c.num_tokens for c in kept) == sum(len(r.token_ids) for r in rows))


def test_oversample_must_be_positive():
    with pytest.raises(ValueError, match="oversample"):
        GenerationSettings(oversample=0)


def test_settings_take_format_defaults_and_overrides():
    fmt = get_format("deepseek-prover-v1.5")
    assert GenerationSettings.for_format(fmt) == GenerationSettings(max_new_tokens=2048, top_p=0.95)
    assert GenerationSettings.for_format(fmt, top_p=None, max_new_tokens=64, stop=()) == GenerationSettings(
        max_new_tokens=64, top_p=0.95, stop=()
    )
    with pytest.raises(ValueError, match="top_p"):
        GenerationSettings(top_p=1.5)
