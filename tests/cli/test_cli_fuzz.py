"""No traceback for any input: every CLI command, driven with random option values and
random files, ends with exit code 0, 1, 2 or 130 and never prints a ``Traceback``.

Each command is a row of ``COMMANDS``: the words that name it, the strategy of its
arguments and options (values valid and invalid alike, files of every kind from
``files``), options put first that keep a run small (the random ones come later, and the
last occurrence of an option wins, so random values still reach every option), and how
many examples to try. A new command or option is a new row or a new entry of a row.

The examples are derandomized so that the suite is reproducible; set
``PROVER_FUZZ_EXAMPLES=N`` to run N times as many, from a random start, when hunting.
Values that reach known faults of other areas are left out, each naming its issue, and
kept as expected failures at the end of this file.
"""

from __future__ import annotations

import json
import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prover.cli.main import cli

EXIT_CODES = {0, 1, 2, 130}
SCALE = int(os.environ.get("PROVER_FUZZ_EXAMPLES", "1"))
DEMO = "theorem t (p q : Prop) : p ∧ q → q ∧ p := by"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Inputs of every kind a user might point an option at."""
    root = tmp_path_factory.mktemp("fuzz-files")
    made = {
        "missing": root / "no-such-file",
        "directory": root / "a-directory",
        "empty": root / "empty.jsonl",
        "bytes": root / "bytes.bin",
        "dataset": root / "dataset.jsonl",
        "broken-dataset": root / "broken.jsonl",
        "lean-dataset": root / "lean.jsonl",
        "config": root / "config.toml",
        "bad-config": root / "bad.toml",
        "yaml-config": root / "config.yaml",
        "lean-file": root / "demo.lean",
        "proofs": root / "proofs.jsonl",
        "known-issues": root / "known_issues.json",
        "run": root / "run",
        "damaged-run": root / "damaged-run",
    }
    made["directory"].mkdir()
    made["empty"].write_bytes(b"")
    made["bytes"].write_bytes(bytes(range(256)) * 4)
    made["dataset"].write_text("".join(json.dumps({"name": f"d{i}", "formal_statement": DEMO.replace(" t ", f" d{i} ")})
                                       + "\n" for i in range(3)))
    made["broken-dataset"].write_text(json.dumps({"name": "a", "formal_statement": DEMO}) + "\n{broken\n[1]\n")
    made["lean-dataset"].write_text(json.dumps({"name": "n", "formal_statement": "theorem n (x : Nat) : x = x := by"}))
    made["config"].write_text('[policy]\nname = "beam"\nparams = { width = 2 }\n[budget]\nmax_expansions = 5\n')
    made["bad-config"].write_text('[budget]\nmax_expansions = "many"\n[nope]\n')
    made["yaml-config"].write_text("policy: [1, 2\n")
    made["lean-file"].write_text(f"theorem other (p : Prop) : p → p := by\n  intro h\n  exact h\n\n{DEMO}\n  sorry\n")
    made["proofs"].write_text("".join(json.dumps(record) + "\n" for record in [
        {"name": "t", "formal_statement": DEMO, "proof": "intro h\nexact ⟨h.2, h.1⟩"},
        {"name": "t", "formal_statement": DEMO, "proof": "sorry"},
        {"code": f"{DEMO}\n  simp"}]))
    made["known-issues"].write_text(json.dumps({"issues": [{"name": "d0", "split": "valid", "issue": "x"}]}))
    for name in ("run", "damaged-run"):
        result = CliRunner().invoke(cli, ["bench", "--dataset", str(made["dataset"]), "--max-expansions", "5",
                                          "--out", str(made[name])])
        assert result.exit_code == 0, result.output
    with open(made["damaged-run"] / "results.jsonl", "ab") as handle:
        handle.write(b"\xff{garbage\n[]\n")
    return made


def _scratch(files: dict[str, Path]) -> Path:
    return files["directory"].parent / "scratch"


# ---------------------------------------------------------------------------- value strategies

JUNK = st.sampled_from(["", " ", "-1", "0", "nan", "inf", "1e9", "true", "null", "[1]", "{}", "x=y", "--", "é\u0000",
                        "\udcff", "../..", "a" * 300])


def mostly(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``valid`` seven times in eight, else junk: a run then gets past option parsing often
    enough to reach the code behind it."""
    return st.integers(0, 7).flatmap(lambda n: JUNK if n == 0 else valid)


def ints(low: int, high: int) -> st.SearchStrategy[str]:
    """An option's integer value in ``low..high``, or junk."""
    return mostly(st.integers(low, high).map(str))


def floats(low: float, high: float) -> st.SearchStrategy[str]:
    return mostly(st.floats(low, high, allow_nan=False).map(lambda x: f"{x:.3g}"))


def choices(*values: str) -> st.SearchStrategy[str]:
    return mostly(st.sampled_from(values))


def text() -> st.SearchStrategy[str]:
    return mostly(st.text(string.printable + "∧∨→¬↔⊢✝", max_size=40))


def fresh(files: dict[str, Path]) -> st.SearchStrategy[str]:
    """A path under scratch that no example has used."""
    return st.uuids().map(lambda u: str(_scratch(files) / "fresh" / u.hex))


def paths(files: dict[str, Path], *kinds: str) -> st.SearchStrategy[str]:
    """One of the prepared files (of ``kinds``, or any), a path in scratch, or junk."""
    names = kinds or tuple(files)
    scratch = st.sampled_from(["out", "new/deeper", "x.json", "g.html", "g.dot", "g.graphml", "g.txt", "file/below"])
    return mostly(st.one_of(st.sampled_from(names).map(lambda n: str(files[n])),
                            scratch.map(lambda n: str(_scratch(files) / n)), fresh(files)))


BAD_RAY_ADDRESSES = st.sampled_from(["127.0.0.1:1", "localhost:1", "nohost", "a:b", "ray://127.0.0.1:1",
                                     "256.0.0.1:1", ":80", "host:"])
"""``--ray`` values that fail before Ray starts: nothing listens there, or it is no address.
Never a bare ``--ray`` (or one followed by an option), which would start a local Ray."""

DEVICES = choices("cpu", "cuda", "cuda:1", "cuda:x", "mps", "banana", "meta", "CPU")


def flag(name: str) -> st.SearchStrategy[list[str]]:
    return st.sampled_from([[], [name]])


def options(table: dict[str, st.SearchStrategy[str] | None]) -> st.SearchStrategy[list[str]]:
    """Some of ``table``'s options in random order, each with a value (``None``: a flag)."""
    def render(chosen: list[tuple[str, str | None]]) -> list[str]:
        return [word for name, value in chosen for word in ([name] if value is None else [name, value])]

    entries = [st.tuples(st.just(name), st.none() if strategy is None else strategy) for name, strategy in table.items()]
    return st.lists(st.one_of(*entries), max_size=6).map(render)


def search_options(files: dict[str, Path]) -> dict[str, st.SearchStrategy[str] | None]:
    """The options of ``prover.cli.common.search_options``."""
    return {
        "--config": paths(files, "config", "bad-config", "yaml-config", "bytes", "missing", "directory"),
        "--env": choices("auto", "sandbox", "repl", "leandojo"),
        "--lean-project": paths(files, "directory", "missing", "empty"),
        "--workers": ints(-2, 4),
        "--proposer": choices("auto", "baseline", "automation", "model"),
        "--model": paths(files, "missing", "directory", "bytes", "empty"),  # never a model: no weights load, no vLLM starts
        "--format": choices("sandbox", "reprover", "bfs-prover", "deepseek-whole-proof"),
        "--backend": choices("transformers", "vllm"),
        "--dtype": choices("auto", "bfloat16", "float16", "float32"),
        "--trust-remote-code": None,
        "--device": DEVICES,
        "--temperature": floats(-1, 3),
        "--policy": choices("pass-n", "rollouts", "best-first", "beam", "mcts", "lookahead", "revise", "compute-optimal"),
        "--param": st.one_of(st.sampled_from(["k=2", "alpha=0.5", "width=2", "n=2", "depth=3", "k=0", "k=true",
                                              "alpha=nan", "k"]), JUNK),
        "--value": paths(files, "missing", "directory", "bytes"),
        "--strategy": paths(files, "config", "bytes", "missing", "directory", "empty"),
        "--max-expansions": ints(-1, 30),
        "--max-env-calls": ints(-1, 60),
        "--max-samples": ints(-1, 60),
        "--max-tokens": ints(-1, 400),
        "--timeout": floats(-1, 3),
        "--seed": ints(-5, 5),
        "--set": st.one_of(st.sampled_from(["budget.max_seconds=2", "env.limits.step_timeout_s=1", "run.attempts=2",
                                            "scheduler.max_concurrent=0", "model.temperature=-1", "nope=1",
                                            "policy.params.k=3", "budget=1"]), JUNK),
    }


# ---------------------------------------------------------------------------- the commands


@dataclass(frozen=True)
class Command:
    """How to drive one command: ``words`` name it; ``arguments(files)`` draws its random
    argument list; ``small`` goes first to keep a run short; ``examples`` per test run."""

    words: tuple[str, ...]
    arguments: Callable[[dict[str, Path]], st.SearchStrategy[list[str]]]
    small: tuple[str, ...] = ()
    examples: int = 25


def _prove(files):
    kinds = [
        st.sampled_from([[DEMO], ["theorem hard (p q : Prop) : p → q := by"], ["theorem n (x : Nat) : x = x := by"],
                         [""], ["not a theorem"]]),
        st.tuples(st.just("--file"), paths(files, "lean-file", "bytes", "empty", "missing"),
                  st.just("--theorem"), st.sampled_from(["t", "other", "nope", ""])).map(list),
        st.tuples(st.just("--minif2f"), st.sampled_from(["mathd_algebra_10", "x"]), st.just("--minif2f-path"),
                  paths(files, "dataset", "bytes", "missing")).map(list),
        text().map(lambda t: [t]),
    ]
    target = st.integers(0, 5).flatmap(lambda n: st.just([DEMO]) if n < 2 else kinds[n - 2])
    extra = {**search_options(files), "--graph": paths(files), "--theorem": text(), "--file": paths(files)}
    return st.tuples(target, options(extra)).map(lambda parts: parts[0] + parts[1])


def _bench(files):
    table = {**search_options(files), "--dataset": st.one_of(st.sampled_from(
        ["sandbox:valid", "sandbox:dev", "minif2f:test", "nope"]), paths(files, "dataset", "broken-dataset",
                                                                         "lean-dataset", "bytes", "empty", "directory")),
             "--minif2f-path": paths(files), "--out": paths(files, "run", "damaged-run", "directory", "bytes"),
             "--resume": None, "--rerun-changed": None, "--attempts": ints(-1, 2), "--limit": ints(-1, 2),
             "--concurrency": ints(-1, 3), "--on-bad-line": choices("stop", "skip"), "--ray": BAD_RAY_ADDRESSES,
             "--save-graphs": None}
    return st.tuples(fresh(files), options(table)).map(lambda parts: ["--out", parts[0], *parts[1]])


def _value_data(files):
    runs = st.lists(paths(files, "run", "damaged-run", "directory", "missing", "bytes"), min_size=1, max_size=2)
    table = {"--out": st.one_of(fresh(files), paths(files, "directory", "bytes")), "--rollouts": ints(-1, 2),
             "--max-open": ints(-1, 2), "--depth": ints(-1, 3), "--seed": ints(-1, 2)}
    return st.tuples(runs, options(table)).map(lambda parts: parts[0] + parts[1])


def _calibrate(files):
    table = {**search_options(files), "--dataset": st.one_of(st.sampled_from(["sandbox:valid", "sandbox:test", "nope"]),
                                                            paths(files, "dataset", "bytes", "empty")),
             "--kind": choices("tactic", "proof"), "--grid": paths(files, "config", "bytes", "missing", "empty"),
             "--budgets": st.one_of(st.sampled_from(["8,16", "4", "0", "x", "8,,16"]), JUNK),
             "--signal": choices("pilot", "root-value"), "--pilot": ints(-1, 3), "--bins": ints(-1, 3),
             "--limit": ints(-1, 2)}
    return st.tuples(fresh(files), options(table)).map(lambda parts: ["--out", parts[0], *parts[1]])


def _report(files):
    some_run = st.integers(0, 3).flatmap(lambda n: paths(files, "directory", "missing", "bytes") if n == 0
                                         else st.sampled_from([str(files["run"]), str(files["damaged-run"])]))
    runs = st.lists(some_run, min_size=1, max_size=3)
    table = {"--out": paths(files), "--known-issues": paths(files, "known-issues", "bytes", "missing", "dataset"),
             "--budget-axis": choices("tokens", "samples", "expansions", "env_calls", "seconds"),
             "--common": None, "--diff": None}
    return st.tuples(runs, options(table)).map(lambda parts: parts[0] + parts[1])


def _train(files):
    table = {
        "--preset": choices("sandbox-small"),
        "--model": st.sampled_from([str(files[n]) for n in ("missing", "bytes", "directory")]),  # never a model
        "--size": choices("tiny", "small"),  # 100m: minutes per example on CPU
        "--format": choices("sandbox", "reprover", "bfs-prover"),
        "--data": st.one_of(st.sampled_from(["sandbox:valid", "sandbox:nope"]), paths(files, "dataset", "bytes", "missing")),
        "--loss": choices("ce", "dco-step", "dco-proof"), "--n": floats(-1, 64), "--threshold": floats(-1, 1),
        "--lr": floats(-1, 1),
        "--warmup-steps": ints(-1, 3), "--schedule": choices("cosine", "linear", "constant"),
        "--batch-size": ints(-1, 4),
        "--epochs": floats(-1, 0.01), "--seed": ints(-1, 3),
        "--device": DEVICES,
        "--save-every": ints(-1, 2), "--resume": paths(files, "directory", "missing", "run"), "--no-progress": None,
        "--set": st.one_of(st.sampled_from(["optim.lr=0.1", "loss.kind=dco-step", "nope=1"]), JUNK),
        "--threads": ints(-1, 2),
        # -o under /proc: tested below; --max-steps is kept small below
    }
    config = st.sampled_from([[], [str(files["config"])], [str(files["bytes"])], [str(files["directory"])]])
    return st.tuples(config, options(table), ints(1, 2)).map(
        lambda parts: parts[0] + parts[1] + ["--max-steps", parts[2] if parts[2].isdigit() else "1"])


def _check(files):
    good = st.sampled_from([[str(files["lean-file"])], [str(files["proofs"])]])
    other = st.lists(paths(files, "lean-file", "proofs", "dataset", "broken-dataset", "bytes", "empty", "missing",
                           "directory"), min_size=1, max_size=3)
    inputs = st.integers(0, 3).flatmap(lambda n: other if n == 0 else good)
    table = {"--theorem": st.one_of(st.sampled_from(["t", "other", "nope"]), text()),
             "--out": st.one_of(fresh(files), paths(files, "run", "directory", "bytes")), "--resume": None,
             "--config": paths(files, "config", "bad-config", "yaml-config", "bytes", "missing"),
             "--env": choices("auto", "sandbox", "repl"), "--lean-project": paths(files, "directory", "missing", "empty"),
             "--workers": ints(-2, 4), "--allow-native-decide": None, "--ray": BAD_RAY_ADDRESSES,
             "--set": st.one_of(st.sampled_from(["env.limits.step_timeout_s=1", "env.kind=sandbox", "ray.workers=0",
                                                 "nope=1"]), JUNK)}
    return st.tuples(inputs, options(table)).map(lambda parts: parts[0] + parts[1])


def _data_minif2f(files):
    return options({"--path": paths(files, "dataset", "bytes", "empty", "missing", "directory"), "--dest": paths(files)})


def _data_sandbox(files):
    return options({"--split": choices("train", "valid", "test"), "--out": paths(files)})


def _setup(files):
    return options({"--cache-dir": paths(files), "--lean-project": paths(files, "directory", "missing", "bytes"),
                    "--dry-run": None})


def _policies(files):
    return st.lists(choices("pass-n", "rollouts", "best-first", "beam", "mcts", "lookahead"), max_size=3)


COMMANDS: dict[str, Command] = {
    "prove": Command(("prove",), _prove, ("--max-expansions", "20", "--timeout", "3")),
    "bench": Command(("bench",), _bench, ("--dataset", "sandbox:valid", "--limit", "2", "--max-expansions", "5",
                                          "--timeout", "3")),
    "report": Command(("report",), _report),
    "calibrate": Command(("calibrate",), _calibrate, ("--dataset", "sandbox:valid", "--limit", "2", "--budgets", "8,16",
                                                      "--timeout", "3"), examples=10),
    "check": Command(("check",), _check, examples=20),
    "value-data": Command(("value-data",), _value_data, examples=10),
    "policies": Command(("policies",), _policies, examples=10),
    "train": Command(("train",), _train, ("--preset", "sandbox-small", "--size", "tiny", "--data", "sandbox:valid",
                                          "--no-progress"), examples=8),
    "data minif2f": Command(("data", "minif2f"), _data_minif2f, examples=10),
    "data sandbox": Command(("data", "sandbox"), _data_sandbox, ("--split", "valid"), examples=10),
    "setup": Command(("setup",), _setup, examples=10),
}


def test_every_command_is_in_the_table():
    group = cli.list_commands(None)  # type: ignore[arg-type]
    covered = {words[0] for words in (c.words for c in COMMANDS.values())}
    assert covered == set(group), "add a row to COMMANDS for each new command"
    data = cli.get_command(None, "data")  # type: ignore[arg-type]
    assert {f"data {name}" for name in data.list_commands(None)} <= set(COMMANDS)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", COMMANDS)
def test_no_command_shows_a_traceback_for_any_input(name, files, monkeypatch):
    command = COMMANDS[name]
    scratch = _scratch(files)
    scratch.mkdir(exist_ok=True)
    monkeypatch.chdir(scratch)
    environment = {"PROVER_CACHE_DIR": str(scratch / "cache"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "PROVER_LEAN_PROJECT": None, "PROVER_REPL_BIN": None, "RAY_ADDRESS": None}

    @settings(max_examples=command.examples * SCALE, deadline=None, derandomize=SCALE == 1, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(arguments=command.arguments(files))
    def run(arguments: list[str]) -> None:
        argv = [*command.words, *command.small, *arguments]
        result = CliRunner().invoke(cli, argv, env=environment)
        shown = f"prover {' '.join(map(repr, argv))}\n{result.output}"
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"traceback ({type(result.exception).__name__}: {result.exception}) from {shown}")
        assert result.exit_code in EXIT_CODES, shown
        assert "Traceback" not in result.output, shown

    run()


@pytest.mark.parametrize("argv, message", [
    (["train", "--preset", "sandbox-small", "--size", "tiny", "--max-steps", "1", "-o", "/proc/x/m"],
     "cannot write to output directory /proc/x/m: No such file or directory"),
    (["train", "--preset", "sandbox-small", "--size", "tiny", "--max-steps", "1", "--model", "."],
     "cannot load a model to train"),
    (["report", "a" * 300], "File name too long"),
    (["setup", "--cache-dir", "a" * 300, "--dry-run"], "File name too long"),
    (["prove", DEMO, "--graph", "/proc/x/g.html"], "cannot write /proc/x/g.html"),
])
def test_an_unusable_path_is_one_line_and_exit_2(argv, message, files, monkeypatch):
    monkeypatch.chdir(files["directory"])
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2 and message in result.output.strip().splitlines()[-1], result.output


@pytest.mark.parametrize("device, message", [
    ("banana", "'banana'"),  # train: "not a device this project runs on"; prove: refused by the config's check
    ("cuda:x", "'cuda:x'"),
    ("cuda", "device 'cuda': CUDA is not available on this machine"),
])
@pytest.mark.parametrize("command", [
    ["train", "--preset", "sandbox-small", "--size", "tiny", "--max-steps", "1"],
    ["prove", DEMO, "--proposer", "model", "--format", "sandbox", "--model", "."],
], ids=["train", "prove"])
def test_a_device_this_machine_lacks_is_one_line_and_exit_2(command, device, message, files, monkeypatch):
    monkeypatch.chdir(files["directory"])
    result = CliRunner().invoke(cli, [*command, "--device", device])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert message in result.output and "device" in result.output, result.output


def test_train_threads_0_is_one_line_and_exit_2(files, monkeypatch):
    monkeypatch.chdir(files["directory"])
    result = CliRunner().invoke(cli, ["train", "--preset", "sandbox-small", "--size", "tiny", "--max-steps", "1",
                                      "--threads", "0"])
    assert result.exit_code == 2 and "threads must be an integer >= 1" in result.output.strip().splitlines()[-1], result.output
