"""A store that lacks predictions: the embedded default is measured first, and says so."""

from __future__ import annotations

import pytest

from codesign.errors import CodesignError
from codesign.search import measure
from codesign.store import Store
from codesign.testing.synthetic_store import build_synthetic_store


def test_an_empty_store_measures_the_embedded_default_with_the_limit(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.db'}"
    calls = []

    def fake_measurements(argv):
        calls.append(list(argv))
        return 0

    timings = {}
    model = measure.ensure_measurements(
        Store(url), None, limit=3, run=fake_measurements, timings=timings
    )
    assert model == "smollm2-135m"
    quantize, evaluate, profile = calls
    assert quantize[:3] == ["quantize", "--model", "smollm2-135m"] and url in quantize
    assert evaluate[:3] == ["evaluate", "--model", "smollm2-135m"]
    assert evaluate[evaluate.index("--limit") + 1] == "3" and url in evaluate
    # only what the search reads: the four trust perspectives and MMLU by log-likelihood
    assert evaluate[evaluate.index("--suites") + 1].split(",") == list(measure.NEEDED_SUITES)
    assert evaluate[evaluate.index("--max-prompt-tokens") + 1] == str(measure.MAX_PROMPT_TOKENS)
    # MMLU's one setting gets its own count (at --limit 3 it would score 3 questions)
    assert evaluate[evaluate.index("--suite-limit") + 1] == f"mmlu_ll={measure.MMLU_ITEMS}"
    assert profile[:1] == ["profile"]
    assert profile[profile.index("--batch-sizes") + 1] == "1"  # what the search reads
    assert list(timings) == ["quantize", "evaluate", "profile"]
    text = capsys.readouterr().out
    assert "measuring the embedded default first" in text
    assert all(f"phase {p}: done in" in text for p in timings)


def test_a_store_with_predictions_is_used_as_it_is(tmp_path):
    store = build_synthetic_store(f"sqlite:///{tmp_path / 's.db'}", variants=(("dense", 16),))

    def refuse(argv):
        raise AssertionError(f"measured again: {argv}")

    assert measure.ensure_measurements(store, None, limit=3, run=refuse) == "synthetic-smollm2"


def test_a_stopped_evaluation_is_resumed(tmp_path):
    """An evaluate stopped after the dense model: every variant stored, one answered."""
    from codesign.testing.synthetic_store import add_variant

    store = build_synthetic_store(f"sqlite:///{tmp_path / 's.db'}", variants=(("dense", 16),))
    model_id = store.variants()[0][1].id
    add_variant(store, model_id, "gptq-w3-unanswered", "gptq", 3)
    _, lacking, _ = measure.missing(store, None)
    assert lacking == list(measure.NEEDED_SUITES)
    with pytest.raises(CodesignError, match="lacks adv_robustness"):  # not the embedded model
        measure.ensure_measurements(store, None, limit=3, allow=False)


def test_never_measuring_explains_what_to_run(tmp_path):
    with pytest.raises(CodesignError, match="codesign.measurements evaluate"):
        measure.ensure_measurements(
            Store(f"sqlite:///{tmp_path / 's.db'}"), None, limit=3, allow=False
        )


def test_outputs_of_an_older_prompt_protocol_do_not_count_as_measured(tmp_path):
    store = build_synthetic_store(f"sqlite:///{tmp_path / 's.db'}", variants=(("dense", 16),))
    assert measure.missing(store, None)[1] == []
    with store.engine.begin() as conn:  # as if the ethics outputs predated its protocol
        conn.exec_driver_sql(
            "update predictions set extra = json_set(extra, '$.protocol', 'older') "
            "where suite = 'ethics'"
        )
    assert measure.missing(store, None)[1] == ["ethics"]


def test_an_interrupted_phase_is_named_in_the_interrupt_line(tmp_path):
    """Ctrl-C in the evaluate phase: the line names that phase, then what evaluate kept (not
    the quantize phase's note, which the evaluate command also sets while it starts)."""
    from codesign.commandline.interrupts import interrupt_note, on_interrupt

    url = f"sqlite:///{tmp_path / 's.db'}"

    def interrupted_in_evaluate(argv):
        on_interrupt(f"what {argv[0]} kept")
        if argv[0] == "evaluate":
            raise KeyboardInterrupt
        return 0

    with pytest.raises(KeyboardInterrupt):
        measure.ensure_measurements(Store(url), None, limit=4, run=interrupted_in_evaluate)
    assert interrupt_note() == "the search stopped in its evaluate phase; what evaluate kept"


def test_a_store_of_the_embedded_model_with_too_few_mmlu_questions_is_topped_up(tmp_path):
    store = build_synthetic_store(f"sqlite:///{tmp_path / 's.db'}", variants=(("dense", 16),))
    with store.engine.begin() as conn:  # the synthetic model as the embedded default
        conn.exec_driver_sql("update models set name = 'smollm2-135m'")
    assert measure.missing(store, None)[1] == ["mmlu_ll"]  # fewer than MMLU_ITEMS questions
    assert measure.missing(store, None, allow=False)[1] == []  # --no-measure: used as it is
