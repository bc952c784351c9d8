"""A real local Ray instance shared by a test module: started once (the slow part of this
tier), loopback-local (this machine only, no dashboard), and stopped after with every
process it started gone."""

from __future__ import annotations

import shutil
import tempfile
import time

import psutil
import pytest

_STOP_WAIT_S = 30.0


@pytest.fixture(scope="module")
def ray_cluster():
    """``ray.init`` of a new local instance with 2 logical CPUs; yields its GCS address
    (what ``--ray ADDRESS`` takes). Teardown fails if a Ray process outlives ``ray.shutdown``."""
    import ray

    temp_dir = tempfile.mkdtemp(prefix="ray")  # short: Ray's socket paths live under it
    started = time.perf_counter()
    context = ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=256 * 2**20,
                       _temp_dir=temp_dir)
    print(f"\nRay started in {time.perf_counter() - started:.1f}s")
    try:
        yield context.address_info["gcs_address"]
    finally:
        processes = psutil.Process().children(recursive=True)
        ray.shutdown()
        _, alive = psutil.wait_procs(processes, timeout=_STOP_WAIT_S)
        for process in alive:
            process.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)
        assert not alive, f"Ray processes left after shutdown: {[p.pid for p in alive]}"
