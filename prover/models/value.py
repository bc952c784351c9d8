"""A learned value model: a transformers sequence classifier with one logit (a scalar head
on a causal LM, ``AutoModelForSequenceClassification``), read through a sigmoid as the
probability that a proof state can still be proved.

It implements ``search.ValueModel``: ``evaluate`` scores a whole batch of states in one
forward pass, so the scheduler's ``BatchingEvaluate`` merges the states of many searches
into one call, as it does for the proposer. The directory format is Hugging Face's (plus
``prover_config.json`` with ``task = "value"`` and the fitted ``temperature`` of temperature
scaling, Guo et al. 2017: probabilities are ``sigmoid(logit / temperature)``), so any causal
LM checkpoint either generation backend loads can be given a scalar head and fine-tuned into one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    LlamaForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from lean_env.types import ProofState
from prover.models.loading import ModelLoadError, read_prover_config
from prover.models.scratch import ScratchModelConfig, llama_config

__all__ = ["VALUE_TASK", "value_text", "build_value_model", "TransformersValue", "load_value_model"]

VALUE_TASK = "value"
"""``task`` recorded in the ``prover_config.json`` of a value model directory."""


def value_text(state: ProofState) -> str:
    """What the value model reads of a state (training and search use this one function)."""
    return state.pp


def build_value_model(config: ScratchModelConfig, tokenizer: PreTrainedTokenizerBase) -> PreTrainedModel:
    """A randomly initialised Llama-style classifier with one logit (trained with binary
    cross-entropy on soft labels: ``problem_type = multi_label_classification``)."""
    return LlamaForSequenceClassification(
        llama_config(config, tokenizer, num_labels=1, problem_type="multi_label_classification")
    )


class TransformersValue:
    """``search.ValueModel`` over a one-logit sequence classifier: states are encoded with
    ``value_text``, truncated to their last ``max_tokens`` tokens, scored in batches of at
    most ``batch_rows``; the logit is divided by ``temperature`` before the sigmoid."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, *, name: str = "value",
                 max_tokens: int = 512, batch_rows: int = 64, temperature: float = 1.0):
        if model.config.num_labels != 1:
            raise ModelLoadError(f"a value model has one output, this one has {model.config.num_labels}")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.max_tokens = max_tokens
        self.batch_rows = batch_rows
        self.temperature = temperature

    def evaluate(self, states: Sequence[ProofState]) -> list[float]:
        """The probability that each state can still be proved, in order."""
        return self.probabilities([value_text(s) for s in states])

    @torch.no_grad()
    def logits(self, texts: Sequence[str]) -> torch.Tensor:
        """The model's raw logit for each text, as float32 on the CPU (one padded forward
        pass per ``batch_rows`` texts)."""
        self.tokenizer.truncation_side = "left"
        out = [torch.zeros(0)]
        for start in range(0, len(texts), self.batch_rows):
            batch = self.tokenizer(list(texts[start:start + self.batch_rows]), padding=True, truncation=True,
                                   max_length=self.max_tokens, return_tensors="pt")
            out.append(self.model(**batch.to(self.model.device)).logits[:, 0].float().cpu())
        return torch.cat(out)

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """``sigmoid(logit / temperature)`` for each text."""
        return torch.sigmoid(self.logits(texts).double() / self.temperature).tolist()


def load_value_model(path: str | Path, *, device: str = "cpu", batch_rows: int = 64) -> TransformersValue:
    """The value model saved in ``path`` (by ``prover train --task value``); a directory that
    is not one is a ``ModelLoadError``."""
    directory = Path(path)
    if not directory.is_dir():
        raise ModelLoadError(f"no value model directory at {directory}")
    recorded = read_prover_config(directory)
    if recorded.get("task") != VALUE_TASK:
        raise ModelLoadError(f"{directory} is not a value model (its prover_config.json has no task = 'value')")
    temperature = recorded.get("temperature", 1.0)
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not temperature > 0:
        raise ModelLoadError(f"{directory}: prover_config.json temperature must be a positive number, got {temperature!r}")
    model = AutoModelForSequenceClassification.from_pretrained(directory).to(device)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    return TransformersValue(model, tokenizer, name=f"value:{directory.name}", batch_rows=batch_rows,
                             temperature=float(temperature))
