"""The Python agent API and configuration loading, on the sandbox."""

from __future__ import annotations

import asyncio

import pytest

import prover
from propsandbox import SandboxEnvironment, load_split
from prover import Agent, Budget, ProverConfig, load_config
from prover.baseline import BaselineProposer
from prover.config import ConfigError

DEMO = "theorem t (p q : Prop) : p ∧ q → q ∧ p := by"


def test_docstring_example_runs():
    with Agent.from_config(ProverConfig()) as agent:
        result = agent.prove(DEMO)
    assert result.proved and result.verdict.ok and result.verdict.checker == "sandbox"
    assert result.spent.expansions > 0 and result.graph.state_count > 1


def test_agent_from_objects_and_prove_many_in_input_order():
    theorems = [item.theorem for item in load_split("valid")[:6]]
    with Agent(env=SandboxEnvironment(), proposer=BaselineProposer(temperature=1.0), policy="rollouts",
               policy_params={"n": 8}, budget=Budget(max_expansions=100)) as agent:
        results = agent.prove_many(theorems, attempts=3)
        again = agent.prove_many(theorems, attempts=3)
    assert [r.theorem for r in results] == [t.name for t in theorems for _ in range(3)]
    assert all(r.spent.within(Budget(max_expansions=100)) for r in results)
    assert [(r.status, r.proof) for r in results] == [(r.status, r.proof) for r in again]
    # Different attempts use different seeds: at least one theorem's attempts differ.
    assert any(len({results[3 * i + a].spent for a in range(3)}) > 1 for i in range(len(theorems)))


def test_async_api_inside_a_running_loop():
    async def main():
        async with Agent(env=SandboxEnvironment(), proposer=BaselineProposer()) as agent:
            jobs = agent.jobs([agent.theorem(DEMO)], attempts=2)
            return [(job.attempt, result.status) async for job, result in agent.aprove_many(jobs)]

    assert sorted(asyncio.run(main())) == [(0, "proved"), (1, "proved")]


def test_public_api_is_explicit():
    assert set(prover.__all__) >= {"Agent", "ProverConfig", "ProofResult", "Budget", "load_config"}


def test_config_from_toml_and_yaml(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('[policy]\nname = "beam"\nparams = { width = 4 }\n[budget]\nmax_expansions = 50\n[run]\nseed = 7\n')
    yaml = tmp_path / "c.yaml"
    yaml.write_text("policy:\n  name: beam\n  params: {width: 4}\nbudget:\n  max_expansions: 50\nrun:\n  seed: 7\n")
    a, b = load_config(toml), load_config(yaml)
    assert a == b and a.policy.params == {"width": 4} and a.budget.max_expansions == 50 and a.run.seed == 7
    assert a.to_dict()["budget"]["max_expansions"] == 50
    with Agent.from_config(a) as agent:
        assert agent.policy.name == "beam" and agent.policy.width == 4 and agent.prove(DEMO).proved


@pytest.mark.parametrize("text,message", [
    ("[bogus]\nx = 1\n", "unknown section"),
    ("[budget]\nmax_expansion = 1\n", "unknown key"),
    ("[budget\n", "not valid TOML"),
    ("[budget]\nmax_expansions = -1\n", "max_expansions"),
])
def test_bad_config_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


@pytest.mark.parametrize("statement,name", [
    ("theorem t(p : Prop) : p → p := by", "t"),
    ("lemma my_lemma {p : Prop} : p → p := by", "my_lemma"),
    ("example (p : Prop) : p → p := by", "anonymous"),
])
def test_theorem_names_come_from_the_declaration(statement, name):
    from prover.backends import theorem_from_statement

    assert theorem_from_statement(statement, header="").name == name
