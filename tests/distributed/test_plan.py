"""The Ray layer without a running cluster: the actors planned from config.ray and the
cluster's resources, the [ray] config table, and the one-line errors of --ray."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from prover import ProverConfig, load_config, override
from prover.cli.main import cli
from prover.config import ConfigError
from prover.distributed import ClusterError, plan_actors

GPU_NODES = {"CPU": 64.0, "GPU": 8.0, "memory": 5e11, "node:10.0.0.1": 1.0}
LAPTOP = {"CPU": 2.0}


def plan(cluster, env_kind="sandbox", **settings):
    config = override(ProverConfig(), [(key.replace("__", "."), value) for key, value in settings.items()])
    return plan_actors(config, env_kind, cluster)


def test_unset_counts_fill_the_cluster():
    laptop = plan(LAPTOP)
    assert (laptop.model_actors, laptop.workers) == (1, 1)
    assert laptop.model_options["num_gpus"] == 0 and laptop.worker_options["num_cpus"] == 1
    gpus = plan(GPU_NODES, model__device="cuda")
    assert (gpus.model_actors, gpus.workers) == (8, 56) and gpus.model_options["num_gpus"] == 1
    lean = plan(GPU_NODES, env_kind="repl", model__device="cuda", env__limits__workers=8)
    assert lean.workers == 7 and lean.worker_options["num_cpus"] == 8


def test_explicit_counts_and_resources_become_ray_options():
    explicit = plan(GPU_NODES | {"lean": 4.0}, ray__model_actors=2, ray__model_gpus=2, ray__workers=4,
                    ray__worker_cpus=4, ray__worker_resources={"lean": 1}, ray__max_restarts=5)
    assert (explicit.model_actors, explicit.workers) == (2, 4)
    assert explicit.model_options == {"num_cpus": 1.0, "num_gpus": 2, "resources": {}, "max_restarts": 5, "max_task_retries": -1}
    assert explicit.worker_options["resources"] == {"lean": 1} and explicit.worker_options["num_cpus"] == 4
    assert plan(LAPTOP, ray__model_actors=0).model_actors == 0
    own = plan(GPU_NODES, model__device="cuda", ray__model_actors=0, ray__worker_cpus=4)
    assert own.workers == 8 and own.worker_options["num_gpus"] == 1, "without model actors each worker holds the model"
    assert plan(LAPTOP, ray__max_restarts=0).worker_options["max_task_retries"] == 0


@pytest.mark.parametrize("settings, message", [
    ({"model__device": "cuda"}, "cannot place 1 model actor(s) asking for {'CPU': 1.0, 'GPU': 1.0} each: the cluster has {'CPU': 2.0, 'GPU': 0.0}"),
    ({"ray__workers": 3}, "cannot place 3 search worker(s) asking for {'CPU': 1.0} each: the cluster has {'CPU': 1.0} for them"),
    ({"ray__worker_resources": {"lean": 1}}, "asking for {'CPU': 1.0, 'lean': 1} each: the cluster has {'CPU': 1.0, 'lean': 0.0}"),
])
def test_actors_that_cannot_fit_are_one_line(settings, message):
    with pytest.raises(ClusterError, match="lower ray") as error:
        plan(LAPTOP, **settings)
    assert message in str(error.value)


def test_the_ray_table_is_read_and_checked_like_every_other(tmp_path):
    path = tmp_path / "cluster.toml"
    path.write_text('[ray]\nenabled = true\naddress = "10.0.0.1:6379"\nworkers = 16\nworker_resources = { lean = 2 }\n')
    config = load_config(path)
    assert config.ray.enabled and config.ray.address == "10.0.0.1:6379" and config.ray.worker_resources == {"lean": 2}
    assert hash(config) == hash(load_config(path))
    path.write_text('[ray]\nworker_resources = { lean = "two" }\n')
    with pytest.raises(ConfigError, match="worker_resources.lean must be a finite number >= 0"):
        load_config(path)


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


BENCH = ["bench", "--dataset", "sandbox:valid", "--limit", "2"]


def test_an_address_where_no_cluster_answers_is_one_line(tmp_path):
    result = invoke(*BENCH, "--ray", "127.0.0.1:1", "--out", str(tmp_path / "run"))
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "no Ray cluster answers at 127.0.0.1:1" in result.output and not (tmp_path / "run").exists()
    result = invoke(*BENCH, "--ray", "head-node", "--out", str(tmp_path / "run"))
    assert result.exit_code == 2 and "is not HOST:PORT, 'auto' or 'local'" in result.output


def test_without_ray_installed_the_option_says_what_to_install(tmp_path, monkeypatch):
    for name in [name for name in sys.modules if name == "ray" or name.startswith(("ray.", "prover.distributed"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)
    result = invoke(*BENCH, "--ray", "--out", str(tmp_path / "run"))
    assert result.exit_code == 2
    assert result.output.strip() == "Error: Ray is not installed: pip install 'lean-prover-agent[ray]'"
