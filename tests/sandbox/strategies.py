"""Hypothesis strategies shared by the sandbox tests."""

from __future__ import annotations

from hypothesis import strategies as st

from propsandbox.syntax import FALSE, TRUE, And, Atom, Iff, Imp, Not, Or

__all__ = ["ATOMS", "formulas"]

ATOMS = ("p", "q", "r")


def formulas(atoms: tuple[str, ...] = ATOMS, max_leaves: int = 12):
    """Random formulas over ``atoms`` with every connective, ``True`` and ``False``."""
    leaves = st.sampled_from(atoms).map(Atom) | st.sampled_from((TRUE, FALSE))
    return st.recursive(
        leaves,
        lambda sub: st.builds(Not, sub) | st.builds(And, sub, sub) | st.builds(Or, sub, sub)
        | st.builds(Imp, sub, sub) | st.builds(Iff, sub, sub),
        max_leaves=max_leaves,
    )
