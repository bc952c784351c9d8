"""Token-level encoding shared by generation, scoring and training.

Generation and training must see the very same token ids for a prompt, or the model is
sampled from a distribution it was never trained on; both go through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from prover.models.formats import Conversation, PromptFormat

__all__ = [
    "EncodedPair",
    "encode_prompt",
    "encode_conversation",
    "encode_target",
    "collate_pairs",
    "target_logprobs",
    "score_pairs",
]


@dataclass(frozen=True)
class EncodedPair:
    """Token ids of one (prompt, target) example; ``target`` ends with EOS."""

    prompt: tuple[int, ...]
    target: tuple[int, ...]


def encode_prompt(tokenizer: PreTrainedTokenizerBase, fmt: PromptFormat, prompt: str, *, max_tokens: int) -> list[int]:
    """Prompt ids as the model sees them: BOS-prefixed for causal models (when the tokenizer
    has one) keeping the tail, with the tokenizer's own special tokens for encoders keeping
    the head. For a chat format ``prompt`` is the user message (after the format's system
    message), put through the tokenizer's chat template."""
    if fmt.architecture == "seq2seq":
        return list(tokenizer(prompt, add_special_tokens=True).input_ids)[:max_tokens]
    if fmt.chat:
        system: Conversation = (("system", fmt.system),) if fmt.system else ()
        return encode_conversation(tokenizer, (*system, ("user", prompt)), max_tokens=max_tokens)
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    return bos + _tail(list(tokenizer(prompt, add_special_tokens=False).input_ids), max_tokens - len(bos))


def encode_conversation(tokenizer: PreTrainedTokenizerBase, conversation: Conversation, *, max_tokens: int) -> list[int]:
    """Ids of a conversation through the tokenizer's chat template, opening the assistant's
    turn (the template writes any BOS itself, as ``apply_chat_template(tokenize=True)``
    does), keeping the last ``max_tokens``."""
    messages = [{"role": role, "content": content} for role, content in conversation]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return _tail(list(tokenizer(text, add_special_tokens=False).input_ids), max_tokens)


def _tail(ids: list[int], keep: int) -> list[int]:
    return ids[len(ids) - max(keep, 0):]


def encode_target(tokenizer: PreTrainedTokenizerBase, fmt: PromptFormat, target: str) -> list[int]:
    """Target ids: the text plus the format's suffix, closed by EOS."""
    return list(tokenizer(target + fmt.target_suffix, add_special_tokens=False).input_ids) + [tokenizer.eos_token_id]


def collate_pairs(
    pairs: Sequence[EncodedPair], fmt: PromptFormat, *, pad_id: int, device: torch.device | str
) -> dict[str, torch.Tensor]:
    """Right-padded model inputs for teacher forcing; ``labels`` is -100 outside targets."""
    if fmt.architecture == "seq2seq":
        inputs = _pad([p.prompt for p in pairs], pad_id)
        labels = _pad([p.target for p in pairs], -100)
        return {
            "input_ids": inputs.to(device),
            "attention_mask": (_pad([[1] * len(p.prompt) for p in pairs], 0)).to(device),
            "labels": labels.to(device),
        }
    rows = [p.prompt + p.target for p in pairs]
    ids = _pad(rows, pad_id)
    labels = _pad([(-100,) * len(p.prompt) + p.target for p in pairs], -100)
    return {
        "input_ids": ids.to(device),
        "attention_mask": _pad([[1] * len(r) for r in rows], 0).to(device),
        "labels": labels.to(device),
    }


def _pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [value] * (width - len(r)) for r in rows], dtype=torch.long)


def target_logprobs(model: PreTrainedModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probability of every target token under teacher forcing, and the target mask.

    Both are ``[rows, tokens]``; entries outside the targets are 0 and masked out.
    """
    labels = batch["labels"]
    if getattr(model, "module", model).config.is_encoder_decoder:  # DDP/DeepSpeed wrappers keep it on .module
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels).logits
    else:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
        labels = labels[:, 1:]
    nll = F.cross_entropy(logits.float().transpose(1, 2), labels, ignore_index=-100, reduction="none")
    return -nll, labels != -100


@torch.no_grad()
def score_pairs(
    model: PreTrainedModel, fmt: PromptFormat, pairs: Sequence[EncodedPair], *, pad_id: int
) -> list[tuple[float, int]]:
    """Summed log-probability and token count of each target given its prompt."""
    batch = collate_pairs(pairs, fmt, pad_id=pad_id, device=model.device)
    logprobs, mask = target_logprobs(model, batch)
    return [(float(lp[m].sum()), int(m.sum())) for lp, m in zip(logprobs, mask)]
