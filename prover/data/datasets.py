"""Theorem datasets, named by one spec syntax shared by ``bench``, ``train`` and the API:
``sandbox:<train|valid|test>``, ``minif2f:<valid|test>``, or the path of a JSONL file."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Mapping

from lean_env.types import Theorem
from prover.data.jsonl import DatasetError, OnError, load_theorems
from prover.data.minif2f import category, load_minif2f

__all__ = ["DatasetKind", "Dataset", "parse_spec", "load_dataset", "SPEC_HELP"]

DatasetKind = Literal["sandbox", "minif2f", "file", "inline"]
SPEC_HELP = "sandbox:train|valid|test, minif2f:valid|test, or a JSONL file"
_SPLITS = {"sandbox": ("train", "valid", "test"), "minif2f": ("valid", "test")}


@dataclass(frozen=True)
class Dataset:
    """Theorems with where they came from: ``name`` is the spec (or a label), ``source``
    what a run's manifest records about them."""

    name: str
    kind: DatasetKind
    theorems: tuple[Theorem, ...]
    source: Mapping[str, Any] = field(default_factory=dict)

    def category(self, theorem: Theorem) -> str:
        """The group a theorem is reported under: its competition family for MiniF2F, else the dataset's name."""
        return category(theorem.name) if self.kind == "minif2f" else self.name

    def limit(self, count: int | None) -> "Dataset":
        """The first ``count`` theorems (all when ``None``)."""
        return self if count is None else replace(self, theorems=self.theorems[:count])

    def spread(self, count: int | None) -> "Dataset":
        """``count`` theorems evenly spaced over the dataset (all when ``None``): a sample of
        every tier where theorems are ordered by difficulty, as the sandbox splits are."""
        if count is None or count >= len(self.theorems):
            return self
        picked = tuple(self.theorems[(i * len(self.theorems)) // count] for i in range(count))
        return replace(self, theorems=picked, source={**self.source, "spread": count})

    def describe(self) -> dict[str, Any]:
        """The manifest's record of this dataset."""
        return {"name": self.name, "kind": self.kind, **self.source, "count": len(self.theorems)}


def parse_spec(spec: str) -> tuple[DatasetKind, str]:
    """``(kind, split or path)`` of a dataset spec; ``DatasetError`` says what is allowed."""
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in _SPLITS:
        if rest not in _SPLITS[prefix]:
            raise DatasetError(f"unknown {prefix} split {rest!r}; choose from {', '.join(_SPLITS[prefix])}")
        return prefix, rest  # type: ignore[return-value]
    if Path(spec).is_file():
        return "file", spec
    raise DatasetError(f"unknown dataset {spec!r}: use {SPEC_HELP}")


def load_dataset(
    spec: str, *, minif2f_path: Path | None = None, on_bad_line: OnError = "stop", skipped: list[str] | None = None
) -> Dataset:
    """The theorems named by ``spec``; broken JSONL lines stop the load or, with
    ``on_bad_line="skip"``, are listed in ``skipped``."""
    kind, arg = parse_spec(spec)
    if kind == "sandbox":
        from propsandbox import SANDBOX_DATA_VERSION, load_split

        theorems = tuple(item.theorem for item in load_split(arg))
        return Dataset(spec, kind, theorems, {"version": SANDBOX_DATA_VERSION})
    if kind == "minif2f":
        theorems = load_minif2f(minif2f_path, split=arg)
        return Dataset(spec, kind, theorems, {"path": str(minif2f_path) if minif2f_path else None})
    theorems = load_theorems(Path(arg), on_error=on_bad_line, skipped=skipped)
    return Dataset(Path(arg).name, kind, theorems, {"path": str(Path(arg).resolve())})
