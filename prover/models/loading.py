"""Loading tactic models from a local directory or the Hugging Face hub.

A directory written by ``prover train`` holds the model, its tokenizer and
``prover_config.json`` (prompt format and training config), so it loads without flags.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
from transformers.utils import logging as hf_logging

from prover.models.formats import get_format
from prover.models.transformers_proposer import GenerationSettings, TransformersProposer

__all__ = [
    "PROVER_CONFIG_FILE",
    "ModelLoadError",
    "ModelNotFound",
    "read_prover_config",
    "write_prover_config",
    "load_proposer",
]

PROVER_CONFIG_FILE = "prover_config.json"


class ModelLoadError(ValueError):
    """A model cannot be loaded as asked (a user input error)."""


class ModelNotFound(ModelLoadError):
    """Neither a local directory nor a reachable hub repository has this model."""


def read_prover_config(directory: str | Path) -> dict[str, Any]:
    """The ``prover_config.json`` of a model directory, or ``{}`` when it has none."""
    path = Path(directory) / PROVER_CONFIG_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_prover_config(directory: str | Path, data: dict[str, Any]) -> None:
    """Record the prompt format and training settings next to saved weights."""
    (Path(directory) / PROVER_CONFIG_FILE).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _looks_local(spec: str) -> bool:
    return spec.startswith((".", "/", "~")) or spec.count("/") != 1


def load_proposer(
    path_or_hub_id: str | Path,
    *,
    format: str | None = None,
    device: str = "cpu",
    settings: GenerationSettings = GenerationSettings(),
    dtype: torch.dtype | None = None,
    trust_remote_code: bool = False,
) -> TransformersProposer:
    """A ``TransformersProposer`` for a saved model directory or a hub id (``owner/name``).

    ``format`` defaults to the one recorded in the directory's ``prover_config.json``.
    Raises ``ModelNotFound`` when the path does not exist and the hub cannot supply it,
    ``ModelLoadError`` when the format is missing or does not fit the model.
    """
    spec = str(path_or_hub_id)
    local = Path(spec).expanduser()
    if local.is_dir():
        spec = str(local)
    elif _looks_local(spec):
        raise ModelNotFound(f"model directory not found: {spec}")
    fmt_name = format or (read_prover_config(local).get("format") if local.is_dir() else None)
    if fmt_name is None:
        raise ModelLoadError(f"{spec}: no prompt format recorded; pass a format (e.g. bfs-prover, reprover)")
    fmt = get_format(fmt_name)
    try:
        hf_logging.disable_progress_bar()
        config = AutoConfig.from_pretrained(spec, trust_remote_code=trust_remote_code)
        auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
        tokenizer = AutoTokenizer.from_pretrained(spec, trust_remote_code=trust_remote_code)
        model = auto.from_pretrained(spec, dtype=dtype, trust_remote_code=trust_remote_code)
    except OSError as exc:
        raise ModelNotFound(
            f"{spec}: not a local directory, and the model hub could not provide it ({str(exc).splitlines()[0]})"
        ) from None
    try:
        return TransformersProposer(model.to(device), tokenizer, fmt, settings=settings, name=f"{Path(spec).name}:{fmt.name}")
    except ValueError as exc:
        raise ModelLoadError(f"{spec}: {exc}") from None
