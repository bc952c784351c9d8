"""Runs spread over a real local Ray instance: the records, files, resume, faults and
errors of a local run (this tier starts Ray once per module; see conftest.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray
from click.testing import CliRunner

from prover import Agent, ProverConfig, load_dataset, override, runtime
from prover.cli.main import cli
from prover.distributed import ClusterError, RayAgent, WorkerHost, WorkerPool, start_actors, stop_actors
from prover.baseline import BaselineProposer
from prover.runs import MANIFEST_FILE, RESULTS_FILE
from propsandbox import SandboxEnvironment
from search import GoalHeuristic

pytestmark = pytest.mark.slow

PROVER = [sys.executable, "-m", "prover.cli"]
DATASET = "sandbox:valid"
THEOREMS = 24
SEARCH = [("model.temperature", 1.0), ("budget.max_expansions", 40), ("run.attempts", 2), ("scheduler.max_concurrent", 2)]
ON_RAY = [("ray.enabled", True), ("ray.workers", 2), ("ray.model_cpus", 0.5), ("ray.worker_cpus", 0.5)]
BENCH = ["bench", "--dataset", DATASET, "--limit", str(THEOREMS), "--max-expansions", "40", "--temperature", "1",
         "--attempts", "2", "--concurrency", "2", "--set", "ray.workers=2", "--set", "ray.model_cpus=0.5",
         "--set", "ray.worker_cpus=0.5"]


def invoke(*args: str):
    """Run the CLI in this process; a traceback would surface as ``result.exception``."""
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def comparable(records) -> list[dict]:
    """Records as dicts without their timing fields, in (theorem, attempt) order."""
    rows = []
    for record in records:
        row = dataclasses.asdict(record) if dataclasses.is_dataclass(record) else dict(record)
        row.pop("timings")
        row["spent"] = {k: v for k, v in row["spent"].items() if k != "seconds"}
        row["findings"] = list(row["findings"])
        rows.append(row)
    return sorted(rows, key=lambda row: (row["theorem"], row["attempt"]))


def stored(directory: Path) -> list[dict]:
    lines = (directory / RESULTS_FILE).read_text(encoding="utf-8").splitlines()
    return comparable(json.loads(line) for line in lines if line.strip())


def wait_for_lines(path: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_text(encoding="utf-8").count("\n") >= count:
            return
        time.sleep(0.01)


@pytest.fixture(scope="module")
def data():
    return load_dataset(DATASET).limit(THEOREMS)


@pytest.fixture(scope="module")
def reference(data) -> list[dict]:
    """The records of the same run made locally, in one process."""
    with Agent.from_config(override(ProverConfig(), SEARCH)) as agent:
        run = agent.run(data)
    assert len(run.records) == 2 * THEOREMS
    return comparable(run.records)


def test_a_run_on_two_workers_records_what_a_local_run_records(ray_cluster, data, reference):
    with RayAgent.from_config(override(ProverConfig(), SEARCH + ON_RAY)) as agent:
        assert len(agent.cluster.models) == 1 and len(agent.cluster.pool.actors) == 2
        run = agent.run(data)
        proved = agent.prove("theorem t (p q : Prop) : p ∧ q → q ∧ p := by")
    assert comparable(run.records) == reference
    assert len({record.key for record in run.records}) == len(run.records)
    assert proved.proved and proved.verdict.ok and proved.spent.expansions > 0
    assert proved.graph.edge_count == 0, "proof graphs stay on the workers"


def test_a_value_model_in_the_model_actor_guides_the_searches_as_it_does_locally(ray_cluster, data):
    config = override(ProverConfig(), SEARCH)
    few = data.limit(8)
    with Agent(env=SandboxEnvironment(), proposer=BaselineProposer(temperature=1.0), value=GoalHeuristic(), config=config) as agent:
        local = agent.run(few)
    with RayAgent.from_config(override(config, ON_RAY), value=GoalHeuristic) as agent:
        assert agent.value.name == "goal-heuristic" and agent.describe(agent._policy(None), config.budget, attempts=2, seed=0)["value"] == "goal-heuristic"
        remote = agent.run(few)
    assert comparable(remote.records) == comparable(local.records)
    assert any(record.spent.get("evaluations", 0) > 0 for record in remote.records)


def test_a_proposer_error_reaches_its_search_alone_as_it_does_locally(ray_cluster, data):
    class Refusing:
        """The baseline, refusing every query about one theorem."""

        name, kind = "refusing", "tactic"

        def __init__(self):
            self.inner = BaselineProposer(temperature=1.0)

        def propose(self, queries, k):
            if any(query.theorem.name == "sb_valid_0002" for query in queries):
                raise ValueError("no candidates for sb_valid_0002")
            return self.inner.propose(queries, k)

    few, config = data.limit(6), override(ProverConfig(), SEARCH)
    with Agent(env=SandboxEnvironment(), proposer=Refusing(), config=config) as agent:
        local = agent.run(few)
    with RayAgent.from_config(override(config, ON_RAY), proposer=Refusing) as agent:
        remote = agent.run(few)
    assert comparable(remote.records) == comparable(local.records)
    errors = [record for record in remote.records if record.status == "error"]
    assert {record.theorem for record in errors} == {"sb_valid_0002"} and "no candidates" in errors[0].error


def test_bench_on_ray_writes_the_files_of_a_local_run_and_resumes(ray_cluster, reference, tmp_path):
    out = tmp_path / "run"
    result = invoke(*BENCH, "--ray", "--set", "ray.model_actors=0", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"({2 * THEOREMS} attempts recorded, 0 errors)" in result.output
    assert stored(out) == reference
    manifest = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["config"]["ray"]["enabled"] is True and manifest["config"]["ray"]["model_actors"] == 0
    again = invoke(*BENCH, "--ray", "--set", "ray.model_actors=0", "--out", str(out), "--resume")
    assert again.exit_code == 0, again.output
    assert stored(out) == reference
    # where the searches ran cannot alter a finished record: the run resumes without Ray
    local = invoke(*BENCH, "--out", str(out), "--resume")
    assert local.exit_code == 0, local.output
    changed = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))["resumes"][-1]["changed"]
    assert changed == {"ray.enabled": [True, False], "ray.model_actors": [0, None]}
    assert stored(out) == reference


def kill_on_records(victims: dict[int, int]):
    """An ``on_result`` callback that SIGKILLs process ``pid`` once record number ``n`` is in."""
    seen = []

    def on_result(record, result) -> None:
        seen.append(record.key)
        if len(seen) in victims:
            os.kill(victims[len(seen)], signal.SIGKILL)

    return on_result


def test_a_worker_and_the_model_actor_killed_mid_run_are_restarted_and_their_calls_retried(ray_cluster, data, reference):
    with RayAgent.from_config(override(ProverConfig(), SEARCH + ON_RAY)) as agent:
        actors = [*agent.cluster.pool.actors, *agent.cluster.models]
        before = ray.get([actor.ready.remote() for actor in actors])
        run = agent.run(data, on_result=kill_on_records({1: before[0].pid, 8: before[2].pid}))
        after = ray.get([actor.ready.remote() for actor in actors])
    assert [a.pid != b.pid for a, b in zip(after, before)] == [True, False, True], "worker 0 and the model restarted"
    assert comparable(run.records) == reference
    assert len({record.key for record in run.records}) == len(run.records)


def test_a_worker_lost_for_good_hands_its_searches_to_the_others(ray_cluster, data, reference):
    with RayAgent.from_config(override(ProverConfig(), SEARCH + ON_RAY + [("ray.max_restarts", 0)])) as agent:
        first = ray.get(agent.cluster.pool.actors[0].ready.remote())
        run = agent.run(data, on_result=kill_on_records({1: first.pid}))
    assert comparable(run.records) == reference


def test_a_model_actor_lost_for_good_stops_the_run_and_keeps_its_records(ray_cluster, data, reference, tmp_path):
    with RayAgent.from_config(override(ProverConfig(), SEARCH + ON_RAY + [("ray.max_restarts", 0)])) as agent:
        model = ray.get(agent.cluster.models[0].ready.remote())
        with pytest.raises(ClusterError, match="model actor lost.*continue with --resume"):
            agent.run(data, out=tmp_path / "run", on_result=kill_on_records({2: model.pid}))
    kept = stored(tmp_path / "run")
    assert 2 <= len(kept) < len(reference) and all(row in reference for row in kept)


def test_a_driver_killed_with_sigkill_resumes_without_loss(ray_cluster, reference, tmp_path):
    out = tmp_path / "run"
    args = [*BENCH, "--ray", ray_cluster, "--out", str(out)]
    driver = subprocess.Popen([*PROVER, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_lines(out / RESULTS_FILE, 3, driver)
    driver.kill()
    driver.wait()
    partial = (out / RESULTS_FILE).read_text(encoding="utf-8").count("\n")
    assert 3 <= partial < 2 * THEOREMS, "the driver must be killed mid-run for this test to mean anything"
    resumed = invoke(*args, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert stored(out) == reference


def test_ctrl_c_on_the_driver_keeps_finished_records(ray_cluster, reference, tmp_path, interruptible):
    out = tmp_path / "run"
    args = [*BENCH, "--ray", ray_cluster, "--out", str(out)]
    driver = subprocess.Popen([*PROVER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **interruptible)
    wait_for_lines(out / RESULTS_FILE, 3, driver)
    driver.send_signal(signal.SIGINT)
    _, stderr = driver.communicate(timeout=120)
    assert driver.returncode == 130, stderr
    assert "interrupted" in stderr and "--resume" in stderr and "Traceback" not in stderr
    resumed = invoke(*args, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert stored(out) == reference


CHECKED = """theorem swap (p q : Prop) : p ∧ q → q ∧ p := by
  intro h
  exact ⟨h.2, h.1⟩

theorem wrong (p q : Prop) : p ∨ q → p := by
  intro h
  exact h

theorem cheat (p : Prop) : p := by
  sorry

theorem term_mode (p : Prop) : p → p := fun h => h

theorem both (p q : Prop) (hp : p) (hq : q) : p ∧ q := by
  constructor
  exact hp
  exact hq
"""


def test_check_on_ray_gives_the_verdicts_of_a_local_check_and_resumes(ray_cluster, tmp_path):
    lean = tmp_path / "mine.lean"
    lean.write_text(CHECKED)

    def verdicts(result) -> list[dict]:
        rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
        return sorted(({k: v for k, v in row.items() if k != "seconds"} for row in rows), key=lambda row: row["name"])

    local = invoke("check", str(lean), "--env", "sandbox")
    on_ray = invoke("check", str(lean), "--env", "sandbox", "--ray", "--set", "ray.workers=2", "--set", "ray.worker_cpus=0.5",
                    "--out", str(tmp_path / "run"))
    assert local.exit_code == on_ray.exit_code == 1, on_ray.output
    assert verdicts(on_ray) == verdicts(local) and len(verdicts(local)) == 5
    assert "checked 5 of 5 proofs with sandbox on 2 Ray workers: 2 ok, 2 failed, 1 skipped" in on_ray.output
    assert len((tmp_path / "run" / RESULTS_FILE).read_text(encoding="utf-8").splitlines()) == 5
    again = invoke("check", str(lean), "--env", "sandbox", "--ray", "--set", "ray.workers=2", "--set", "ray.worker_cpus=0.5",
                   "--out", str(tmp_path / "run"), "--resume")
    assert again.exit_code == 1 and verdicts(again) == [], "resume checks nothing twice"


def test_a_worker_that_cannot_start_is_one_line_naming_its_node(ray_cluster, tmp_path):
    missing = tmp_path / "no-lean-project"
    result = invoke(*BENCH, "--env", "repl", "--lean-project", str(missing), "--ray", "--out", str(tmp_path / "run"))
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "search worker 0 on node" in line and ray.util.get_node_ip_address() in line and str(missing) in line
    assert not (tmp_path / "run").exists()


def test_actors_the_cluster_cannot_hold_are_refused_before_starting(ray_cluster, tmp_path):
    result = invoke(*BENCH, "--ray", "--set", "ray.workers=8", "--set", "ray.worker_cpus=1", "--out", str(tmp_path / "r"))
    assert result.exit_code == 2, result.output
    assert "cannot place 8 search worker(s) asking for {'CPU': 1} each: the cluster has {'CPU': 1.5} for them" in result.output


def test_the_pool_streams_any_items_through_any_work(ray_cluster):
    class Scale:
        """A work that is not a search: each item times the run's context, tagged with the worker."""

        def __init__(self, index: int):
            self.index = index

        async def __call__(self, context: int, item: int) -> tuple[int, int]:
            return self.index, item * context

        async def aclose(self) -> None:
            pass

    actors, reports = start_actors(WorkerHost, [(Scale, index) for index in range(2)], options={"num_cpus": 0.25},
                                   what="scaler", timeout_s=120)
    pool = WorkerPool(actors, capacity=3, retries=1, what="scaler")

    async def collect() -> list:
        return [pair async for pair in pool.stream([*range(10), 3], context=7, key=lambda item: item)]

    try:
        pairs = runtime.run(collect())
    finally:
        runtime.run(stop_actors(actors))
    assert sorted(item for item, _ in pairs) == list(range(10)), "each item once, by key"
    assert all(output[1] == 7 * item for item, output in pairs)
    assert {output[0] for _, output in pairs} == {0, 1} and {r.node for r in reports} == {reports[0].node}
