"""Helpers for tests and benchmarks (as ``optuna.testing``): synthetic stores built from real
suite items with seeded labels, so scoring, the search and the report can be exercised and
timed without a model run. Nothing here is ever presented as a measurement."""
