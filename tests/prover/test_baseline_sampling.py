"""The baseline proposer's seeded sampling (used by ``rollouts``)."""

from __future__ import annotations

from lean_env import Theorem
from propsandbox import SandboxEnvironment
from prover.baseline import BaselineProposer
from search.proposer import Query

THEOREM = Theorem("t", "theorem t (p q r : Prop) (h : p ∨ q) (hp : p → r) (hq : q → r) : r := by")


def _query(seed: int) -> Query:
    return Query(theorem=THEOREM, state=SandboxEnvironment().start_sync(THEOREM), seed=seed)


def test_temperature_zero_is_the_deterministic_top_k():
    greedy = BaselineProposer().propose([_query(1), _query(2)], 3)
    assert greedy[0] == greedy[1]
    assert [c.logprob for c in greedy[0]] == sorted((c.logprob for c in greedy[0]), reverse=True)


def test_sampling_is_seeded_distinct_and_explores():
    sampler = BaselineProposer(temperature=1.0)
    full = {c.text: c.logprob for c in BaselineProposer().propose([_query(0)], 100)[0]}
    firsts = set()
    for seed in range(40):
        once, again = sampler.propose([_query(seed)], 2)[0], sampler.propose([_query(seed)], 2)[0]
        assert once == again and len({c.text for c in once}) == 2
        assert all(full[c.text] == c.logprob for c in once)  # scores stay the prior, only the choice is sampled
        firsts.add(once[0].text)
    assert len(firsts) > 1


def test_whole_proof_sampler_writes_scripts_that_verify_decides():
    from prover.baseline import WholeProofBaseline

    env, sampler = SandboxEnvironment(), WholeProofBaseline()
    scripts = sampler.propose([_query(3)], 64)[0]
    assert scripts == sampler.propose([_query(3)], 64)[0]
    assert len({c.text for c in scripts}) == len(scripts) >= 2
    verdicts = [env.verify_sync(THEOREM, c.text).ok for c in scripts]
    assert any(verdicts)


def test_whole_proof_sampler_charges_the_words_of_every_script_it_sampled():
    """Rollouts of an easy theorem repeat; the repeats' words still count against a token budget."""
    from prover.baseline import WholeProofBaseline

    easy = Theorem("e", "theorem e (p : Prop) (hp : p) : p := by")
    query = Query(theorem=easy, state=SandboxEnvironment().start_sync(easy), seed=0)
    scripts = WholeProofBaseline().propose([query], 16)[0]
    own = [len(c.text.split()) for c in scripts]
    assert len(scripts) < 16 and all(c.num_tokens >= n for c, n in zip(scripts, own))
    assert sum(c.num_tokens for c in scripts) > sum(own)
