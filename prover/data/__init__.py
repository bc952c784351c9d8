"""Datasets: theorem JSONL files and the MiniF2F catalogue."""

from prover.data.datasets import SPEC_HELP, Dataset, load_dataset, parse_spec
from prover.data.jsonl import DatasetError, load_theorems, read_jsonl
from prover.data.minif2f import (
    KnownIssue,
    MiniF2FNotFound,
    category,
    download_minif2f,
    load_known_issues,
    load_minif2f,
)

__all__ = [
    "Dataset",
    "SPEC_HELP",
    "load_dataset",
    "parse_spec",
    "DatasetError",
    "KnownIssue",
    "MiniF2FNotFound",
    "category",
    "download_minif2f",
    "load_known_issues",
    "load_minif2f",
    "load_theorems",
    "read_jsonl",
]
