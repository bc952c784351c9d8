"""Prompt formats: how a query becomes model input, and a completion a candidate.

Each released prover was trained on one exact layout and decoded with settings its
authors chose; using another silently ruins it, so formats are chosen by name, recorded
next to trained checkpoints, and each prompt function cites where its layout comes from.
Chat formats give the messages; the model's own chat template (shipped with its
tokenizer) turns them into text, as the upstream code does with ``apply_chat_template``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

from prover.models.extraction import extract_proof
from search.proposer import Attempt, ProposerKind, Query

__all__ = [
    "Architecture",
    "Message",
    "Conversation",
    "GenerationDefaults",
    "PromptFormat",
    "PROMPT_FORMATS",
    "FORMAT_ALIASES",
    "get_format",
    "UnknownFormat",
    "revision_rounds",
]

Architecture = Literal["causal", "seq2seq"]
Message = tuple[str, str]
"""One chat message: ``(role, content)`` with role ``system``, ``user`` or ``assistant``."""
Conversation = tuple[Message, ...]


class UnknownFormat(ValueError):
    """The requested prompt format name is not registered (a user input error)."""


@dataclass(frozen=True)
class GenerationDefaults:
    """How a prover's authors decode it: temperature, nucleus mass, a new-token limit, and
    beam search (``k`` beams, length penalty 0) instead of sampling. ``ModelConfig`` overrides each."""

    max_new_tokens: int = 128
    temperature: float = 1.0
    top_p: float = 1.0
    beam_search: bool = False


@dataclass(frozen=True)
class PromptFormat:
    """One prover's input/output convention.

    ``render`` builds the prompt text of a query, or for a ``chat`` format the user
    message, which goes after ``system`` (if any) through the tokenizer's chat template.
    The target the model learns is the tactic (or proof) followed by ``target_suffix``;
    generation stops at EOS or the first ``stop`` string. ``revise``, where the released
    prover has a revision prompt, builds the conversation that asks for a corrected proof
    from earlier ``(completion, Lean feedback)`` rounds (``revision_rounds``); a format
    without one answers a revision request (``Query.revising``) with a fresh first attempt.
    """

    name: str
    kind: ProposerKind
    architecture: Architecture
    render: Callable[[Query], str]
    chat: bool = False
    system: str | None = None
    stop: tuple[str, ...] = ()
    target_suffix: str = ""
    generation: GenerationDefaults = GenerationDefaults()
    revise: Callable[[Query, Sequence[tuple[str, str]]], Conversation] | None = None
    description: str = ""

    def conversation(self, query: Query) -> Conversation:
        """The chat messages of ``query`` (a chat format's first turn)."""
        system: Conversation = (("system", self.system),) if self.system else ()
        return (*system, ("user", self.render(query)))

    def candidate(self, text: str, query: Query) -> str:
        """The candidate of a raw completion: cut at a stop string; a tactic trimmed, a
        whole proof extracted from whatever the model wrapped it in."""
        for stop in self.stop:
            text = text.split(stop, 1)[0]
        return extract_proof(text, query.theorem) if self.kind == "proof" else text.strip()


def revision_rounds(query: Query) -> list[tuple[str, str]]:
    """The ``(completion, feedback)`` rounds of ``query.revising`` for a format's ``revise``:
    each failed proof as a ``lean4`` block of the declaration, then the same code with the
    lines the errors point at wrapped in ``<error></error>`` and the messages themselves."""
    header = query.theorem.header
    return [(f"```lean4\n{header}{_declaration(query, attempt)}```", _feedback(query, attempt)) for attempt in query.revising]


def _declaration(query: Query, attempt: Attempt) -> str:
    """The statement closed by the attempt, without the header: the lines checker messages count."""
    return dataclasses.replace(query.theorem, header="").with_proof(attempt.text)


def _feedback(query: Query, attempt: Attempt) -> str:
    """The attempt's code with the lines errors point at marked, then the messages."""
    lines = _declaration(query, attempt).split("\n")
    first = query.theorem.statement.count("\n") + 1
    for row in sorted({first + line for line in attempt.error_lines(query.theorem)}):
        if 0 <= row < len(lines):
            lines[row] = f"<error>{lines[row]}</error>"
    errors = "\n".join(attempt.messages) or "(no message)"
    body = "\n".join(lines)
    return f"```lean4\n{query.theorem.header}{body}```\n\n{errors}"


def _informal_prefix(query: Query) -> str:
    informal = query.theorem.informal
    return f"/-- {informal}-/\n" if informal else ""


def _with_sorry(query: Query) -> str:
    """Header, informal docstring and the declaration closed by ``:= by sorry``, as
    Goedel-Prover-V2's pipeline and Kimina's demo write the statement."""
    declaration = query.theorem.statement.rsplit(":= by", 1)[0]
    return f"{query.theorem.header}{_informal_prefix(query)}{declaration}:= by sorry"


def _reprover(query: Query) -> str:
    """The pretty-printed state alone (LeanDojo's ReProver tactic generator, model card of
    ``kaiyuy/leandojo-lean4-tacgen-byt5-small``: ``tokenizer(state)`` then ``generate``)."""
    return query.state.pp


def _bfs_prover(query: Query) -> str:
    """``{state}:::`` (model cards of ``ByteDance-Seed/BFS-Prover-V1-7B`` and
    ``BFS-Prover-V2-7B``: ``:::`` signals the model to generate a tactic for the state)."""
    return f"{query.state.pp}:::"


def _internlm_stepprover(query: Query) -> str:
    """NAME / PROOF_BEFORE / STATE_BEFORE / TACTIC blocks wrapped in InternLM's chat turn
    (``InternLM/InternLM-Math``, ``minif2f/proofsearch_internLM2.5-StepProver.py``:
    ``_prompt_function`` and ``chat_template_to_prompt``; the script stops at ``<|im_end|>``)."""
    content = (
        f"---\nNAME: {query.theorem.name}\n\n"
        f"---\nPROOF_BEFORE: {chr(10).join(query.history)}\n\n"
        f"---\nSTATE_BEFORE: {query.state.pp}\n\n"
        "---\nTACTIC: "
    )
    return f"<|im_start|>user\n{content}<|im_end|>\n<|im_start|>assistant\n"


def _deepseek_v15(query: Query) -> str:
    """Code completion after the statement (``deepseek-ai/DeepSeek-Prover-V1.5``,
    ``prover/utils.py:non_cot_prompt``: header, the informal statement as a ``/-- -/``
    docstring when the record has one, then the formal statement ending in ``by``)."""
    theorem = query.theorem
    return f"Complete the following Lean 4 code:\n\n```lean4\n{theorem.header}{_informal_prefix(query)}{theorem.statement}\n"


_PLAN_REQUEST = (
    "Before producing the Lean 4 code to formally prove the given theorem, provide a detailed proof plan "
    "outlining the main proof steps and strategies.\nThe plan should highlight key ideas, intermediate lemmas, "
    "and proof structures that will guide the construction of the final formal proof."
)


def _deepseek_v2(query: Query) -> str:
    """The user turn of ``deepseek-ai/DeepSeek-Prover-V2`` (README quick start, also the
    model card): the statement with ``sorry`` in a lean4 block, then the request for a proof plan."""
    theorem = query.theorem
    return (
        f"Complete the following Lean 4 code:\n\n```lean4\n{theorem.header}{_informal_prefix(query)}{theorem.statement}"
        f"\n  sorry\n```\n\n{_PLAN_REQUEST}"
    )


def _goedel_v2(query: Query) -> str:
    """The user turn of ``Goedel-LM/Goedel-Prover-V2``'s evaluation pipeline
    (``src/utils.py:DeepSeekCoTHandler.prover_inference``, the handler ``scripts/pipeline.sh``
    selects): DeepSeek-Prover-V2's request with the fence closed right after ``sorry``."""
    return f"Complete the following Lean 4 code:\n\n```lean4\n{_with_sorry(query)}```\n\n{_PLAN_REQUEST}"


def _goedel_v2_revision(query: Query, rounds: Sequence[tuple[str, str]]) -> Conversation:
    """Self-correction turns of Goedel-Prover-V2 (``src/utils.py:generate_correction_prompt``):
    each failed completion as the assistant turn, then the Lean errors (``<error></error>``
    marking their positions, formatted by the caller) and a request to analyse them."""
    messages: list[Message] = [("user", _goedel_v2(query))]
    for number, (completion, feedback) in enumerate(rounds):
        messages.append(("assistant", completion))
        messages.append((
            "user",
            f"The proof (Round {number}) is not correct. Following is the compilation error message, where we use "
            f"<error></error> to signal the position of the error.\n\n{feedback}\n\nBefore producing the Lean 4 code "
            "to formally prove the given theorem, provide a detailed analysis of the error message.",
        ))
    return tuple(messages)


KIMINA_SYSTEM = "You are an expert programmer and mathematician who helps formalizing mathematical problems in Lean 4."


def _kimina(query: Query) -> str:
    """The user turn of Kimina-Prover (``MoonshotAI/Kimina-Prover-Preview``,
    ``kimina_prover_demo/error_fix.py``, with ``KIMINA_SYSTEM`` as system turn). The
    model cards' own quick-start prompt could not be read in full here; this follows the demo."""
    return f"Think about and solve the following problems step by step in Lean 4.\n\n{_with_sorry(query)}"


def _kimina_revision(query: Query, rounds: Sequence[tuple[str, str]]) -> Conversation:
    """Error-fixing turns of Kimina-Prover (``kimina_prover_demo/error_fix.py``): the failed
    completion as the assistant turn, then the Lean feedback (formatted by the caller as
    ``utils.create_tool_message`` does) as the next user turn."""
    messages: list[Message] = [("system", KIMINA_SYSTEM), ("user", _kimina(query))]
    for completion, feedback in rounds:
        messages += [("assistant", completion), ("user", feedback)]
    return tuple(messages)


def _sandbox(query: Query) -> str:
    """The main goal then ``>>>`` (the small models trained here; tactics act on the main goal)."""
    return f"{query.state.goals[0] if query.state.goals else query.state.pp}\n>>>"


PROMPT_FORMATS: dict[str, PromptFormat] = {
    fmt.name: fmt
    for fmt in (
        PromptFormat(
            name="reprover",
            kind="tactic",
            architecture="seq2seq",
            render=_reprover,
            # model card: generate(max_length=1024, num_beams=k, length_penalty=0.0, do_sample=False)
            generation=GenerationDefaults(max_new_tokens=1024, beam_search=True),
            description="ReProver (ByT5 encoder-decoder): pretty-printed state in, tactic out; beam search",
        ),
        PromptFormat(
            name="bfs-prover",
            kind="tactic",
            architecture="causal",
            render=_bfs_prover,
            # the cards give no decoding settings; 256 tokens is InternLM's tactic limit
            generation=GenerationDefaults(max_new_tokens=256),
            description="BFS-Prover V1/V2 (Qwen2.5): '{state}:::' then the tactic",
        ),
        PromptFormat(
            name="internlm-stepprover",
            kind="tactic",
            architecture="causal",
            render=_internlm_stepprover,
            stop=("<|im_end|>",),
            target_suffix="<|im_end|>",
            # the script: max_tokens=256; temperature 0 means beam search with length_penalty 0
            generation=GenerationDefaults(max_new_tokens=256, beam_search=True),
            description="InternLM2.5-StepProver: NAME/PROOF_BEFORE/STATE_BEFORE/TACTIC in a chat turn (remote code)",
        ),
        PromptFormat(
            name="deepseek-prover-v1.5",
            kind="proof",
            architecture="causal",
            render=_deepseek_v15,
            stop=("```",),
            target_suffix="\n```",
            # quick_start.py and configs/sampling.py: temperature 1, top_p 0.95, max_tokens 2048
            generation=GenerationDefaults(max_new_tokens=2048, top_p=0.95),
            description="DeepSeek-Prover-V1.5: complete the Lean 4 code block after the statement",
        ),
        PromptFormat(
            name="deepseek-prover-v2",
            kind="proof",
            architecture="causal",
            render=_deepseek_v2,
            chat=True,
            # README quick start: generate(max_new_tokens=8192); no sampling settings given
            generation=GenerationDefaults(max_new_tokens=8192),
            description="DeepSeek-Prover-V2: proof plan, then the whole proof in a lean4 block (chat)",
        ),
        PromptFormat(
            name="goedel-prover-v2",
            kind="proof",
            architecture="causal",
            render=_goedel_v2,
            chat=True,
            revise=_goedel_v2_revision,
            # src/inference.py: temperature 1, top_p 0.95; README: "the standard 32K" output tokens
            generation=GenerationDefaults(max_new_tokens=32768, top_p=0.95),
            description="Goedel-Prover-V2 (Qwen3): proof plan, then the whole proof; self-correction prompt (chat)",
        ),
        PromptFormat(
            name="kimina-prover",
            kind="proof",
            architecture="causal",
            render=_kimina,
            chat=True,
            system=KIMINA_SYSTEM,
            revise=_kimina_revision,
            # error_fix.py: temperature 0.8, max_tokens 16000 (its presence_penalty 0.2 is not applied here)
            generation=GenerationDefaults(max_new_tokens=16000, temperature=0.8),
            description="Kimina-Prover (Qwen): reasoning, then the whole proof; error-fixing prompt (chat)",
        ),
        PromptFormat(
            name="sandbox",
            kind="tactic",
            architecture="causal",
            render=_sandbox,
            description="small models trained here: the main goal (tactics act on it), then '>>>' and the tactic",
        ),
    )
}

FORMAT_ALIASES: dict[str, str] = {"deepseek-whole-proof": "deepseek-prover-v1.5"}
"""Former names still accepted (model directories record the name they were trained with)."""


def get_format(name: str) -> PromptFormat:
    """The registered format called ``name`` (or a former name of it)."""
    try:
        return PROMPT_FORMATS[FORMAT_ALIASES.get(name, name)]
    except KeyError:
        raise UnknownFormat(f"unknown prompt format {name!r}; choose from {', '.join(sorted(PROMPT_FORMATS))}") from None
