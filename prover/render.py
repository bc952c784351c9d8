"""Presenting proof graphs to people: the best partial state of a failed search, and
graph files (JSON, GraphML, DOT, or a self-contained HTML page) chosen by extension."""

from __future__ import annotations

import html
from pathlib import Path

from search.graph import ProofGraph

__all__ = ["best_partial_state", "write_graph", "graph_to_html"]


def best_partial_state(graph: ProofGraph) -> str | None:
    """Goals of the reached state closest to done: fewest goals, then deepest."""
    states = [(len(n.goals), -n.depth, n.id, n.goals) for n in graph.nodes() if n.kind == "state" and n.goals]
    if not states:
        return None
    return "\n\n".join(min(states)[3])


def _node_html(graph: ProofGraph, node: str, seen: set[str]) -> str:
    """One state and, below it, every tactic tried on it (errors included)."""
    view = graph.node(node)
    if node in seen:
        return f'<div class="ref">see {node} above</div>'
    seen.add(node)
    children = []
    for edge in graph.edges_from(node):
        if graph.node(edge.target).kind == "state":
            below = _node_html(graph, edge.target, seen)
        else:
            below = f"<pre>{html.escape(edge.message)}</pre>" if edge.message else ""
        children.append(
            f"<details open><summary><code>{html.escape(edge.tactic)}</code> "
            f"<span class=\"{edge.outcome}\">{edge.outcome}</span></summary>{below}</details>"
        )
    goals = html.escape("\n\n".join(view.goals)) or "no goals"
    status = view.status
    return f'<div class="node {status}"><b>{node}</b> [{status}]<pre>{goals}</pre>{"".join(children)}</div>'


def graph_to_html(graph: ProofGraph, *, title: str = "proof graph") -> str:
    """A self-contained HTML page showing the search graph as collapsible tactic branches."""
    style = (
        "body{font-family:sans-serif} pre{background:#f6f6f6;padding:4px;margin:2px 0}"
        ".node{border-left:3px solid #ccc;padding-left:8px;margin:4px 0}"
        ".proved{border-color:#2a2} .failed{border-color:#c33} .lost{border-color:#f80}"
        "details{margin-left:16px} .ref{color:#888;margin-left:16px}"
    )
    body = _node_html(graph, graph.root, set())
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )


def write_graph(graph: ProofGraph, path: Path) -> None:
    """Write ``graph`` in the format named by ``path``'s extension."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_text(graph.to_json(), encoding="utf-8")
    elif suffix == ".graphml":
        graph.write_graphml(path)
    elif suffix == ".dot":
        path.write_text(graph.to_dot(), encoding="utf-8")
    elif suffix in (".html", ".htm"):
        path.write_text(graph_to_html(graph), encoding="utf-8")
    else:
        raise OSError(f"unknown graph format {suffix!r}; use .json, .html, .graphml or .dot")
