"""Loading tactic models from a local directory or the Hugging Face hub, on either backend.

A directory written by ``prover train`` holds the model, its tokenizer and
``prover_config.json`` (prompt format and training config), so it loads without flags.
Every way a load can fail because of what the user asked for (a missing model, a format
that does not fit it, a device this machine lacks, code that needs ``trust_remote_code``,
a backend that is not installed) is one ``ModelLoadError`` line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Mapping

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer, GenerationConfig
from transformers.utils import logging as hf_logging

from prover.models.formats import PromptFormat, get_format
from prover.models.generation import CompletionProposer, GenerationSettings
from prover.models.transformers_proposer import TransformersProposer

__all__ = [
    "PROVER_CONFIG_FILE",
    "Backend",
    "ModelLoadError",
    "ModelNotFound",
    "check_device",
    "read_prover_config",
    "write_prover_config",
    "load_proposer",
]

PROVER_CONFIG_FILE = "prover_config.json"
Backend = Literal["transformers", "vllm"]
_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


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


def check_device(device: str) -> None:
    """Raise ``ModelLoadError`` when this machine has no such device (a CUDA device on a
    machine or torch build without CUDA, an index past the GPUs present, MPS off a Mac),
    or when ``device`` names no device at all (``banana``, ``cuda:x``)."""
    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError):
        kind = None
    if kind not in ("cpu", "cuda", "mps"):
        raise ModelLoadError(f"device {device!r}: not a device this project runs on; use cpu, cuda, cuda:N or mps")
    index = device.partition(":")[2]
    if kind == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU-only torch build" if torch.version.cuda is None else f"torch built for CUDA {torch.version.cuda}"
            raise ModelLoadError(f"device {device!r}: CUDA is not available on this machine ({build}, no GPU visible); use --device cpu")
        if index and int(index) >= torch.cuda.device_count():
            raise ModelLoadError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif kind == "mps" and not torch.backends.mps.is_available():
        raise ModelLoadError(f"device {device!r}: MPS is not available on this machine; use --device cpu")


def _looks_local(spec: str) -> bool:
    return spec.startswith((".", "/", "~")) or spec.count("/") != 1


def _hf_errors(spec: str, exc: Exception) -> ModelLoadError:
    """One line for what transformers raised while reading ``spec``."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, OSError):
        return ModelNotFound(f"{spec}: not a local directory, and the model hub could not provide it ({first})")
    if "trust_remote_code" in str(exc):
        return ModelLoadError(
            f"{spec}: this model's code ships with the model, not with transformers; pass --trust-remote-code "
            "to run it (read it first)"
        )
    return ModelLoadError(f"{spec}: {first}")


def load_proposer(
    path_or_hub_id: str | Path,
    *,
    format: str | None = None,
    backend: Backend = "transformers",
    device: str = "cpu",
    settings: GenerationSettings | Mapping[str, Any] | None = None,
    dtype: str = "auto",
    trust_remote_code: bool = False,
    engine_args: Mapping[str, Any] | None = None,
) -> CompletionProposer:
    """A proposer for a saved model directory or a hub id (``owner/name``).

    ``format`` defaults to the one recorded in the directory's ``prover_config.json``;
    ``settings`` is a full ``GenerationSettings``, or a mapping overriding the format's
    decoding defaults. ``dtype`` is ``auto`` (the checkpoint's) or a floating type name.
    ``backend="vllm"`` serves the model with a vLLM engine (``engine_args`` go to
    ``vllm.LLM``); close the proposer to stop it. Raises ``ModelNotFound`` when neither
    disk nor hub has the model, ``ModelLoadError`` for any other load the user cannot have.
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
    if dtype != "auto" and dtype not in _DTYPES:
        raise ModelLoadError(f"dtype {dtype!r}: expected auto, {', '.join(_DTYPES)}")
    check_device(device)
    chosen = settings if isinstance(settings, GenerationSettings) else GenerationSettings.for_format(fmt, **dict(settings or {}))
    hf_logging.disable_progress_bar()
    try:
        config = AutoConfig.from_pretrained(spec, trust_remote_code=trust_remote_code)
        tokenizer = AutoTokenizer.from_pretrained(spec, trust_remote_code=trust_remote_code)
        if backend == "vllm":
            return _vllm_proposer(spec, fmt, tokenizer, chosen, device=device, dtype=dtype,
                                  trust_remote_code=trust_remote_code, engine_args=engine_args or {})
        auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
        model = auto.from_pretrained(spec, dtype=_DTYPES.get(dtype, "auto"), trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        if isinstance(exc, ModelLoadError):
            raise
        raise _hf_errors(spec, exc) from None
    try:
        return TransformersProposer(model.to(device), tokenizer, fmt, settings=chosen, name=f"{Path(spec).name}:{fmt.name}")
    except ValueError as exc:
        raise ModelLoadError(f"{spec}: {exc}") from None


def _vllm_proposer(
    spec: str,
    fmt: PromptFormat,
    tokenizer: Any,
    settings: GenerationSettings,
    *,
    device: str,
    dtype: str,
    trust_remote_code: bool,
    engine_args: Mapping[str, Any],
) -> CompletionProposer:
    """Start a vLLM engine for ``spec`` after checking what would make it fail late."""
    from prover.models.vllm_proposer import VLLMProposer, start_engine, vllm_platform

    try:
        VLLMProposer.check(fmt, settings)
    except ValueError as exc:
        raise ModelLoadError(f"{spec}: {exc}") from None
    platform = vllm_platform()
    if platform != device.partition(":")[0]:
        raise ModelLoadError(f"the installed vLLM runs on {platform}, not {device!r}; pass --device {platform}")
    try:
        eos = GenerationConfig.from_pretrained(spec).eos_token_id
    except OSError:
        eos = None
    llm = start_engine(spec, dtype=dtype, trust_remote_code=trust_remote_code, **engine_args)
    return VLLMProposer(llm, tokenizer, fmt, settings, eos=eos, name=f"vllm:{Path(spec).name}:{fmt.name}")
