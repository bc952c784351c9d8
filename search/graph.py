"""The proof graph: proof states deduplicated by goal text, tactic attempts as edges.

Two tactic paths reaching the same goals share one node, so the structure is a graph
(transpositions, cycles), not a tree. Node status is propagated upward as edges are
added; proofs are extracted as newline-joined tactic text for ``Environment.verify``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Iterator, Literal

import networkx as nx

from lean_env.types import (
    EnvCrash,
    NewState,
    ProofComplete,
    ProofState,
    StepResult,
    StepTimeout,
    TacticError,
    TacticRejected,
    canonical_goals,
)

__all__ = [
    "NodeStatus",
    "OPEN",
    "PROVED",
    "FAILED",
    "LOST",
    "QED",
    "EdgeRecord",
    "NodeView",
    "EdgeView",
    "outcome_of",
    "ProofGraph",
]

NodeStatus = Literal["open", "proved", "failed", "lost"]
OPEN: NodeStatus = "open"
PROVED: NodeStatus = "proved"
FAILED: NodeStatus = "failed"
LOST: NodeStatus = "lost"

QED = "qed"
"""Id of the single node every proof-closing tactic leads to (no goals, always proved)."""

_JSON_VERSION = 1


@dataclass(frozen=True)
class EdgeRecord:
    """One tactic attempt: the candidate, the environment's answer and the time it took.

    ``outcome`` is ``new_state``, ``proof_complete``, ``error``, ``rejected``, ``timeout``,
    ``crash`` (stepping) or ``verified`` / ``verify_failed`` (whole proofs checked by ``verify``).
    """

    tactic: str
    logprob: float
    num_tokens: int
    outcome: str
    message: str
    seconds: float


@dataclass(frozen=True)
class NodeView:
    """A read-only snapshot of one node: ``kind`` is ``state``, ``qed`` or ``dead`` (a failed
    attempt's leaf); ``parent`` is the node it was first reached from."""

    id: str
    kind: str
    key: str | None
    goals: tuple[str, ...]
    depth: int
    parent: str | None
    status: NodeStatus
    expanded: bool


@dataclass(frozen=True)
class EdgeView(EdgeRecord):
    """A read-only snapshot of one edge ``source -> target``: its best attempt (highest
    log-probability) and the other tactics that led the same way."""

    source: str
    target: str
    alternatives: tuple[EdgeRecord, ...]


def outcome_of(result: StepResult) -> tuple[str, str]:
    """The ``(outcome kind, message)`` an edge records for an environment answer."""
    if isinstance(result, NewState):
        return "new_state", "\n".join(result.messages)
    if isinstance(result, ProofComplete):
        return "proof_complete", "\n".join(result.messages)
    if isinstance(result, TacticError):
        return "error", result.message
    if isinstance(result, TacticRejected):
        return "rejected", f"{result.reason}: {result.message}" if result.message else result.reason
    if isinstance(result, StepTimeout):
        return "timeout", f"timed out after {result.seconds:g}s"
    if isinstance(result, EnvCrash):
        return "crash", result.reason
    raise TypeError(f"not a StepResult: {result!r}")


class ProofGraph:
    """A ``networkx.DiGraph`` of proof states with status propagation and proof extraction.

    Nodes: ``s<n>`` states (attributes ``kind="state"``, ``key``, ``goals``, ``depth``,
    ``parent`` = the node it was first reached from, ``status``, ``expanded``), the shared
    ``qed`` node, and ``x<n>`` dead leaves, one per failed attempt. Edges carry an
    ``EdgeRecord``'s fields; further tactics between the same two nodes are kept in the
    edge's ``alternatives``. A node is *proved* when an edge leads to a proved node. It is
    *failed* when it is expanded and cannot reach any proved or still-expandable node
    without an edge back to an ancestor (on the path by which that node was first
    reached): such an edge never helps the root, whose path to that ancestor exists
    anyway. So a node whose only children lead back to its ancestors fails once expanded,
    and a cycle of expanded nodes fails as a whole. ``lost`` nodes lost their backend state.
    Live ``ProofState`` handles are kept beside the graph; a reloaded graph has none.
    """

    def __init__(self, root_goals: tuple[str, ...] = ()):
        self._nx = nx.DiGraph()
        self.root = "s0"
        self._by_key: dict[str, str] = {}
        self._tried: dict[tuple[str, str], str] = {}
        self._states: dict[str, ProofState] = {}
        self._histories: dict[str, tuple[str, ...]] = {}
        self._next_state = 0
        self._next_dead = 0
        self._nx.add_node(QED, kind="qed", key="", goals=(), depth=-1, parent=None, status=PROVED, expanded=True)
        self._by_key[""] = QED
        self._new_state_node(tuple(root_goals), key=canonical_goals(tuple(root_goals)), depth=0, parent=None)

    # ------------------------------------------------------------------ building
    def _new_state_node(self, goals: tuple[str, ...], *, key: str, depth: int, parent: str | None) -> str:
        node = f"s{self._next_state}"
        self._next_state += 1
        self._nx.add_node(
            node, kind="state", key=key, goals=goals, depth=depth, parent=parent, status=OPEN, expanded=False
        )
        self._by_key[key] = node
        return node

    def bind(self, node: str, state: ProofState) -> None:
        """Attach the live backend state of ``node`` (needed to step it)."""
        self._states[node] = state

    def state(self, node: str) -> ProofState:
        """The live backend state of a state node."""
        return self._states[node]

    def node_for_key(self, key: str) -> str | None:
        """The node holding goals with canonical text ``key``, if any."""
        return self._by_key.get(key)

    def tried(self, node: str, tactic: str) -> str | None:
        """Where ``tactic`` led from ``node`` when it was already run (the edge cache)."""
        return self._tried.get((node, tactic))

    def add_attempt(self, parent: str, record: EdgeRecord, result: StepResult | None = None) -> str:
        """Record one tactic attempt from ``parent`` and return the node it leads to.

        A ``NewState`` is merged into the node with the same goals (bound to the live
        state when new); ``ProofComplete`` and ``verified`` lead to ``qed``; every other
        outcome gets its own failed leaf. Statuses are updated.
        """
        if isinstance(result, NewState):
            key = result.state.key
            child = self._by_key.get(key)
            if child is None:
                depth = self._nx.nodes[parent]["depth"] + 1
                child = self._new_state_node(result.state.goals, key=key, depth=depth, parent=parent)
                self._states[child] = result.state
        elif record.outcome in ("proof_complete", "verified"):
            child = QED
        else:
            child = f"x{self._next_dead}"
            self._next_dead += 1
            self._nx.add_node(child, kind="dead", key=None, goals=(), depth=-1, parent=parent, status=FAILED, expanded=True)
        self._add_edge(parent, child, record)
        if self._nx.nodes[child]["status"] == PROVED:
            self._propagate_proved(parent)
        return child

    def _add_edge(self, parent: str, child: str, record: EdgeRecord) -> None:
        self._tried[(parent, record.tactic)] = child
        if not self._nx.has_edge(parent, child):
            self._nx.add_edge(parent, child, **vars(record), alternatives=())
            return
        data = self._nx.adj[parent][child]
        current = EdgeRecord(**{name: data[name] for name in EdgeRecord.__dataclass_fields__})
        if record.logprob > current.logprob:
            record, current = current, record
            data.update(vars(current))
        data["alternatives"] = data["alternatives"] + (record,)

    def mark_expanded(self, node: str) -> None:
        """Declare ``node`` fully expanded: the policy will ask nothing more of it."""
        self._nx.nodes[node]["expanded"] = True
        if self._nx.nodes[node]["status"] == OPEN:
            self._propagate_failed([node])

    def mark_lost(self, node: str) -> None:
        """The backend lost ``node``'s state: it can no longer be expanded."""
        attrs = self._nx.nodes[node]
        if attrs["status"] == OPEN:
            attrs["status"] = LOST
            attrs["expanded"] = True
            self._propagate_failed(list(self._nx.predecessors(node)))

    # ------------------------------------------------------------------ status
    def status(self, node: str) -> NodeStatus:
        """The status of ``node``."""
        return self._nx.nodes[node]["status"]

    @property
    def root_status(self) -> NodeStatus:
        """The status of the root: ``proved`` once a proof is found."""
        return self._nx.nodes[self.root]["status"]

    def is_expandable(self, node: str) -> bool:
        """Open and not yet fully expanded."""
        attrs = self._nx.nodes[node]
        return attrs["status"] == OPEN and not attrs["expanded"]

    def _propagate_proved(self, node: str) -> None:
        stack = [node]
        nodes = self._nx.nodes
        while stack:
            current = stack.pop()
            if nodes[current]["status"] == PROVED:
                continue
            nodes[current]["status"] = PROVED
            stack.extend(self._nx.predecessors(current))

    def _is_ancestor(self, ancestor: str, node: str) -> bool:
        """Whether ``ancestor`` lies on the path by which ``node`` was first reached (or is it)."""
        nodes = self._nx.nodes
        depth = nodes[ancestor]["depth"]
        if nodes[ancestor]["kind"] != "state" or depth > nodes[node]["depth"]:
            return False
        while nodes[node]["depth"] > depth:
            node = nodes[node]["parent"]
        return node == ancestor

    def _dead_region(self, start: str) -> list[str] | None:
        """The expanded open nodes reachable from ``start`` without edges back to
        ancestors, or ``None`` when one of them is proved or still expandable (so
        ``start`` is alive)."""
        nodes = self._nx.nodes
        seen = {start}
        stack = [start]
        region = []
        while stack:
            current = stack.pop()
            attrs = nodes[current]
            if attrs["status"] == PROVED or (attrs["status"] == OPEN and not attrs["expanded"]):
                return None
            if attrs["status"] != OPEN:
                continue
            region.append(current)
            for child in self._nx.successors(current):
                if child not in seen and not self._is_ancestor(child, current):
                    seen.add(child)
                    stack.append(child)
        return region

    def _propagate_failed(self, candidates: list[str]) -> None:
        nodes = self._nx.nodes
        while candidates:
            node = candidates.pop()
            attrs = nodes[node]
            if attrs["status"] != OPEN or not attrs["expanded"]:
                continue
            region = self._dead_region(node)
            if region is None:
                continue
            for dead in region:
                nodes[dead]["status"] = FAILED
            for dead in region:
                candidates.extend(self._nx.predecessors(dead))

    # ------------------------------------------------------------------ queries
    def history(self, node: str) -> tuple[str, ...]:
        """Tactics along the path by which ``node`` was first reached from the root (memoised)."""
        chain = []
        current = node
        while current not in self._histories:
            parent = self._nx.nodes[current]["parent"]
            if parent is None:
                self._histories[current] = ()
                break
            chain.append((parent, current))
            current = parent
        for parent, child in reversed(chain):
            self._histories[child] = (*self._histories[parent], self._nx.adj[parent][child]["tactic"])
        return self._histories[node]

    def node(self, node: str) -> NodeView:
        """A snapshot of ``node``."""
        return NodeView(id=node, **self._nx.nodes[node])

    def nodes(self) -> Iterator[NodeView]:
        """Snapshots of every node, in creation order."""
        for node, attrs in self._nx.nodes(data=True):
            yield NodeView(id=node, **attrs)

    def edges_from(self, node: str) -> list[EdgeView]:
        """Every edge leaving ``node`` (to states, ``qed`` and failed leaves), in creation order."""
        return [EdgeView(source=node, target=child, **data) for child, data in self._nx.adj[node].items()]

    def edges(self) -> Iterator[EdgeView]:
        """Every edge of the graph."""
        for u, v, data in self._nx.edges(data=True):
            yield EdgeView(source=u, target=v, **data)

    def children(self, node: str) -> list[EdgeView]:
        """The edges from ``node`` to state nodes (failed leaves and ``qed`` excluded)."""
        return [edge for edge in self.edges_from(node) if self._nx.nodes[edge.target]["kind"] == "state"]

    def to_networkx(self) -> nx.DiGraph:
        """A copy as a ``networkx.DiGraph`` (attributes as stored), for analysis."""
        return self._nx.copy()

    def extract_proof(self, *, most_probable: bool = False) -> tuple[str, ...] | None:
        """Tactics of the shortest (or, with ``most_probable``, the highest total
        log-probability) path from the root to ``qed``; ``None`` while unproved."""
        if self.root_status != PROVED:
            return None
        proved = self._nx.subgraph(n for n, s in self._nx.nodes(data="status") if s == PROVED)
        if most_probable:
            path = nx.dijkstra_path(proved, self.root, QED, weight=lambda u, v, d: max(0.0, -d["logprob"]))
        else:
            path = nx.shortest_path(proved, self.root, QED)
        return tuple(self._nx.edges[u, v]["tactic"] for u, v in zip(path, path[1:]))

    def proof_text(self, *, most_probable: bool = False) -> str | None:
        """The extracted proof as newline-joined tactic text, the form ``verify`` checks."""
        tactics = self.extract_proof(most_probable=most_probable)
        return None if tactics is None else "\n".join(tactics)

    @property
    def state_count(self) -> int:
        """Distinct proof states discovered (the root and ``qed`` included)."""
        return len(self._by_key)

    @property
    def edge_count(self) -> int:
        """Edges in the graph (one per pair of nodes; further tactics are alternatives)."""
        return self._nx.number_of_edges()

    def __len__(self) -> int:
        return self._nx.number_of_nodes()

    # ------------------------------------------------------------------ export
    def to_json(self) -> str:
        """Lossless JSON of the graph (live backend states excepted)."""
        nodes = [{"id": n, **{k: list(v) if k == "goals" else v for k, v in a.items()}} for n, a in self._nx.nodes(data=True)]
        edges = [
            {"source": u, "target": v, **d, "alternatives": [asdict(r) for r in d["alternatives"]]}
            for u, v, d in self._nx.edges(data=True)
        ]
        return json.dumps(
            {"version": _JSON_VERSION, "root": self.root, "nodes": nodes, "edges": edges}, ensure_ascii=False
        )

    @classmethod
    def from_json(cls, text: str) -> "ProofGraph":
        """Rebuild a graph written by ``to_json`` (for analysis: it holds no live states)."""
        data = json.loads(text)
        if data.get("version") != _JSON_VERSION:
            raise ValueError(f"unsupported proof graph JSON version {data.get('version')!r}")
        self = cls.__new__(cls)
        self._nx = nx.DiGraph()
        self.root = data["root"]
        self._by_key, self._tried, self._states, self._histories = {}, {}, {}, {}
        for entry in data["nodes"]:
            attrs = dict(entry)
            node = attrs.pop("id")
            attrs["goals"] = tuple(attrs["goals"])
            self._nx.add_node(node, **attrs)
            if attrs["kind"] != "dead":
                self._by_key[attrs["key"]] = node
        for entry in data["edges"]:
            attrs = dict(entry)
            u, v = attrs.pop("source"), attrs.pop("target")
            attrs["alternatives"] = tuple(EdgeRecord(**r) for r in attrs["alternatives"])
            self._nx.add_edge(u, v, **attrs)
            for tactic in (attrs["tactic"], *(r.tactic for r in attrs["alternatives"])):
                self._tried[(u, tactic)] = v
        self._next_state = sum(1 for n in self._nx if n.startswith("s"))
        self._next_dead = sum(1 for n in self._nx if n.startswith("x"))
        return self

    def _stringified(self) -> nx.DiGraph:
        """A copy with every attribute a string, as GraphML and DOT writers need."""
        flat = nx.DiGraph()
        for node, attrs in self._nx.nodes(data=True):
            flat.add_node(node, **{k: _text(v) for k, v in attrs.items()})
        for u, v, attrs in self._nx.edges(data=True):
            flat.add_edge(u, v, **{k: _text(val) for k, val in attrs.items()})
        return flat

    def write_graphml(self, path) -> None:
        """Write GraphML (``networkx.write_graphml``) with attributes stringified."""
        nx.write_graphml(self._stringified(), path)

    def to_dot(self) -> str:
        """Graphviz DOT text with attributes stringified (no pydot/pygraphviz needed)."""
        flat = self._stringified()
        lines = ["digraph proof {"]
        for node, attrs in flat.nodes(data=True):
            lines.append(f"  {_quote(node)} [{_dot_attrs(attrs, label=attrs['key'] or node)}];")
        for u, v, attrs in flat.edges(data=True):
            lines.append(f"  {_quote(u)} -> {_quote(v)} [{_dot_attrs(attrs, label=attrs['tactic'])}];")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple) and value and isinstance(value[0], EdgeRecord):
        return json.dumps([asdict(r) for r in value], ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=list)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot_attrs(attrs: dict[str, str], *, label: str) -> str:
    return ", ".join(f"{k}={_quote(v)}" for k, v in {"label": label, **attrs}.items())
