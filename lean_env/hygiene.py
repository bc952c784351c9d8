"""Text rules applied to proofs (and to untrusted source context) before anything reaches Lean.

A tactic or whole proof is pasted into Lean source, so text that opens a new command
could declare axioms, end the proof early, run code that prints forged replies, or
bypass the kernel. The rules work on Lean's tokens (``lean_env.lexer``): comments,
strings, raw strings, char literals, ``«»`` names and qualified names are read as Lean
reads them, and a rule looks at every token, not at line starts. ``docs/tactic-rules.md``
lists each rule with its reason.

Reason codes (``HygieneResult.reason``):

* ``"empty"``: nothing but whitespace and comments;
* ``"control-character"``: a control character other than a newline;
* ``"malformed"``: text whose tokens Lean might read differently (unterminated
  comment or literal, a comment opener glued to a symbol, a string with ``{``: an
  interpolated string's ``{...}`` is code);
* ``"new-command"``: a command keyword anywhere (``theorem``, ``axiom``, ``end``,
  ``#print``, ``@[...]``, ``attribute``, ``notation``, ``macro``, ``elab``, ``local``,
  ``open X`` or ``set_option x v`` without ``in``, ...);
* ``"run-code"``: code run at elaboration time (``run_tac``, ``run_cmd``, ``run_elab``,
  ``run_meta``, ``by_elab``, ``#eval``, ``dbg_trace``, ``include_str``, ...);
* ``"sorry"``: ``sorry``, ``admit``, ``stop`` or a proof-escape constant (``sorryAx``,
  ``lcProof``) in any spelling (``«sorryAx»``, ``_root_.sorryAx``);
* ``"native-decide"``: trusting the compiler (``native_decide``, ``bv_decide``,
  ``bv_check``, ``decide +native``, a ``native`` config field, ``Lean.ofReduceBool``,
  ``Lean.trustCompiler``, ...), unless allowed;
* ``"unsafe-option"``: ``set_option`` of a kernel-bypassing or compiler option
  (``debug.*`` such as ``debug.skipKernelTC``, ``compiler.*``, ``interpreter.*``, ...).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Callable, Sequence

from lean_env.lexer import LexError, Token, tokenize

__all__ = ["HygieneResult", "REASONS", "COMMAND_KEYWORDS", "check_tactic", "check_context", "normalise", "single_tactic"]

REASONS = ("empty", "control-character", "malformed", "new-command", "run-code", "sorry", "native-decide", "unsafe-option")

_TAB_WIDTH = 2
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")

SYNTAX_EXTENSIONS = frozenset(
    "syntax macro macro_rules elab elab_rules notation notation3 infix infixl infixr prefix postfix "
    "declare_syntax_cat binder_predicate simproc dsimproc simproc_decl dsimproc_decl builtin_simproc "
    "builtin_dsimproc builtin_simproc_decl builtin_dsimproc_decl initialize builtin_initialize unif_hint "
    "grind_pattern register_option register_simp_attr register_label_attr declare_simp_like_tactic "
    "leading_parser trailing_parser".split()
)
"""Commands that extend the parser or run code later; refused in proofs and in context."""

COMMAND_KEYWORDS = SYNTAX_EXTENSIONS | frozenset(
    "theorem lemma def abbrev axiom axioms example instance structure class inductive coinductive "
    "opaque import end namespace section noncomputable private protected unsafe partial nonrec public "
    "meta universe variable include omit export mutual deriving where add_decl_doc attribute local scoped "
    "seal unseal alias irreducible_def assert_not_exists init_quot with_weak_namespace".split()
)
"""Keywords that start (or modify) a command: inside a proof they end it."""

RUN_CODE = frozenset("run_tac run_cmd run_elab run_meta by_elab dbg_trace include_str idbg".split())
RUN_COMMANDS = frozenset("#eval #eval! #exec #run_cmd #run_tac".split())
SORRY_KEYWORDS = frozenset(("sorry", "admit", "stop"))
SORRY_CONSTANTS = frozenset(("sorryAx", "lcProof", "lcUnreachable"))
NATIVE_TACTICS = frozenset(("native_decide", "bv_decide", "bv_decide?", "bv_check"))
NATIVE_CONSTANTS = frozenset(("ofReduceBool", "ofReduceNat", "reduceBool", "reduceNat", "trustCompiler", "native"))
UNSAFE_OPTION_ROOTS = frozenset(("debug", "compiler", "interpreter", "bootstrap"))
UNSAFE_OPTIONS = frozenset(("allowUnsafeReducibility",))
COMPILER_ATTRIBUTES = frozenset(("implemented_by", "extern", "csimp"))
CONTEXT_HASH_COMMANDS = frozenset(("#print", "#check"))
_OPEN_PARTS = frozenset(("(", ")", "→", "->"))


@dataclass(frozen=True)
class HygieneResult:
    """Outcome of a check: ``text`` is the normalised text to send when ``ok``;
    otherwise ``reason`` is one of ``REASONS`` and ``detail`` says what and where."""

    ok: bool
    text: str
    reason: str = ""
    detail: str = ""


class _Violation(Exception):
    def __init__(self, reason: str, token: Token, what: str = ""):
        self.reason = reason
        self.detail = f"{what or repr(token.text)} at line {token.line}"


def normalise(text: str) -> str:
    """CRLF/CR to LF, tabs to spaces, trailing blanks and blank edge lines dropped,
    common indentation removed: the form the REPL and a Lean file both accept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(_TAB_WIDTH)
    lines = [line.rstrip() for line in text.split("\n")]
    return textwrap.dedent("\n".join(lines)).strip("\n")


def single_tactic(text: str) -> str:
    """``text`` as one tactic for tactic mode. The REPL and LeanDojo parse the ``tactic``
    category, so a sequence (``t1; t2`` or one tactic per line) fails with "expected end
    of input" (leanprover-community/repl#43); ``(t1\\n t2\\n)`` is one tactic meaning the
    same, every line shifted by one column and ``)`` alone on the last line (after comments)."""
    if "\n" not in text and ";" not in text:
        return text
    return "(" + text.replace("\n", "\n ") + "\n)"


def _is(token: Token | None, text: str) -> bool:
    return token is not None and token.kind in ("ident", "symbol") and token.text == text


def _check_option(name: Token) -> None:
    if name.parts and (name.parts[0] in UNSAFE_OPTION_ROOTS or ".".join(name.parts) in UNSAFE_OPTIONS):
        raise _Violation("unsafe-option", name, f"option {name.text!r}")


def _past_in(tokens: Sequence[Token], i: int) -> int:
    """Index just past the ``in`` of ``open ... in`` / ``set_option name value in`` at
    ``i``; raises the violation when it is a command (no ``in``) or an unsafe option."""
    head = tokens[i]
    j = i + 1
    if head.text == "set_option":
        if j >= len(tokens) or tokens[j].kind != "ident":
            raise _Violation("new-command", head, "'set_option' without an option name")
        _check_option(tokens[j])
        j += 2 if j + 1 < len(tokens) and not _is(tokens[j + 1], "-") else 3  # name, (-)value
    else:
        while j < len(tokens) and not _is(tokens[j], "in") and (tokens[j].kind == "ident" or tokens[j].text in _OPEN_PARTS):
            j += 1
    if j < len(tokens) and _is(tokens[j], "in"):
        return j + 1
    raise _Violation("new-command", head, f"{head.text!r} without 'in'")


def _token_rules(tokens: Sequence[Token], allow_native_decide: bool) -> None:
    """Rules every token obeys, in proofs and in context alike."""
    for token in tokens:
        named = token.kind in ("ident", "name")
        if token.kind == "string" and not token.text.startswith("r") and "{" in token.text:
            raise _Violation("malformed", token, "a string with '{' (interpolation would be code)")
        if token.kind == "hash" and token.text in RUN_COMMANDS or token.is_plain and token.text in RUN_CODE:
            raise _Violation("run-code", token)
        if token.is_plain and token.text in SYNTAX_EXTENSIONS:
            raise _Violation("new-command", token, f"a command {token.text!r}")
        if named and token.last in SORRY_CONSTANTS:
            raise _Violation("sorry", token)
        if not allow_native_decide and (token.is_plain and token.text in NATIVE_TACTICS or named and token.last in NATIVE_CONSTANTS):
            raise _Violation("native-decide", token)


def _tactic_rules(tokens: Sequence[Token], allow_native_decide: bool) -> None:
    """Token rules, then structure: no command may start anywhere in a proof."""
    _token_rules(tokens, allow_native_decide)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.is_plain and token.text in ("open", "set_option"):
            i = _past_in(tokens, i)
            continue
        if token.kind == "hash" or _is(token, "@[") or token.is_plain and token.text in COMMAND_KEYWORDS:
            raise _Violation("new-command", token, f"a command {token.text!r}")
        if token.is_plain and token.text in SORRY_KEYWORDS:
            raise _Violation("sorry", token)
        i += 1


def _context_rules(tokens: Sequence[Token], allow_native_decide: bool) -> None:
    """Token rules, then: no command but ``#print``/``#check`` among the ``#`` ones, no
    ``unsafe`` or compiler attribute, no unsafe option."""
    _token_rules(tokens, allow_native_decide)
    for i, token in enumerate(tokens):
        if token.kind == "hash" and token.text not in CONTEXT_HASH_COMMANDS:
            raise _Violation("new-command", token, f"a command {token.text!r}")
        if token.is_plain and token.text == "unsafe" or token.kind == "ident" and token.last in COMPILER_ATTRIBUTES:
            raise _Violation("native-decide", token, f"compiler-trusting {token.text!r}")
        if token.is_plain and token.text == "set_option" and i + 1 < len(tokens) and tokens[i + 1].kind == "ident":
            _check_option(tokens[i + 1])


def _check(text: str, rules: Callable[[Sequence[Token], bool], None], *, allow_native_decide: bool, what: str) -> HygieneResult:
    norm = normalise(text)
    control = _CONTROL.search(norm)
    if control:
        line = norm.count("\n", 0, control.start()) + 1
        return HygieneResult(False, norm, "control-character", f"character {control.group()!r} at line {line}")
    try:
        tokens = [t for t in tokenize(norm) if t.kind != "comment"]
    except LexError as exc:
        return HygieneResult(False, norm, "malformed", str(exc))
    if not tokens and what:
        return HygieneResult(False, norm, "empty", f"no {what}")
    try:
        rules(tokens, allow_native_decide)
    except _Violation as violation:
        return HygieneResult(False, norm, violation.reason, violation.detail)
    return HygieneResult(True, norm)


def check_tactic(text: str, *, allow_native_decide: bool = False) -> HygieneResult:
    """Apply every tactic rule to a tactic or a whole proof; the first violation wins."""
    return _check(text, _tactic_rules, allow_native_decide=allow_native_decide, what="tactic text")


def check_context(text: str, *, allow_native_decide: bool = False) -> HygieneResult:
    """Rules for the untrusted context of a proof (header and statement of a proof file
    that ``prover check`` reads): declarations, ``open``, ``set_option``, ``namespace``
    are fine, but nothing that runs code, extends syntax, trusts the compiler or sets an
    unsafe option. ``sorry`` in a helper lemma is left to the axiom audit."""
    return _check(text, _context_rules, allow_native_decide=allow_native_decide, what="")
