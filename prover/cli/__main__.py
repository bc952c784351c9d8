"""``python -m prover.cli``: the same entry point as the ``prover`` console script."""

from prover.cli.main import main

main()
