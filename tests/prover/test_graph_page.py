"""The proof-graph page: a header first, the proof path first and highlighted, failed
branches collapsed, every edge's log-probability and outcome shown, any depth rendered."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from lean_env import NewState, ProofState, TacticError
from prover import Agent, BestFirst, Budget
from prover.render import graph_to_html, proof_path
from search.graph import EdgeRecord, ProofGraph

README_EXAMPLE = "theorem t (p q r : Prop) (h : p ∨ q) (hp : p → r) (hq : q → r) : r := by"
NON_THEOREM = "theorem t (p q r s : Prop) : (p → q) → (r → s) → p ∨ r → q ∧ s := by"


def search(statement: str, expansions: int):
    with Agent.from_config() as agent:
        theorem = agent.theorem(statement)
        return theorem, agent.prove(theorem, policy=BestFirst(k=8), budget=Budget(max_expansions=expansions))


def test_the_page_opens_on_the_header_then_the_highlighted_proof_path():
    theorem, result = search(README_EXAMPLE, 200)
    assert result.proved and len(result.graph) > 150
    page = graph_to_html(result.graph, result=result, theorem=theorem)
    header = page.index("<header>")
    assert page.index(README_EXAMPLE) > header and "Result: <b class=\"proved\">proved</b> (verified by sandbox)" in page
    assert f"<h2>Verified proof</h2><pre>{result.proof}</pre>" in page
    assert f"Spent: {result.spent.expansions} expansions, {result.spent.env_calls} env calls" in page
    assert page.index("<h2>Proof path</h2>") < page.index("<h2>Search tree</h2>")
    path = proof_path(result.graph, result.proof)
    assert "\n".join(edge.tactic for edge in path) == result.proof
    steps = re.findall(r'<li class="path">.*?</li>', page, flags=re.S)
    assert len(steps) == len(path) and all("log p" in step for step in steps)
    tree = page[page.index("<h2>Search tree</h2>"):]
    opened = re.findall(r'<details id="(s\d+)" class="path" open>', tree)
    assert opened == [edge.target for edge in path if edge.target != "qed"]
    first = re.search(r"<details[^>]*>", tree).group(0)
    assert 'class="path" open' in first  # the tree starts on the proof, not on a dead end
    closed = re.findall(r"<details[^>]*>", tree)
    assert all(("open" in tag) == ('class="path"' in tag) for tag in closed)  # everything else collapsed
    assert len(closed) > 20 and tree.count("log p") >= result.graph.edge_count - 1


def test_a_failed_search_shows_the_path_to_its_closest_state():
    theorem, result = search(NON_THEOREM, 60)
    assert not result.proved
    page = graph_to_html(result.graph, result=result, theorem=theorem)
    assert "<h2>Path to the closest state reached</h2>" in page and "(search stopped here)" in page
    assert "Verified proof" not in page and "Result: <b class=\"failed\">budget</b>" in page


def test_a_graph_deeper_than_the_recursion_limit_renders_with_failed_tactics_folded():
    graph = ProofGraph(("⊢ g0",))
    node = graph.root
    for depth in range(1, 3000):
        state = ProofState((f"⊢ g{depth}",))
        node = graph.add_attempt(node, EdgeRecord(f"step {depth}", -0.5, 2, "new_state", "", 0.0), NewState(state))
        graph.add_attempt(node, EdgeRecord("bad", -2.0, 1, "error", "no" * 400, 0.0), TacticError("no" * 400))
    page = graph_to_html(graph)
    assert page.count("<details id=") == 2999 and page.count("<summary>1 failed tactic(s)</summary><table>") == 2999
    assert "<td><pre>" + "no" * 150 + "…</pre></td>" in page  # long messages cut (the JSON keeps them)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_a_two_thousand_node_page_lays_out_short_in_chromium(tmp_path):
    theorem, result = search(NON_THEOREM, 470)
    assert len(result.graph) >= 1900
    page = graph_to_html(result.graph, result=result, theorem=theorem)
    probe = ("<script>addEventListener('load',()=>document.body.setAttribute('data-height',"
             "document.documentElement.scrollHeight))</script></body>")
    path = tmp_path / "page.html"
    path.write_text(page.replace("</body>", probe))
    out = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                          "--virtual-time-budget=5000", "--dump-dom", path.as_uri()],
                         capture_output=True, text=True, timeout=180)
    height = int(re.search(r'data-height="(\d+)"', out.stdout).group(1))
    assert height < 20_000  # the flat page of every branch open was ~900,000 px
