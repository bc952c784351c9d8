"""``prover check``'s batch through the real REPL pool (stand-in REPL): real model-output
files, each header imported once per worker, forged and forbidden proofs refused."""

from __future__ import annotations

import asyncio
import json

from lean_env.repl import ReplEnvironment
from prover.check import check_items, read_inputs
from prover.data.minif2f import MINIF2F_HEADER

from .conftest import TACTIC_DATA, fake_config


def test_a_file_of_model_outputs_through_the_pool_imports_each_header_once():
    path = TACTIC_DATA / "yangky11_minif2f_valid_proofs.jsonl"
    items = read_inputs([path], theorem=None, default_header=MINIF2F_HEADER)
    assert len(items) == 75 and all(item.theorem is not None for item in items)

    async def main():
        async with ReplEnvironment(fake_config(workers=2)) as env:
            records = [r async for r in check_items(env, items, concurrency=4)]
            return records, [(w.generation, w.header) for w in env.pool.workers]

    records, workers = asyncio.run(main())
    assert sorted(r.key for r in records) == sorted(i.key for i in items)
    assert workers == [(1, "import Mathlib\n")] * 2  # two workers, one import each, for 75 proofs
    ok = [r for r in records if r.status == "ok"]
    assert ok and all(r.axioms == ("propext", "Classical.choice", "Quot.sound") and r.checker == "lean-repl" for r in ok)
    # the stand-in knows a few tactics; the rest fail with Lean's error, position in the proof
    failed = [r for r in records if r.status == "failed"]
    assert failed and all(r.failure == "error" and r.messages for r in failed)


def test_forged_and_forbidden_proofs_among_good_ones(tmp_path):
    statement = "theorem t_and (x : Nat) (h : x = 1) : x = 1 ∧ x > 0 := by"
    proofs = ["constructor\nexact h\nnorm_num", "__forge sync\nconstructor\nexact h", "run_tac pure ()",
              "constructor\nexact h\nnorm_num\n__forge trace", "constructor\nexact h\nnorm_num"]
    path = tmp_path / "outputs.jsonl"
    path.write_text("".join(json.dumps({"name": "t_and", "formal_statement": statement, "proof": p}) + "\n" for p in proofs))
    items = read_inputs([path], theorem=None, default_header=MINIF2F_HEADER)

    async def main():
        async with ReplEnvironment(fake_config()) as env:
            return {r.index: r async for r in check_items(env, items, concurrency=2)}

    records = asyncio.run(main())
    assert [records[i].status for i in range(5)] == ["ok", "failed", "failed", "failed", "ok"]
    assert (records[1].failure, records[2].failure, records[3].failure) == ("crash", "rejected", "axioms")
