"""The README's Python example runs as written, and ``prover report`` reads what it wrote."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from prover.cli.main import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_example() -> str:
    section = README.read_text(encoding="utf-8").split("### 3. Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_python_api_example_runs_and_its_runs_feed_the_report(tmp_path):
    example = _python_example()
    assert len(example.strip().splitlines()) <= 16
    result = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["best-first", "beam"] and all("/100" in line for line in lines)
    report = CliRunner().invoke(cli, ["report", str(tmp_path / "runs/api/best-first"), str(tmp_path / "runs/api/beam"),
                                      "--out", str(tmp_path / "runs/api")])
    assert report.exit_code == 0, report.output
    assert "| best-first | best-first | k=8, alpha=0.0, value_weight=1.0 |" in report.output and "| beam | beam | " in report.output
