"""A ``Proposer`` backed by a transformers model, causal or encoder-decoder, CPU or CUDA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from transformers import LogitsProcessorList, PreTrainedModel, PreTrainedTokenizerBase

from prover.models.encoding import encode_prompt
from prover.models.formats import PromptFormat
from prover.models.sampling import HashedGumbelSampler, row_keys
from search.proposer import Candidate, Query

__all__ = ["GenerationSettings", "TransformersProposer", "merge_candidates"]


@dataclass(frozen=True)
class GenerationSettings:
    """How candidates are generated.

    ``temperature`` 0 means greedy (one candidate per query); ``beam_search`` returns the
    ``k`` best beams instead of ``k`` samples. Sampling draws ``oversample * k`` rows per
    query and keeps the ``k`` most likely distinct texts: a confident model repeats itself,
    and ``k`` samples alone would give the search far fewer than ``k`` tactics to try.
    ``batch_rows`` bounds the rows (query × sample) of one ``generate`` call.
    """

    temperature: float = 1.0
    beam_search: bool = False
    max_new_tokens: int = 128
    max_prompt_tokens: int = 2048
    batch_rows: int = 64
    oversample: int = 1

    def __post_init__(self) -> None:
        if self.temperature < 0 or self.max_new_tokens < 1 or self.batch_rows < 1 or self.oversample < 1:
            raise ValueError("temperature must be >= 0, max_new_tokens, batch_rows and oversample >= 1")


def merge_candidates(candidates: Sequence[Candidate], k: int) -> list[Candidate]:
    """Distinct non-empty texts, each with its best log-probability, best first, at most ``k``."""
    best: dict[str, Candidate] = {}
    for cand in candidates:
        if cand.text and (cand.text not in best or cand.logprob > best[cand.text].logprob):
            best[cand.text] = cand
    return sorted(best.values(), key=lambda c: -c.logprob)[:k]


@dataclass(frozen=True)
class _Row:
    query: int
    sample: int
    prompt: tuple[int, ...]


class TransformersProposer:
    """Batched candidate generation with per-query seeds.

    Sampling draws each row's randomness from its query's ``seed`` and sample index
    (see ``prover.models.sampling``), so a query gets the same candidates alone or in any
    batch. A causal model reads a prompt shared by several sampled rows (the samples of
    one query, or queries at the same state) once and generates every row from that
    cache. Each candidate carries the summed log-probability (temperature 1) of its
    tokens, EOS included, and their count.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        fmt: PromptFormat,
        *,
        settings: GenerationSettings = GenerationSettings(),
        name: str | None = None,
    ):
        if model.config.is_encoder_decoder != (fmt.architecture == "seq2seq"):
            raise ValueError(f"format {fmt.name!r} needs a {fmt.architecture} model")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.format = fmt
        self.settings = settings
        self.name = name or f"transformers:{fmt.name}"
        self.kind = fmt.kind
        self._pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def propose(self, queries: Sequence[Query], k: int) -> list[list[Candidate]]:
        """Up to ``k`` distinct candidates per query, best first."""
        if k < 1 or not queries:
            return [[] for _ in queries]
        sampling = self.settings.temperature > 0 and not self.settings.beam_search
        samples = k * self.settings.oversample if sampling else 1
        prompts = [
            tuple(encode_prompt(self.tokenizer, self.format, self.format.render(q), max_tokens=self.settings.max_prompt_tokens))
            for q in queries
        ]
        rows = [_Row(qi, s, prompts[qi]) for qi in range(len(queries)) for s in range(samples)]
        rows.sort(key=lambda r: len(r.prompt))
        beams = k if self.settings.beam_search else 1
        per_call = max(1, self.settings.batch_rows // beams)
        found: list[list[Candidate]] = [[] for _ in queries]
        for chunk in self._chunks(rows, per_call, share=sampling and self.format.architecture == "causal"):
            for row, cands in zip(chunk, self._generate(chunk, [queries[r.query].seed for r in chunk], beams)):
                found[row.query].extend(cands)
        return [merge_candidates(c, k) for c in found]

    @staticmethod
    def _chunks(rows: list[_Row], size: int, *, share: bool) -> list[list[_Row]]:
        """Rows in generate calls of at most ``size``; with ``share``, rows of one prompt
        (if several) go together so their prompt is read once."""
        by_prompt: dict[tuple[int, ...], list[_Row]] = {}
        for row in rows:
            by_prompt.setdefault(row.prompt if share else (), []).append(row)
        singles = [group[0] for group in by_prompt.values() if len(group) == 1] if share else []
        groups = [group for group in by_prompt.values() if not share or len(group) > 1]
        return [part[i : i + size] for part in (*groups, singles) for i in range(0, len(part), size) if part]

    @torch.no_grad()
    def _generate(self, rows: list[_Row], seeds: list[int], beams: int) -> list[list[Candidate]]:
        """Generate for one chunk; returns the candidates of each row (``beams`` of them)."""
        device = self.model.device
        width = max(len(r.prompt) for r in rows)
        seq2seq = self.format.architecture == "seq2seq"
        pad = [(width - len(r.prompt)) for r in rows]
        ids = [r.prompt + (self._pad,) * p if seq2seq else (self._pad,) * p + r.prompt for r, p in zip(rows, pad)]
        mask = [[1] * len(r.prompt) + [0] * p if seq2seq else [0] * p + [1] * len(r.prompt) for r, p in zip(rows, pad)]
        inputs = torch.tensor(ids, device=device)
        kwargs = dict(
            input_ids=inputs,
            attention_mask=torch.tensor(mask, device=device),
            max_new_tokens=self.settings.max_new_tokens,
            do_sample=False,
            return_dict_in_generate=True,
            pad_token_id=self._pad,
            eos_token_id=self.tokenizer.eos_token_id,
        )
        if not seq2seq and len(rows) > 1 and width > 1 and all(r.prompt == rows[0].prompt for r in rows):
            kwargs["cache"] = self._prompt_cache(rows[0].prompt, len(rows))
        if beams > 1:
            out = self.model.generate(
                **kwargs, num_beams=beams, num_return_sequences=beams, output_scores=True, length_penalty=0.0
            )
            token_scores = self.model.compute_transition_scores(out.sequences, out.scores, out.beam_indices)
        else:
            if self.settings.temperature > 0:
                start_len = 1 if seq2seq else width
                sampler = HashedGumbelSampler(
                    row_keys(seeds, [r.sample for r in rows]), temperature=self.settings.temperature, start_len=start_len
                )
                kwargs["logits_processor"] = LogitsProcessorList([sampler])
            out = self.model.generate(**kwargs, output_logits=True)
            logits = torch.stack(out.logits, dim=1).float()
            generated = out.sequences[:, -logits.shape[1] :]
            token_scores = torch.log_softmax(logits, dim=-1).gather(2, generated[:, :, None])[:, :, 0]
        generated = out.sequences[:, -token_scores.shape[1] :].tolist()
        cands = [self._candidate(g, s) for g, s in zip(generated, token_scores.tolist())]
        return [cands[i * beams : (i + 1) * beams] for i in range(len(rows))]

    def _prompt_cache(self, prompt: tuple[int, ...], rows: int) -> object:
        """The KV cache of ``prompt`` minus its last token, read once and repeated for
        ``rows`` rows; ``generate`` continues from it with the last token."""
        cache = self.model(input_ids=torch.tensor([prompt[:-1]], device=self.model.device), use_cache=True).past_key_values
        cache.batch_repeat_interleave(rows)
        return cache

    def _candidate(self, tokens: list[int], scores: list[float]) -> Candidate:
        """Cut a generated row at EOS (kept) or at the end of a stop string, and score it."""
        eos = self.tokenizer.eos_token_id
        length = tokens.index(eos) + 1 if eos in tokens else len(tokens)
        text = self.tokenizer.decode(tokens[:length], skip_special_tokens=True)
        if any(stop in text for stop in self.format.stop):
            length = self._stop_length(tokens[:length])
            text = self.tokenizer.decode(tokens[:length], skip_special_tokens=True)
        return Candidate(text=self.format.clean(text), logprob=float(sum(scores[:length])), num_tokens=length)

    def _stop_length(self, tokens: list[int]) -> int:
        """Fewest leading tokens whose text contains a stop string (binary search: containment is monotone)."""
        low, high = 1, len(tokens)
        while low < high:
            mid = (low + high) // 2
            text = self.tokenizer.decode(tokens[:mid], skip_special_tokens=True)
            if any(stop in text for stop in self.format.stop):
                high = mid
            else:
                low = mid + 1
        return low
