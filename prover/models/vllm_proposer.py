"""A ``Proposer`` served by vLLM (optional extra ``vllm``; GPU only).

Every vLLM call lives in this module and ``vllm`` is imported only when an engine is
built, so the package works without it. vLLM seeds each request itself
(``SamplingParams.seed``), which gives the per-query reproducibility ``Query.seed`` asks for.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from lean_env.errors import BackendUnavailable
from prover.models.formats import PromptFormat
from prover.models.transformers_proposer import GenerationSettings, merge_candidates
from search.proposer import Candidate, Query

__all__ = ["VLLMProposer", "load_vllm_proposer"]


def _vllm() -> Any:
    try:
        import vllm
    except ImportError:
        raise BackendUnavailable("vLLM is not installed; install the 'vllm' extra on a CUDA machine") from None
    return vllm


class VLLMProposer:
    """Candidates from a vLLM ``LLM`` engine (decoder-only formats, sampling or greedy).

    ``llm`` is anything with vLLM's ``generate(prompts, sampling_params)`` returning
    ``RequestOutput``-shaped objects; ``sampling_params`` builds one request's parameters
    (``vllm.SamplingParams`` by default).
    """

    def __init__(
        self,
        llm: Any,
        fmt: PromptFormat,
        settings: GenerationSettings = GenerationSettings(),
        *,
        sampling_params: Callable[..., Any] | None = None,
        name: str | None = None,
    ):
        if fmt.architecture != "causal":
            raise ValueError(f"vLLM serves decoder-only models; format {fmt.name!r} is {fmt.architecture}")
        if settings.beam_search:
            raise ValueError("beam search is not supported by the vLLM backend; use sampling or temperature 0")
        self.llm = llm
        self.format = fmt
        self.settings = settings
        self.name = name or f"vllm:{fmt.name}"
        self.kind = fmt.kind
        self._params = sampling_params or _vllm().SamplingParams

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        """Up to ``k`` distinct candidates per query, best first; one vLLM request per query."""
        if k < 1 or not queries:
            return [[] for _ in queries]
        greedy = self.settings.temperature == 0
        params = [
            self._params(
                n=1 if greedy else k,
                temperature=self.settings.temperature,
                max_tokens=self.settings.max_new_tokens,
                seed=q.seed,
                stop=list(self.format.stop) or None,
                logprobs=0,
                truncate_prompt_tokens=self.settings.max_prompt_tokens,
            )
            for q in queries
        ]
        outputs = self.llm.generate([self.format.render(q) for q in queries], params, use_tqdm=False)
        return [
            merge_candidates(
                [
                    Candidate(
                        text=self.format.clean(c.text), logprob=float(c.cumulative_logprob), num_tokens=len(c.token_ids)
                    )
                    for c in out.outputs
                ],
                k,
            )
            for out in outputs
        ]


def load_vllm_proposer(
    model: str, fmt: PromptFormat, settings: GenerationSettings = GenerationSettings(), **engine_args: Any
) -> VLLMProposer:
    """Start a vLLM engine for ``model`` (hub id or path); ``engine_args`` go to ``vllm.LLM``."""
    vllm = _vllm()
    return VLLMProposer(vllm.LLM(model=model, **engine_args), fmt, settings, name=f"vllm:{model}")
