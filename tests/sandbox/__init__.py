"""Tests of the built-in propositional sandbox and the baseline proposer."""
