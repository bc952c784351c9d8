"""The Python agent API (experiments, ownership, notebooks) and configuration loading, on the sandbox."""

from __future__ import annotations

import asyncio

import pytest

import prover
from propsandbox import SandboxEnvironment, load_split
from prover import Agent, BestFirst, Budget, ProverConfig, Rollouts, Run, load_config, load_dataset, override
from prover.baseline import BaselineProposer
from prover.cli.main import cli
from prover.config import ConfigError

DEMO = "theorem t (p q : Prop) : p ∧ q → q ∧ p := by"


class ClosingSandbox(SandboxEnvironment):
    """The sandbox, counting how often it was closed."""

    closed = 0

    async def aclose(self) -> None:
        self.closed += 1


def test_docstring_example_runs():
    with Agent.from_config(ProverConfig()) as agent:
        result = agent.prove(DEMO)
    assert result.proved and result.verdict.ok and result.verdict.checker == "sandbox"
    assert result.spent.expansions > 0 and result.graph.state_count > 1


def test_one_agent_compares_policies_with_per_call_budget_seed_and_attempts():
    theorems = [item.theorem for item in load_split("valid")[:6]]
    with Agent(env=SandboxEnvironment(), proposer=BaselineProposer(temperature=1.0)) as agent:
        rollouts = agent.run(theorems, policy=Rollouts(n=2), budget=Budget(max_expansions=30), attempts=3, seed=5)
        again = agent.run(theorems, policy=Rollouts(n=2), budget=Budget(max_expansions=30), attempts=3, seed=5)
        best_first = agent.run(theorems, policy=BestFirst(k=4), budget=Budget(max_expansions=30))
    key = lambda r: (r.theorem, r.attempt)  # noqa: E731
    assert sorted(map(key, rollouts.records)) == sorted((t.name, a) for t in theorems for a in range(3))
    assert sorted((key(r), r.proof) for r in rollouts.records) != sorted((key(r), r.proof) for r in best_first.records)
    assert rollouts.policy == "rollouts" and best_first.policy == "best-first" and len(best_first.records) == 6
    # Same policy, budget and seed: the same records, whatever the completion order.
    assert sorted((key(r), r.status, r.proof, r.seed) for r in rollouts.records) == sorted(
        (key(r), r.status, r.proof, r.seed) for r in again.records)
    assert all(r.spent["expansions"] <= 30 for r in rollouts.records)
    assert 0 <= rollouts.pass_at_k(1) <= rollouts.pass_at_k(3) <= 1
    # Different attempts use different seeds: at least one theorem's attempts differ.
    by_theorem = rollouts.by_theorem()
    assert any(len({(r.status, r.proof) for r in group}) > 1 or len({r.seed for r in group}) == 3
               for group in by_theorem.values())


def test_strings_are_accepted_wherever_a_theorem_is():
    with Agent.from_config() as agent:
        run = agent.run([DEMO, "theorem u (p : Prop) : p → p := by"], attempts=1)
        assert agent.prove("theorem u (p : Prop) : p → p := by").proved
    assert run.solved == {"t", "u"}


def test_sync_calls_work_inside_a_running_event_loop_as_in_a_notebook():
    async def cell():
        agent = Agent(env=SandboxEnvironment(), proposer=BaselineProposer())
        proved = agent.prove(DEMO).proved  # a plain call in a notebook cell: its loop is running
        run = await agent.arun([DEMO], attempts=2)
        result = await agent.aprove(DEMO)
        agent.close()
        return proved, sorted(r.attempt for r in run.records), result.proved

    assert asyncio.run(cell()) == (True, [0, 1], True)


def test_the_agent_closes_what_it_built_and_leaves_what_it_was_given_open():
    env = ClosingSandbox()
    with Agent(env=env, proposer=BaselineProposer()) as agent:
        assert agent.prove(DEMO).proved
    with Agent(env=env, proposer=BaselineProposer()) as second:  # the shared env still works
        assert second.prove(DEMO).proved
    assert env.closed == 0
    prover.close(env)
    assert env.closed == 1
    built = Agent.from_config()
    built_env = built.env
    closes = []
    built_env.aclose = lambda: asyncio.sleep(0, closes.append("closed"))
    built.close()
    assert closes == ["closed"]


def test_agent_run_writes_what_bench_writes_and_the_report_reads_runs(tmp_path):
    valid = load_dataset("sandbox:valid").limit(4)
    with Agent.from_config() as agent:
        run = agent.run(valid, policy=BestFirst(k=4), budget=Budget(max_expansions=20), out=tmp_path / "api")
        memory = agent.run(valid, policy=BestFirst(k=4), budget=Budget(max_expansions=20))
    memory.save(tmp_path / "saved")
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["bench", "--dataset", "sandbox:valid", "--limit", "4", "--param", "k=4",
                                      "--max-expansions", "20", "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    stripped = [sorted((r.theorem, r.attempt, r.status, r.proof, r.category) for r in Run.load(tmp_path / d).records)
                for d in ("api", "saved", "cli")]
    assert stripped[0] == stripped[1] == stripped[2]
    manifests = [Run.load(tmp_path / d).manifest for d in ("api", "cli")]
    assert manifests[0]["config"]["policy"] == manifests[1]["config"]["policy"] == {"name": "best-first", "params": {"k": 4, "alpha": 0.0, "value_weight": 1.0}}
    assert manifests[0]["dataset"] == manifests[1]["dataset"]
    report = prover.render_report([run, Run.load(tmp_path / "cli")], tmp_path / "report")
    assert "| api | best-first |" in report and "| cli | best-first |" in report


def test_public_api_is_explicit():
    expected = {"Agent", "Run", "ProverConfig", "Budget", "BestFirst", "Beam", "MCTS", "PassN", "Rollouts",
                "Lookahead", "SandboxEnvironment", "ReplEnvironment", "LeanDojoEnvironment", "load_proposer",
                "load_dataset", "load_minif2f", "load_config"}
    assert set(prover.__all__) >= expected
    assert all(getattr(prover, name) is not None for name in expected)


def test_config_from_toml_and_yaml(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('[policy]\nname = "beam"\nparams = { width = 4 }\n[budget]\nmax_expansions = 50\n[run]\nseed = 7\n'
                    '[env.limits]\nworkers = 2\n')
    yaml = tmp_path / "c.yaml"
    yaml.write_text("policy:\n  name: beam\n  params: {width: 4}\nbudget:\n  max_expansions: 50\nrun:\n  seed: 7\n"
                    "env:\n  limits:\n    workers: 2\n")
    a, b = load_config(toml), load_config(yaml)
    assert a == b and a.policy.params == {"width": 4} and a.budget.max_expansions == 50 and a.run.seed == 7
    assert a.env.limits.workers == 2 and a.to_dict()["budget"]["max_expansions"] == 50
    with Agent.from_config(a) as agent:
        result = agent.prove(DEMO)
    assert result.policy == "beam" and result.proved


@pytest.mark.parametrize("text,message", [
    ("[bogus]\nx = 1\n", "unknown key(s): bogus; expected one of env, model, policy, budget, run, scheduler"),
    ("[budget]\nmax_expansion = 1\n", "unknown key(s) in [budget]: max_expansion; expected one of max_expansions"),
    ("[budget\n", "not valid TOML"),
    ("[budget]\nmax_expansions = -1\n", "budget.max_expansions must be an integer >= 0, got -1"),
    ("[budget]\nmax_expansions = true\n", "budget.max_expansions must be an integer >= 0, got True"),
    ("[budget]\nmax_seconds = nan\n", "budget.max_seconds must be a finite number >= 0, got nan"),
    ("[env]\nkind = \"lean\"\n", "env.kind must be one of sandbox, repl, leandojo, auto, got 'lean'"),
    ("[env.limits]\nworkers = 0\n", "EnvLimits.workers must be a positive number, got 0"),
    ("[policy]\nname = \"beam\"\nparams = { widht = 2 }\n", "unknown parameter(s) 'widht' for policy 'beam'; valid: width"),
    ("[policy]\nname = \"best-first\"\nparams = { k = 1.5 }\n", "BestFirst.k must be an integer >= 1, got 1.5"),
    ("[scheduler]\nmax_concurrent = 0\n", "scheduler.max_concurrent must be an integer >= 1, got 0"),
])
def test_bad_config_is_one_clear_line_naming_the_field(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"^" + r"[^\n]*" + __import__("re").escape(message)):
        load_config(path)


def test_dotted_overrides_reach_every_key_and_policy_changes_reset_params():
    config = override(ProverConfig(), [("policy.params.k", 4), ("env.limits.step_timeout_s", 5), ("budget.max_seconds", None)])
    assert config.policy.params == {"k": 4} and config.env.limits.step_timeout_s == 5
    assert config.budget == ProverConfig().budget


@pytest.mark.parametrize("statement,name", [
    ("theorem t(p : Prop) : p → p := by", "t"),
    ("lemma my_lemma {p : Prop} : p → p := by", "my_lemma"),
    ("example (p : Prop) : p → p := by", "anonymous"),
])
def test_theorem_names_come_from_the_declaration(statement, name):
    from prover.backends import theorem_from_statement

    assert theorem_from_statement(statement, header="").name == name
