"""Presenting proof graphs to people: the best partial state of a failed search, and
graph files (JSON, GraphML, DOT, or a self-contained HTML page) chosen by extension.

The HTML page opens on what a reader wants first: a header with the theorem, the result,
the verified proof and what the search spent; then the proof path (or, for a failed
search, the path to the closest state reached), highlighted; then the whole search tree
with that path open and every other branch collapsed, each edge showing its tactic,
log-probability and outcome, and each state's failed tactics folded into one table. The
page is built without recursion and stays small and quick to open at thousands of nodes
(``benchmarks/bench_graph_page.py`` measures it in headless Chromium).
"""

from __future__ import annotations

import html
from pathlib import Path

from lean_env import Theorem
from search import SearchResult
from search.graph import QED, EdgeView, ProofGraph

__all__ = ["best_partial_state", "proof_path", "write_graph", "graph_to_html"]

_MESSAGE_CHARS = 300
"""Longest error message shown per failed tactic (the JSON export keeps them whole)."""

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1em 2em;max-width:75em}
pre{background:#f6f6f6;padding:4px 6px;margin:2px 0;white-space:pre-wrap}
header{border-bottom:2px solid #ccc;margin-bottom:1em}
.proved{color:#176b1a} .failed,.lost{color:#a33} .open{color:#a60}
.path{background:#eaf7ea;border-left:4px solid #2a2 !important}
ol.steps li{margin:6px 0}
details{margin:2px 0 2px 12px;border-left:2px solid #ddd;padding-left:6px}
summary{cursor:pointer} code{font-size:95%} .lp{color:#666;font-size:90%}
table{border-collapse:collapse;font-size:90%} td,th{border:1px solid #ddd;padding:2px 6px;vertical-align:top}
td pre{margin:0;background:none;padding:0}
""".strip()


def best_partial_state(graph: ProofGraph) -> str | None:
    """Goals of the reached state closest to done: fewest goals, then deepest."""
    node = _best_partial_node(graph)
    return None if node is None else "\n\n".join(graph.node(node).goals)


def _best_partial_node(graph: ProofGraph) -> str | None:
    states = [(len(n.goals), -n.depth, n.id) for n in graph.nodes() if n.kind == "state" and n.goals]
    return min(states)[2] if states else None


def proof_path(graph: ProofGraph, proof: str | None = None) -> list[EdgeView]:
    """The edges of the proof (the extracted proof whose text is ``proof`` when given, else
    the shortest); for an unproved graph, the edges by which the closest state was first reached."""
    candidates = [graph.extract_proof(most_probable=flag) for flag in (False, True)]
    tactics = next((c for c in candidates if c is not None and (proof is None or "\n".join(c) == proof)), candidates[0])
    if tactics is not None:
        path, node = [], graph.root
        for tactic in tactics:
            child = graph.tried(node, tactic)
            edge = next((e for e in graph.edges_from(node) if e.target == child), None)
            if edge is None:
                break
            path.append(edge)
            node = child
        return path
    node = _best_partial_node(graph)
    chain: list[EdgeView] = []
    while node is not None and node != graph.root:
        parent = graph.node(node).parent
        if parent is None:
            break
        chain.append(next(e for e in graph.edges_from(parent) if e.target == node))
        node = parent
    return chain[::-1]


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _edge_label(edge: EdgeView) -> str:
    extra = f" (+{len(edge.alternatives)} more tactics to the same place)" if edge.alternatives else ""
    return (f'<code>{_esc(edge.tactic)}</code> <span class="lp">log p {edge.logprob:.3f} · '
            f"{_esc(edge.outcome)}{extra}</span>")


def _goals(graph: ProofGraph, node: str) -> str:
    return _esc("\n\n".join(graph.node(node).goals)) or "no goals"


def _failed_table(edges: list[EdgeView]) -> str:
    rows = "".join(
        f"<tr><td><code>{_esc(e.tactic)}</code></td><td>{_esc(e.outcome)}</td><td>{e.logprob:.3f}</td>"
        f"<td><pre>{_esc(e.message[:_MESSAGE_CHARS])}{'…' if len(e.message) > _MESSAGE_CHARS else ''}</pre></td></tr>"
        for e in edges)
    return (f"<details><summary>{len(edges)} failed tactic(s)</summary><table><tr><th>tactic</th><th>outcome</th>"
            f"<th>log p</th><th>message</th></tr>{rows}</table></details>")


def _tree_html(graph: ProofGraph, on_path: set[tuple[str, str]]) -> str:
    """The search tree as nested ``<details>``: the path's edges first and open, every other
    branch collapsed, a node reached again linked to where it is shown. Iterative, so any
    depth renders."""
    rank = {"proved": 0, "open": 1, "failed": 2, "lost": 3}
    out: list[str] = []
    seen = {graph.root}
    stack: list[tuple[str, str] | str] = [("node", graph.root)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        _, node = item
        edges = graph.edges_from(node)
        states = [e for e in edges if graph.node(e.target).kind == "state"]
        states.sort(key=lambda e: ((e.source, e.target) not in on_path, rank[graph.status(e.target)], -e.logprob))
        closing = [e for e in edges if e.target == QED]
        failed = [e for e in edges if graph.node(e.target).kind == "dead"]
        out.append(f"<pre>{_goals(graph, node)}</pre>")
        for edge in closing:
            mark = " path" if (edge.source, edge.target) in on_path else ""
            out.append(f'<div class="proved{mark}">{_edge_label(edge)} → <b>no goals</b></div>')
        later: list[tuple[str, str] | str] = []
        for edge in states:
            child = edge.target
            status = graph.status(child)
            if child in seen:
                later.append(f'<div>{_edge_label(edge)} → <a href="#{child}">{child}</a> '
                             f'<span class="{status}">[{status}]</span> (shown elsewhere)</div>')
                continue
            seen.add(child)
            path = (edge.source, edge.target) in on_path
            later.append(f'<details id="{child}" class="{"path" if path else ""}"{" open" if path else ""}>'
                         f'<summary>{_edge_label(edge)} → {child} <span class="{status}">[{status}]</span></summary>')
            later.append(("node", child))
            later.append("</details>")
        if failed:
            later.append(_failed_table(failed))
        stack.extend(reversed(later))
    return "".join(out)


def _header(graph: ProofGraph, result: SearchResult | None, theorem: Theorem | None, title: str) -> str:
    parts = [f"<h1>{_esc(theorem.name if theorem else title)}</h1>"]
    if theorem is not None:
        parts.append(f"<pre>{_esc(theorem.statement)}</pre>")
    failed = sum(1 for n in graph.nodes() if n.kind == "dead")
    counts = f"{graph.state_count} states, {graph.edge_count} edges, {failed} failed tactics"
    if result is None:
        parts.append(f'<p>Root: <span class="{graph.root_status}">{graph.root_status}</span> · {counts}</p>')
        return "<header>" + "".join(parts) + "</header>"
    verdict = f" (verified by {_esc(result.verdict.checker)})" if result.proved and result.verdict else ""
    parts.append(f'<p>Result: <b class="{"proved" if result.proved else "failed"}">{_esc(result.status)}</b>{verdict}'
                 + (f" — {_esc(result.error)}" if result.error else "") + "</p>")
    spent = result.spent
    parts.append(f"<p>Spent: {spent.expansions} expansions, {spent.env_calls} env calls, {spent.samples} samples, "
                 f"{spent.tokens} tokens, {result.timings.wall:.2f} s · {counts}</p>")
    if result.proof is not None:
        parts.append(f"<h2>Verified proof</h2><pre>{_esc(result.proof)}</pre>")
    return "<header>" + "".join(parts) + "</header>"


def _path_html(graph: ProofGraph, path: list[EdgeView]) -> str:
    if not path:
        return ""
    done = path[-1].target == QED
    heading = "Proof path" if done else "Path to the closest state reached"
    steps = "".join(f'<li class="path"><pre>{_goals(graph, edge.source)}</pre>{_edge_label(edge)}'
                    f' → <a href="#{edge.target}">{edge.target}</a></li>' if edge.target != QED else
                    f'<li class="path"><pre>{_goals(graph, edge.source)}</pre>{_edge_label(edge)} → <b>no goals</b></li>'
                    for edge in path)
    if not done:
        steps += f'<li><pre>{_goals(graph, path[-1].target)}</pre>(search stopped here)</li>'
    return f'<section><h2>{heading}</h2><ol class="steps">{steps}</ol></section>'


def graph_to_html(graph: ProofGraph, *, title: str = "proof graph", result: SearchResult | None = None,
                  theorem: Theorem | None = None) -> str:
    """A self-contained HTML page of a search: header (theorem, result, verified proof,
    spend), the proof path highlighted, then the search tree with failed branches collapsed."""
    path = proof_path(graph, result.proof if result is not None else None)
    on_path = {(e.source, e.target) for e in path}
    page_title = theorem.name if theorem is not None else title
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(page_title)}</title>"
        f"<style>{_STYLE}</style></head><body>{_header(graph, result, theorem, title)}{_path_html(graph, path)}"
        f'<section><h2>Search tree</h2><div id="{graph.root}">{_tree_html(graph, on_path)}</div></section>'
        "</body></html>\n"
    )


def write_graph(graph: ProofGraph, path: Path, *, result: SearchResult | None = None,
                theorem: Theorem | None = None) -> None:
    """Write ``graph`` in the format named by ``path``'s extension (the HTML page uses
    ``result`` and ``theorem`` for its header)."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_text(graph.to_json(), encoding="utf-8")
    elif suffix == ".graphml":
        graph.write_graphml(path)
    elif suffix == ".dot":
        path.write_text(graph.to_dot(), encoding="utf-8")
    elif suffix in (".html", ".htm"):
        path.write_text(graph_to_html(graph, result=result, theorem=theorem), encoding="utf-8")
    else:
        raise OSError(f"unknown graph format {suffix!r}; use .json, .html, .graphml or .dot")
