"""The proof-graph HTML page (``prover prove --graph g.html``) at realistic and large sizes.

Graphs: the README's three-hypothesis example (proved), and a best-first search of a
non-theorem that runs to the budget (``--expansions``, about 2,000 nodes at 470), both with
the model-free baseline. For each page: its size, the time ``graph_to_html`` takes, and, in
headless Chromium (Debian's ``chromium`` package), the height of the laid-out page, where
the proof (or closest-state) path starts, and the time from navigation start to the end
of the load event, read from the page itself (a measuring script is appended to a copy).
Each Chromium figure is the median of ``--repeat`` fresh browser runs.

Run: ``.venv/bin/python benchmarks/bench_graph_page.py`` (``apt-get install chromium`` first).
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from prover import Agent, BestFirst, Budget
from prover.render import graph_to_html

CASES = {
    "README example (proved)": ("theorem t (p q r : Prop) (h : p ∨ q) (hp : p → r) (hq : q → r) : r := by", 200),
    "non-theorem, budget spent": ("theorem t (p q r s : Prop) : (p → q) → (r → s) → p ∨ r → q ∧ s := by", None),
}

_MEASURE = """<script>
addEventListener('load', () => setTimeout(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const path = document.querySelector('.path');
  const tree = document.querySelector('details');
  document.body.setAttribute('data-measure', JSON.stringify({
    height: document.documentElement.scrollHeight,
    path_top: path ? path.getBoundingClientRect().top + scrollY : null,
    first_tree_node: tree ? tree.id + (tree.open ? ' (open)' : ' (closed)') : null,
    load_ms: nav.loadEventEnd - nav.startTime}));
}, 0));
</script>"""


def browser() -> str | None:
    """The headless Chromium executable, if installed."""
    return next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)


def measure(page: str, executable: str, repeat: int) -> dict:
    """Median layout figures of ``page`` over ``repeat`` fresh headless Chromium runs."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "page.html"
        path.write_text(page.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
        for _ in range(repeat):
            started = time.perf_counter()
            out = subprocess.run([executable, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                                  "--virtual-time-budget=5000", "--dump-dom", path.as_uri()],
                                 capture_output=True, text=True, timeout=120)
            wall = time.perf_counter() - started
            found = re.search(r"data-measure=\"([^\"]*)\"", out.stdout)
            if not found:
                raise RuntimeError(f"no measurement in Chromium's output: {out.stderr[-500:]}")
            runs.append({**json.loads(found.group(1).replace("&quot;", '"')), "process_s": wall})
    return {key: statistics.median(r[key] for r in runs) if isinstance(runs[0][key], (int, float)) else runs[0][key]
            for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--expansions", type=int, default=470, help="budget of the large search")
    parser.add_argument("--repeat", type=int, default=3, help="Chromium runs per page")
    args = parser.parse_args()
    executable = browser()
    rich = "result" in inspect.signature(graph_to_html).parameters
    print(f"Chromium: {executable or 'not installed'}; header arguments supported: {rich}")
    with Agent.from_config() as agent:
        for label, (statement, budget) in CASES.items():
            theorem = agent.theorem(statement)
            result = agent.prove(theorem, policy=BestFirst(k=8), budget=Budget(max_expansions=budget or args.expansions))
            started = time.perf_counter()
            page = (graph_to_html(result.graph, result=result, theorem=theorem) if rich
                    else graph_to_html(result.graph))
            render_ms = 1000 * (time.perf_counter() - started)
            line = (f"{label}: {len(result.graph)} nodes ({result.status}); page {len(page.encode()) / 1024:.0f} KiB, "
                    f"built in {render_ms:.0f} ms")
            if executable:
                m = measure(page, executable, args.repeat)
                line += (f"; in Chromium: {m['height']:,.0f} px tall, path starts at {m['path_top'] or 0:,.0f} px, "
                         f"first tree node {m['first_tree_node']}, load {m['load_ms']:.0f} ms "
                         f"(whole headless run {m['process_s']:.1f} s)")
            print(line)


if __name__ == "__main__":
    main()
