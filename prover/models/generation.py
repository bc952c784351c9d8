"""What both generation backends share: settings, raw completions, stop tokens, and the
one path from completions to deduplicated candidates.

Both backends answer ``complete`` with raw ``Completion`` records (token ids, text cut at
a stop string, the model's own log-probability of those ids), so one test holds the
transformers and vLLM backends to the same contract, and ``propose`` is written once.
"""

from __future__ import annotations

import copy
import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from transformers import PreTrainedTokenizerBase

from prover.models.encoding import encode_conversation, encode_prompt
from prover.models.formats import PromptFormat, revision_rounds
from search.proposer import Candidate, Query, charge_generated

__all__ = ["GenerationSettings", "Completion", "CompletionProposer", "merge_candidates", "end_token_ids"]


@dataclass(frozen=True)
class GenerationSettings:
    """How candidates are generated.

    ``temperature`` 0 means greedy (one candidate per query); ``beam_search`` returns the
    ``k`` best beams (length penalty 0) instead of ``k`` samples; ``top_p`` keeps the
    smallest set of tokens holding that much probability. ``stop`` ``None`` means the
    format's stop strings. ``batch_rows`` bounds the rows (query x sample) of one call.
    Sampling draws ``oversample * k`` completions per query and keeps the ``k`` most likely
    distinct texts: a confident model repeats itself, and ``k`` samples alone would give the
    search far fewer than ``k`` tactics to try. Candidates' log-probabilities are the
    model's own (temperature 1, no top-p), whatever the decoding.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    beam_search: bool = False
    max_new_tokens: int = 128
    max_prompt_tokens: int = 2048
    batch_rows: int = 64
    stop: tuple[str, ...] | None = None
    oversample: int = 1

    def __post_init__(self) -> None:
        if self.temperature < 0 or self.max_new_tokens < 1 or self.batch_rows < 1 or self.max_prompt_tokens < 1:
            raise ValueError("temperature must be >= 0; max_new_tokens, max_prompt_tokens and batch_rows >= 1")
        if self.oversample < 1:
            raise ValueError(f"oversample must be >= 1, got {self.oversample}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")

    @classmethod
    def for_format(cls, fmt: PromptFormat, **overrides: Any) -> "GenerationSettings":
        """The format's decoding defaults with the given fields replaced (``None``: keep the default)."""
        defaults = dataclasses.asdict(fmt.generation)
        chosen = {key: value for key, value in overrides.items() if value is not None}
        return cls(**{**defaults, **chosen})


@dataclass(frozen=True)
class Completion:
    """One raw generation: its token ids (the EOS or stop token that ended it included),
    its text (cut before a stop string), and the summed log-probability of the ids."""

    token_ids: tuple[int, ...]
    text: str
    logprob: float


def merge_candidates(candidates: Iterable[Candidate], k: int) -> list[Candidate]:
    """Distinct non-empty texts, each with its best log-probability, best first, at most ``k``."""
    best: dict[str, Candidate] = {}
    for cand in candidates:
        if cand.text and (cand.text not in best or cand.logprob > best[cand.text].logprob):
            best[cand.text] = cand
    return sorted(best.values(), key=lambda c: -c.logprob)[:k]


def end_token_ids(tokenizer: PreTrainedTokenizerBase, stop: Sequence[str], eos: int | Sequence[int] | None) -> tuple[int, ...]:
    """Token ids that end a generation: the tokenizer's EOS, the model's generation-config
    ``eos`` (chat models end a turn with their own token), and each stop string that is one
    token of the vocabulary (``<|im_end|>``), which decoding would otherwise drop as special."""
    ids = [tokenizer.eos_token_id] + ([eos] if isinstance(eos, int) else list(eos or ()))
    vocab = tokenizer.get_vocab()
    ids += [vocab[s] for s in stop if s in vocab]
    return tuple(dict.fromkeys(i for i in ids if i is not None))


class CompletionProposer(ABC):
    """A ``Proposer`` built on raw completions: prompts encoded by the project (chat
    template, truncation to ``max_prompt_tokens`` on token ids), candidates extracted by the
    format, deduplicated and ranked by log-probability."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        fmt: PromptFormat,
        settings: GenerationSettings,
        *,
        eos: int | Sequence[int] | None,
        name: str,
    ):
        if fmt.chat and not getattr(tokenizer, "chat_template", None):
            raise ValueError(f"format {fmt.name!r} is a chat format but the tokenizer has no chat template")
        self.tokenizer = tokenizer
        self.format = fmt
        self.name = name
        self.kind = fmt.kind
        self._eos = eos
        self._use(settings)

    def _use(self, settings: GenerationSettings) -> None:
        self.check(self.format, settings)
        self.settings = settings
        self.stop = self.format.stop if settings.stop is None else settings.stop
        self.end_ids = end_token_ids(self.tokenizer, self.stop, self._eos)

    @staticmethod
    def check(fmt: PromptFormat, settings: GenerationSettings) -> None:
        """Raise ``ValueError`` for settings this backend cannot honour (none by default)."""

    def with_settings(self, settings: GenerationSettings) -> "CompletionProposer":
        """A proposer sharing this one's model or engine, decoding with ``settings``
        (close the original, not the copy, to release the backend)."""
        clone = copy.copy(self)
        clone._use(settings)
        return clone

    def prompt_ids(self, query: Query) -> list[int]:
        """Token ids of ``query``'s prompt, exactly as the model receives them: the format's
        revision conversation when the query asks to revise earlier attempts and the
        format has one, else its first-attempt prompt."""
        limit = self.settings.max_prompt_tokens
        if query.revising and self.format.revise is not None:
            conversation = self.format.revise(query, revision_rounds(query))
            return encode_conversation(self.tokenizer, conversation, max_tokens=limit)
        return encode_prompt(self.tokenizer, self.format, self.format.render(query), max_tokens=limit)

    def samples(self, k: int) -> int:
        """Completions to draw per query: one for greedy and beam search (which returns ``k``
        beams), else ``oversample * k``."""
        return 1 if self.settings.temperature == 0 or self.settings.beam_search else k * self.settings.oversample

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        """Up to ``k`` distinct candidates per query, best first."""
        if k < 1 or not queries:
            return [[] for _ in queries]
        return [self._candidates(query, completions, k) for query, completions in zip(queries, self.complete(queries, k))]

    def _candidates(self, query: Query, completions: Sequence[Completion], k: int) -> list[Candidate]:
        """The ``k`` best distinct candidates of ``completions``, charged every token generated
        for the query: the rows merged away (duplicates, over-sampled rows) are shared out
        over the kept candidates, so a token budget counts all generation."""
        kept = merge_candidates(
            (Candidate(self.format.candidate(c.text, query), c.logprob, len(c.token_ids)) for c in completions), k
        )
        return charge_generated(kept, sum(len(c.token_ids) for c in completions))

    @abstractmethod
    def complete(self, queries: Sequence[Query], k: int) -> list[list[Completion]]:
        """Raw completions per query, in query order (``k`` samples, ``k`` beams or one greedy)."""

    def close(self) -> None:
        """Release the backend's resources (nothing by default)."""
