"""Every registered engine declares what evaluate needs of it, and a new engine is one file:
registered here inside the test, ``evaluate --engine NAME`` finds it and stores its answers."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pytest

from codesign.measurements.cli import entry
from codesign.measurements.evaluate.engines import ENGINES, Engine, EngineKind, Generation


@pytest.mark.parametrize("name", ENGINES.names())
def test_every_registered_engine_declares_what_evaluate_needs(name):
    kind = ENGINES.get(name)
    assert issubclass(kind, EngineKind) and kind.name == name and kind.help
    parser = argparse.ArgumentParser()
    kind.add_arguments(parser.add_argument_group(name))
    defaults = vars(parser.parse_args([]))  # every option has a default: the engine not chosen
    assert all(not isinstance(v, bool) or v is False for v in defaults.values())


class CannedEngine(Engine):
    """Answers every prompt 'not wrong' and prefers the first choice."""

    engine = "canned"
    runtime = "canned answers (a test engine)"

    def __init__(self, variant):
        self.variant = variant

    @property
    def tokenizer(self):
        from codesign.measurements.quantize.backends.dense import load_tokenizer

        return load_tokenizer(Path(self.variant.path))

    def generate_until(self, prompts, max_new_tokens, on_batch, **_):
        on_batch(list(range(len(prompts))), [Generation("not wrong", 1, 2)] * len(prompts))

    def choice_logprobs(self, contexts, choices, on_batch, **_):
        rows = [[-float(i) for i in range(len(choices))] for _ in contexts]
        on_batch(list(range(len(contexts))), rows)


class Canned(EngineKind):
    name = "canned"
    help = "canned answers (a test engine)"

    @staticmethod
    def add_arguments(group):
        group.add_argument("--canned-note", default=None, help="canned engine: unused")

    def bind(self, variant, device):
        return CannedEngine(variant)


@pytest.fixture
def canned():
    ENGINES.add("canned", Canned)
    yield
    ENGINES.remove("canned")


def test_a_new_engine_is_one_registration(canned, tiny_llama, tmp_path):
    db = tmp_path / "c.db"
    argv = ["evaluate", "--model", str(tiny_llama), "--method", "gptq", "--bits", "4"]
    argv += ["--calib-samples", "4", "--calib-seq-len", "32", "--suites", "ethics,mmlu_ll"]
    argv += ["--limit", "2", "--store", f"sqlite:///{db}", "--engine", "canned"]
    assert entry(argv) == 0
    with sqlite3.connect(db) as c:
        rows = c.execute("select suite, raw, label, extra from predictions").fetchall()
    assert {r[0] for r in rows} == {"ethics", "mmlu_ll"} and len(rows) > 20
    for suite, raw, label, extra in rows:
        assert json.loads(extra)["engine"] == {"name": "canned"}
        if suite == "ethics":
            assert raw == "not wrong" and label == "not wrong"
    assert entry([*argv[:-2], "--canned-note", "x"]) == 2  # another engine's option
