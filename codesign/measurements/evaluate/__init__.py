"""Evaluate: trust suites and MMLU on stored variants: data sets, prompts, generation, the one
label parser, and the runner that stores every item's raw output."""
