"""Evaluation by proving during training: pass@k of the model on sandbox theorems.

The held-out loss says how well the model fits; pass@k says whether it proves. Each
attempt is one sampled rollout through the sandbox checker (``Rollouts(n=1)``), so
pass@k uses the unbiased estimator over ``attempts`` rollouts per theorem.
"""

from __future__ import annotations

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from prover.models import GenerationSettings, PromptFormat, TransformersProposer

__all__ = ["sandbox_pass_at_k"]


def sandbox_pass_at_k(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    fmt: PromptFormat,
    *,
    theorems: int,
    attempts: int,
    seed: int = 0,
) -> dict[str, float]:
    """``eval_sandbox_pass@1`` and ``eval_sandbox_pass@<attempts>`` of ``model`` on the first
    ``theorems`` theorems of the sandbox valid split (the model's mode is restored after)."""
    from prover import Agent, Budget, Rollouts, close, load_dataset
    from propsandbox import SandboxEnvironment

    training, use_cache = model.training, model.config.use_cache
    model.config.use_cache = True  # the Trainer turns the KV cache off; generation wants it
    env = SandboxEnvironment()
    try:
        proposer = TransformersProposer(model, tokenizer, fmt, settings=GenerationSettings(temperature=1.0, max_new_tokens=96))
        run = Agent(env=env, proposer=proposer).run(
            load_dataset("sandbox:valid").limit(theorems), policy=Rollouts(n=1, max_depth=16), budget=Budget(),
            attempts=attempts, seed=seed,
        )
    finally:
        close(env)
        model.config.use_cache = use_cache
        model.train(training)
    return {"eval_sandbox_pass@1": run.pass_at_k(1), f"eval_sandbox_pass@{attempts}": run.pass_at_k(attempts)}
