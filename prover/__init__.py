"""Lean 4 theorem-proving search agent: models, training, the agent API and the CLI."""
