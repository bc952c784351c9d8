"""Fixtures shared by every test area: where the shared datasets live, and the CLI run in-process."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """``../shared/datasets`` beside the repository (present for every developer and in CI)."""
    if not SHARED_DATASETS.is_dir():
        pytest.fail(f"shared datasets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def interruptible() -> dict:
    """``subprocess.Popen`` arguments that give the child Ctrl-C as in a terminal: a test
    runner started as a background job by a shell without job control inherits SIGINT
    ignored, and so would the child, which then never sees the SIGINT the test sends."""
    return {"preexec_fn": _sigint_default}


@pytest.fixture
def one_thread():
    """Torch single-threaded for the test: tiny models run fastest so, and far faster when
    other jobs share the cores. Areas that use torch make it autouse in their conftest."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def invoke():
    """Run the CLI in this process with click's ``CliRunner``: ``invoke("bench", ...)`` gives
    the result, and a traceback surfaces as the exception itself rather than an exit code."""
    from click.testing import CliRunner

    from prover.cli.main import cli

    def run(*args: str, env: dict | None = None):
        result = CliRunner().invoke(cli, list(args), env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return run
