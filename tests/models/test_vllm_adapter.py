"""The vLLM adapter's request/response mapping, tested without vLLM installed.

vLLM is not installable here, so ``FakeLLM`` stands in for ``vllm.LLM``: it records the
requests and answers with objects shaped like vLLM's ``RequestOutput`` (``.outputs``) and
``CompletionOutput`` (``.text``, ``.token_ids``, ``.cumulative_logprob``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from lean_env.errors import BackendUnavailable
from prover.models import GenerationSettings, VLLMProposer, get_format, load_vllm_proposer
from search.proposer import Candidate, Proposer


@dataclass
class FakeSamplingParams:
    """Records the keyword arguments a ``vllm.SamplingParams`` would get."""

    kwargs: dict

    def __init__(self, **kwargs):
        self.kwargs = kwargs


@dataclass
class CompletionOutput:
    text: str
    token_ids: list[int]
    cumulative_logprob: float | None
    index: int = 0
    finish_reason: str = "stop"


@dataclass
class RequestOutput:
    prompt: str
    outputs: list[CompletionOutput]
    request_id: str = "0"


@dataclass
class FakeLLM:
    replies: dict[str, list[CompletionOutput]]
    calls: list = field(default_factory=list)

    def generate(self, prompts, sampling_params, use_tqdm=True):
        self.calls.append((list(prompts), list(sampling_params), use_tqdm))
        return [RequestOutput(prompt=p, outputs=self.replies[p]) for p in prompts]


def test_requests_and_candidates_are_mapped(queries):
    fmt = get_format("bfs-prover")
    replies = {
        fmt.render(queries[0]): [
            CompletionOutput(" intro h ", [5, 6, 7], -1.5),
            CompletionOutput("simp", [8], -0.25),
            CompletionOutput("intro h", [5, 6], -0.75),  # duplicate after cleaning: best logprob kept
        ],
        fmt.render(queries[1]): [CompletionOutput("", [1], -0.1), CompletionOutput("trivial", [9, 1], -0.5)],
    }
    llm = FakeLLM(replies)
    settings = GenerationSettings(temperature=0.7, max_new_tokens=33, max_prompt_tokens=500)
    proposer = VLLMProposer(llm, fmt, settings, sampling_params=FakeSamplingParams)
    assert isinstance(proposer, Proposer)
    result = proposer.propose(queries[:2], 3)
    assert result == [
        [Candidate("simp", -0.25, 1), Candidate("intro h", -0.75, 2)],
        [Candidate("trivial", -0.5, 2)],
    ]
    ((prompts, params, use_tqdm),) = llm.calls
    assert prompts == [fmt.render(q) for q in queries[:2]] and use_tqdm is False
    assert [p.kwargs["seed"] for p in params] == [q.seed for q in queries[:2]]
    assert params[0].kwargs == dict(
        n=3, temperature=0.7, max_tokens=33, seed=queries[0].seed, stop=None, logprobs=0, truncate_prompt_tokens=500
    )


def test_greedy_asks_one_sample_and_stop_strings_are_passed(queries):
    fmt = get_format("deepseek-whole-proof")
    llm = FakeLLM({fmt.render(queries[0]): [CompletionOutput("  nlinarith\n```", [3, 4], -2.0)]})
    proposer = VLLMProposer(llm, fmt, GenerationSettings(temperature=0.0), sampling_params=FakeSamplingParams)
    assert proposer.kind == "proof"
    assert proposer.propose(queries[:1], 4) == [[Candidate("nlinarith", -2.0, 2)]]
    params = llm.calls[0][1][0].kwargs
    assert params["n"] == 1 and params["stop"] == ["```"]


def test_unsupported_setups_are_refused():
    with pytest.raises(ValueError, match="decoder-only"):
        VLLMProposer(FakeLLM({}), get_format("reprover"), sampling_params=FakeSamplingParams)
    with pytest.raises(ValueError, match="beam search"):
        VLLMProposer(FakeLLM({}), get_format("bfs-prover"), GenerationSettings(beam_search=True), sampling_params=FakeSamplingParams)


def test_missing_vllm_is_reported_as_unavailable():
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(BackendUnavailable, match="vLLM is not installed"):
            load_vllm_proposer("some/model", get_format("bfs-prover"))
    else:
        pytest.skip("vLLM is installed here")
