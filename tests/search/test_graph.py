"""ProofGraph: dedup, status propagation (cycles included), extraction and export."""

from __future__ import annotations

import networkx as nx
import pytest

from lean_env.types import EnvCrash, NewState, ProofComplete, ProofState, TacticError
from search.graph import FAILED, LOST, OPEN, PROVED, QED, EdgeRecord, ProofGraph, outcome_of


def new(goal: str) -> NewState:
    return NewState(ProofState((goal,), handle=goal))


def step(g: ProofGraph, parent: str, tactic: str, result, logprob: float = -1.0) -> str:
    kind, message = outcome_of(result)
    return g.add_attempt(parent, EdgeRecord(tactic, logprob, 2, kind, message, 0.001), result)


def test_transpositions_share_a_node():
    g = ProofGraph(("a b ⊢ goal",))
    x = step(g, g.root, "intro a", new("a ⊢ goal"))
    y = step(g, g.root, "intro b", new("b ⊢ goal"))
    xy = step(g, x, "intro b", new("a b ⊢ p"))
    yx = step(g, y, "intro a", new("a b ⊢ p"))
    assert xy == yx
    assert len([e for e in g.edges() if e.target == xy]) == 2
    assert g.state_count == 5  # root, qed, a, b, ab
    assert g.tried(x, "intro b") == xy and g.tried(g.root, "nope") is None


def test_proved_propagates_to_every_ancestor_in_a_dag():
    g = ProofGraph(("r",))
    a = step(g, g.root, "ta", new("a"))
    b = step(g, g.root, "tb", new("b"))
    c = step(g, a, "tc", new("c"))
    step(g, b, "tc2", new("c"))
    assert g.status(c) == OPEN
    step(g, c, "done", ProofComplete())
    assert {g.status(n) for n in (c, a, b, g.root)} == {PROVED}


def test_failed_needs_full_expansion_and_dead_children():
    g = ProofGraph(("r",))
    a = step(g, g.root, "ta", new("a"))
    step(g, g.root, "bad", TacticError("no"))
    g.mark_expanded(g.root)
    assert g.root_status == OPEN  # a is still expandable
    step(g, a, "bad", TacticError("no"))
    assert g.status(a) == OPEN  # not expanded yet
    g.mark_expanded(a)
    assert g.status(a) == FAILED and g.root_status == FAILED


def test_a_cycle_of_expanded_nodes_fails_as_a_whole():
    g = ProofGraph(("r",))
    a = step(g, g.root, "ta", new("a"))
    back = step(g, a, "undo", new("r"))
    assert back == g.root
    g.mark_expanded(g.root)
    assert g.root_status == OPEN
    g.mark_expanded(a)  # a's only child leads back to its ancestor
    assert g.status(a) == FAILED and g.root_status == FAILED


def test_a_node_leading_only_back_to_its_ancestor_fails_while_the_ancestor_is_open():
    g = ProofGraph(("r",))
    a = step(g, g.root, "ta", new("a"))
    b = step(g, g.root, "tb", new("b"))
    g.mark_expanded(g.root)
    step(g, a, "undo", new("r"))
    step(g, a, "bad", TacticError("no"))
    g.mark_expanded(a)
    assert g.status(a) == FAILED
    assert g.root_status == OPEN and g.is_expandable(b)
    step(g, b, "close", ProofComplete())
    assert g.root_status == PROVED and g.status(a) == PROVED  # a's way back to r now proves it too
    assert g.proof_text() == "tb\nclose"


def test_a_cross_edge_to_a_live_sibling_keeps_a_node_alive():
    g = ProofGraph(("r",))
    a = step(g, g.root, "ta", new("a"))
    b = step(g, g.root, "tb", new("b"))
    g.mark_expanded(g.root)
    assert step(g, a, "to-b", new("b")) == b  # b is not an ancestor of a: a proof may go r -> a -> b
    g.mark_expanded(a)
    assert g.status(a) == OPEN
    g.mark_expanded(b)
    assert {g.status(n) for n in (a, b, g.root)} == {FAILED}


def test_cycle_stays_open_while_an_exit_is_expandable_then_proves():
    g = ProofGraph(("r",))
    a = step(g, g.root, "ta", new("a"))
    step(g, a, "undo", new("r"))
    b = step(g, a, "tb", new("b"))
    g.mark_expanded(g.root)
    g.mark_expanded(a)
    assert g.status(a) == OPEN and g.root_status == OPEN
    step(g, b, "close", ProofComplete())
    assert {g.status(n) for n in (b, a, g.root)} == {PROVED}


def test_self_loop_does_not_keep_a_node_alive():
    g = ProofGraph(("r",))
    assert step(g, g.root, "skip", new("r")) == g.root
    g.mark_expanded(g.root)
    assert g.root_status == FAILED


def test_lost_state_is_a_dead_end():
    g = ProofGraph(("r",))
    a = step(g, g.root, "ta", new("a"))
    g.mark_expanded(g.root)
    step(g, a, "boom", EnvCrash("died", state_lost=True))
    g.mark_lost(a)
    assert g.status(a) == LOST and g.root_status == FAILED


def test_extraction_shortest_and_most_probable():
    g = ProofGraph(("r",))
    a = step(g, g.root, "long1", new("a"), logprob=-0.1)
    b = step(g, a, "long2", new("b"), logprob=-0.1)
    step(g, b, "long3", ProofComplete(), logprob=-0.1)
    step(g, g.root, "short1", new("c"), logprob=-5.0)
    step(g, g.node_for_key("c"), "short2", ProofComplete(), logprob=-5.0)
    assert g.proof_text() == "short1\nshort2"
    assert g.proof_text(most_probable=True) == "long1\nlong2\nlong3"


def test_parallel_tactics_keep_the_most_probable_and_alternatives():
    g = ProofGraph(("r",))
    step(g, g.root, "exact h", ProofComplete(), logprob=-2.0)
    step(g, g.root, "assumption", ProofComplete(), logprob=-0.5)
    [edge] = [e for e in g.edges_from(g.root) if e.target == QED]
    assert edge.tactic == "assumption"
    assert [r.tactic for r in edge.alternatives] == ["exact h"]
    assert g.tried(g.root, "exact h") == QED


def test_unproved_graph_has_no_proof():
    g = ProofGraph(("r",))
    step(g, g.root, "ta", new("a"))
    assert g.extract_proof() is None and g.proof_text() is None


def build_sample() -> ProofGraph:
    g = ProofGraph(("a b ⊢ goal", "⊢ side"))
    a = step(g, g.root, 'intro "x"\n  simp', new("a\n⊢ p"))
    step(g, a, "bad", TacticError("unknown identifier 'q'"))
    step(g, a, "undo", NewState(ProofState(("a b ⊢ goal", "⊢ side"))))
    step(g, a, "exact h", ProofComplete())
    step(g, a, "assumption", ProofComplete(), logprob=-3.0)
    g.mark_expanded(a)
    return g


def test_json_round_trip_is_lossless():
    g = build_sample()
    text = g.to_json()
    back = ProofGraph.from_json(text)
    assert nx.utils.graphs_equal(g.to_networkx(), back.to_networkx())
    assert back.to_json() == text
    assert back.proof_text() == g.proof_text() and back.root_status == PROVED
    a = back.node_for_key("a\n⊢ p")
    assert back.tried(a, "assumption") == QED and back.tried(a, "bad") is not None


def test_json_rejects_unknown_version():
    with pytest.raises(ValueError, match="version"):
        ProofGraph.from_json('{"version": 99}')


def test_graphml_and_dot_export(tmp_path):
    g = build_sample()
    path = tmp_path / "g.graphml"
    g.write_graphml(path)
    loaded = nx.read_graphml(path)
    assert set(loaded.nodes) == {n.id for n in g.nodes()}
    assert loaded.nodes[g.root]["status"] == PROVED
    dot = g.to_dot()
    assert dot.startswith("digraph proof {") and dot.count("->") == g.edge_count
    assert '\\"x\\"' in dot  # quotes inside tactics are escaped
