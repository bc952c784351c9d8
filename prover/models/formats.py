"""Prompt formats: how a query becomes model input, and model output a candidate.

Each released prover was trained on one exact layout; using another silently ruins it,
so formats are chosen by name and recorded next to trained checkpoints.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Callable, Literal

from search.proposer import ProposerKind, Query

__all__ = ["Architecture", "PromptFormat", "PROMPT_FORMATS", "get_format", "UnknownFormat"]

Architecture = Literal["causal", "seq2seq"]


class UnknownFormat(ValueError):
    """The requested prompt format name is not registered (a user input error)."""


@dataclass(frozen=True)
class PromptFormat:
    """One prover's input/output convention.

    ``render`` builds the prompt of a query; the target the model learns is the tactic
    (or proof) followed by ``target_suffix``; generated text is cut at the first ``stop``
    string. ``architecture`` says whether the model is decoder-only or encoder-decoder.
    """

    name: str
    kind: ProposerKind
    architecture: Architecture
    render: Callable[[Query], str]
    stop: tuple[str, ...] = ()
    target_suffix: str = ""
    description: str = ""

    def clean(self, text: str) -> str:
        """The candidate text of a raw generation: cut at a stop string, trimmed."""
        for stop in self.stop:
            text = text.split(stop, 1)[0]
        return textwrap.dedent(text).strip() if self.kind == "proof" else text.strip()


def _internlm(query: Query) -> str:
    proof_before = "\n".join(query.history)
    return (
        f"---\nNAME: {query.theorem.name}\n\n"
        f"---\nPROOF_BEFORE: {proof_before}\n\n"
        f"---\nSTATE_BEFORE: {query.state.pp}\n\n"
        "---\nTACTIC: "
    )


def _deepseek(query: Query) -> str:
    return f"Complete the following Lean 4 code:\n\n```lean4\n{query.theorem.header}{query.theorem.statement}\n"


PROMPT_FORMATS: dict[str, PromptFormat] = {
    fmt.name: fmt
    for fmt in (
        PromptFormat(
            name="reprover",
            kind="tactic",
            architecture="seq2seq",
            render=lambda q: q.state.pp,
            description="ReProver (ByT5 encoder-decoder): pretty-printed state in, tactic out",
        ),
        PromptFormat(
            name="bfs-prover",
            kind="tactic",
            architecture="causal",
            render=lambda q: f"{q.state.pp}:::",
            description="BFS-Prover: '{state}:::' then the tactic",
        ),
        PromptFormat(
            name="internlm-stepprover",
            kind="tactic",
            architecture="causal",
            render=_internlm,
            description="InternLM2.5-StepProver: NAME / PROOF_BEFORE / STATE_BEFORE / TACTIC blocks",
        ),
        PromptFormat(
            name="deepseek-whole-proof",
            kind="proof",
            architecture="causal",
            render=_deepseek,
            stop=("```",),
            target_suffix="\n```",
            description="DeepSeek-Prover: complete the Lean 4 code block after the statement",
        ),
        PromptFormat(
            name="sandbox",
            kind="tactic",
            architecture="causal",
            render=lambda q: f"{q.state.goals[0] if q.state.goals else q.state.pp}\n>>>",
            description="small models trained here: the main goal (tactics act on it), then '>>>' and the tactic",
        ),
    )
}


def get_format(name: str) -> PromptFormat:
    """The registered format called ``name``."""
    try:
        return PROMPT_FORMATS[name]
    except KeyError:
        raise UnknownFormat(f"unknown prompt format {name!r}; choose from {', '.join(sorted(PROMPT_FORMATS))}") from None
