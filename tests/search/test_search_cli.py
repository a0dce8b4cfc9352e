"""`python -m codesign.search` end to end on the synthetic store: fronts, resuming, outputs,
constraints and one-line errors. No model runs: trust comes from stored labels."""

from __future__ import annotations

import csv
import json
import math
import re

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from codesign.search.cli import entry
from tests.search.conftest import SMALL_SPACE, SMALL_SPACE_SIZE, search_args


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = entry(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _study(store_url: str, out) -> optuna.Study:
    name = json.loads((out / "pareto.json").read_text())["study"]
    return optuna.load_study(study_name=name, storage=store_url)


def _dominates(a, b, directions) -> bool:
    """a dominates b: no worse in every objective, better in one (plain Python, independent)."""
    better = False
    for x, y, d in zip(a, b, directions, strict=True):
        x, y = (-x, -y) if d == "maximize" else (x, y)
        if x > y:
            return False
        better = better or x < y
    return better


def test_exhaustive_reports_exactly_the_true_pareto_front(search_store, tmp_path, capsys):
    out = tmp_path / "out"
    code, text, err = _run(capsys, *search_args(search_store, out), *SMALL_SPACE, "--exhaustive")
    assert code == 0, err
    study = _study(search_store, out)
    trials = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert len(trials) == SMALL_SPACE_SIZE == len(study.trials)
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == SMALL_SPACE_SIZE
    directions = ["maximize", "minimize", "minimize", "minimize"]
    ok = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE and all(v <= 0 for v in t.constraints.values())
    ]
    true_front = {
        t.number
        for t in ok
        if not any(_dominates(o.values, t.values, directions) for o in ok if o is not t)
    }
    reported = {row["trial"] for row in json.loads((out / "pareto.json").read_text())["pareto"]}
    assert reported == true_front and reported
    # a rerun finds every configuration done and runs nothing more
    code, text, _ = _run(capsys, *search_args(search_store, out), *SMALL_SPACE, "--exhaustive")
    assert code == 0 and "0 configurations to run" in text
    assert len(_study(search_store, out).trials) == SMALL_SPACE_SIZE


def _front(out) -> list[tuple]:
    rows = json.loads((out / "pareto.json").read_text())["pareto"]
    return sorted(
        (tuple(r["variant_keys"]), r["vote_rule"], r["schedule"], str(r["cascade_order"]),
         r["unit"], json.dumps(r["unit_params"], sort_keys=True))
        for r in rows
    )  # fmt: skip


def test_the_same_seed_gives_the_same_pareto_set(search_store, tmp_path, capsys):
    fronts = []
    for name in ("first", "second"):
        out = tmp_path / name
        argv = [*search_args(search_store, out), "--study", name, "--n-trials", "16", "--seed", "7"]
        code, _, err = _run(capsys, *argv)
        assert code == 0, err
        fronts.append(_front(out))
    assert fronts[0] == fronts[1] and fronts[0]


def test_rerunning_resumes_the_study_without_duplicating_trials(search_store, tmp_path, capsys):
    out = tmp_path / "out"
    base = [*search_args(search_store, out), *SMALL_SPACE, "--study", "resume-me"]
    base += ["--sampler", "tpe"]  # a small space is enumerated unless a sampler is asked for
    assert _run(capsys, *base, "--n-trials", "8")[0] == 0
    code, text, _ = _run(capsys, *base, "--n-trials", "14")
    assert code == 0 and "8 trials done, running 6" in text
    code, text, _ = _run(capsys, *base, "--n-trials", "14")
    assert code == 0 and "14 trials done, running 0" in text
    numbers = [t.number for t in _study(search_store, out).trials]
    assert sorted(numbers) == list(range(14))
    # the same study name with other settings is refused, not mixed
    code, _, err = _run(capsys, *base, "--n-trials", "14", "--budget-gb", "12")
    assert code == 2 and "other settings" in err and len(err.strip().splitlines()) == 1


def test_a_small_space_is_enumerated_exactly_by_default_and_says_so(search_store, tmp_path, capsys):
    """The default (no --sampler, no --n-trials) prices every configuration in batches and
    reports the front that running each configuration as a trial (--exhaustive) reports."""
    out = tmp_path / "exact"
    code, text, err = _run(capsys, *search_args(search_store, out), *SMALL_SPACE)
    assert code == 0, err
    assert f"the space has {SMALL_SPACE_SIZE} configurations" in text
    assert "enumerating it exactly" in text
    assert f"exact front: every one of {SMALL_SPACE_SIZE} configurations priced" in text
    stored = _study(search_store, out).trials
    assert {t.user_attrs["exact"] for t in stored} <= {"front", "sample"}
    assert len(stored) < SMALL_SPACE_SIZE  # the front and feasible others, no pruned trial
    slow = tmp_path / "exhaustive"
    argv = [*search_args(search_store, slow), *SMALL_SPACE, "--exhaustive", "--study", "slow"]
    assert _run(capsys, *argv)[0] == 0
    assert _front(out) == _front(slow) and _front(out)
    # a rerun reuses the stored front; a sampled study of the same settings is scored against it
    code, text, _ = _run(capsys, *search_args(search_store, out), *SMALL_SPACE)
    assert code == 0 and "holds the exact front already" in text
    assert len(_study(search_store, out).trials) == len(stored)
    argv = [*search_args(search_store, tmp_path / "tpe"), *SMALL_SPACE, "--sampler", "random"]
    code, text, _ = _run(capsys, *argv, "--n-trials", "6", "--study", "sampled")
    assert code == 0 and re.search(r"this study's trials reach [\d.]+% of its hypervolume", text)


def test_outputs_name_their_sources_and_every_deployment_is_complete(
    search_store, tmp_path, capsys
):
    out = tmp_path / "out"
    # At the 13B shape the dense model (26 GB) is over budget, and the synthetic quantized
    # variants fall short of its MMLU: no floor here, so a dozen trials find a front to name.
    argv = [*search_args(search_store, out), "--n-trials", "12", "--deploy-shape", "llama-2-13b"]
    argv += ["--mmlu-floor", "0"]
    code, text, err = _run(capsys, *argv)
    assert code == 0, err
    assert "Pareto-optimal deployments" in text and "cost modelled for llama-2-13b" in text
    data = json.loads((out / "pareto.json").read_text())
    assert data["model_measured"] == "synthetic-smollm2" and data["cost_shape"] == "llama-2-13b"
    rows = data["pareto"]
    for row in rows:
        assert row["statement"] == (
            f"trust measured on synthetic-smollm2, cost modelled for llama-2-13b on {row['unit']}"
        )
        for key in ("trust", "adv_robustness", "fairness", "ethics", "ood", "latency_ms",
                    "energy_mj", "area_mm2", "memory_gb", "constraint_memory_gb",
                    "constraint_mmlu", "data", "cost_source", "trust_source",
                    "decode_energy_per_token_mj", "average_power_w", "area_scope"):  # fmt: skip
            assert row[key] is not None, key
        assert row["memory_gb"] <= 24
        # every row names what its area covers and the node (None only for a unit without one)
        assert row["area_scope"] in ("die", "array + SRAM + DRAM PHY")
        assert row["tech_nm"] is None or row["tech_nm"] > 0
        # trust with its 95% interval, paired against dense, and the tie with the best marked
        assert row["trust_ci95_low"] <= row["trust"] <= row["trust_ci95_high"]
        assert row["trust_vs_dense_ci95_low"] <= row["trust_vs_dense"]
        assert row["trust_vs_dense"] <= row["trust_vs_dense_ci95_high"]
        assert isinstance(row["indistinguishable_from_best"], bool)
        assert "paired bootstrap" in row["trust_interval_source"]
        # MMLU with its interval and question count; each perspective's answered share
        assert row["mmlu_ci95_low"] <= row["mmlu_ll"] <= row["mmlu_ci95_high"]
        assert row["mmlu_items"] > 0
        for p in ("adv_robustness", "fairness", "ethics", "ood"):
            assert 0 <= row[f"{p}_answered"] <= 1
            assert (p in row["thin_perspectives"]) == row[f"{p}_thin"]
        assert row["unanswered_rate"] <= 0.5  # --max-refusal's default
        assert row["unanswered_rate"] <= row["max_unanswered_rate"]
        assert row["energy_per_request_mj"] == pytest.approx(row["energy_mj"])
        assert "held_out" in row
    assert rows[0]["indistinguishable_from_best"]  # the best trust is its own tie
    # no two rows are the same configuration with the same outcome (equivalents are listed)
    outcomes = [
        (tuple(sorted(r["variant_keys"])), json.dumps(r["unit_params"]), r["trust"],
         r["latency_ms"], r["energy_mj"], r["area_mm2"])
        for r in rows
    ]  # fmt: skip
    assert len(set(outcomes)) == len(outcomes)
    with (out / "pareto.csv").open() as fh:
        table = list(csv.DictReader(fh))
        assert len(table) == len(rows)
        assert {"trust_ci95_low", "trust_ci95_high", "indistinguishable_from_best"} <= set(table[0])
    deploys = sorted(out.glob("deploy-*.yaml"))
    assert len(deploys) == len(rows)
    for path in deploys:
        doc = yaml.safe_load(path.read_text())
        assert doc["statement"].startswith("trust measured on synthetic-smollm2")
        assert doc["variants"] and all({"key", "method", "bits"} <= set(v) for v in doc["variants"])
        assert doc["vote"]["rule"] in ("majority", "weighted")
        assert doc["schedule"]["name"] and doc["compute_unit"]["spec"]["family"]
        predicted = doc["predicted"]
        for key in ("decode_energy_per_token_mj", "average_power_w", "area_mm2"):
            assert predicted[key]["source"].startswith("modelled"), key
        assert predicted["mmlu_ll"]["questions"] > 0 and len(predicted["mmlu_ll"]["ci95"]) == 2
        assert 0 <= predicted["fairness"]["answered"] <= 1
        assert predicted["area_mm2"]["scope"] in ("die", "array + SRAM + DRAM PHY")
        for metric in ("trust", "latency_ms", "energy_mj", "area_mm2", "memory_gb"):
            assert math.isfinite(doc["predicted"][metric]["value"])
            assert doc["predicted"][metric]["source"]
        low, high = predicted["trust"]["ci95"]
        assert low <= predicted["trust"]["value"] <= high
        assert isinstance(predicted["trust"]["indistinguishable_from_best"], bool)
    summary = json.loads((out / "summary.json").read_text())
    tied = summary["trust_uncertainty"]["indistinguishable_from_best"]
    assert tied == [r["n"] for r in rows if r["indistinguishable_from_best"]]
    assert "not distinguishable from it" in text
    for png in ("front-objectives.png", "front-trust-latency.png", "front-trust-energy.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_reported_configuration_meets_the_mmlu_floor(search_store, tmp_path, capsys):
    out = tmp_path / "out"
    space = [*SMALL_SPACE, "--schedules", "sequential"]  # the last --schedules wins: 15 configs
    argv = [*search_args(search_store, out), *space, "--exhaustive", "--mmlu-tolerance", "0"]
    code, _, err = _run(capsys, *argv)
    assert code == 0, err
    data = json.loads((out / "pareto.json").read_text())
    floor = data["constraints"]["mmlu"]["min"]
    assert data["constraints"]["mmlu"]["suite"] == "mmlu_ll"
    assert all(row["mmlu_ll"] >= floor for row in data["pareto"])
    study = _study(search_store, out)
    assert any(
        t.constraints.get("mmlu", 0) > 0 for t in study.get_trials(states=(TrialState.COMPLETE,))
    )


def test_a_budget_too_small_names_the_smallest_footprint(search_store, tmp_path, capsys):
    code, out, err = _run(capsys, *search_args(search_store, tmp_path), "--budget-gb", "0.01")
    assert code != 0
    assert "smallest footprint found is" in err and "GB" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("unit", "expected"),
    [("no-such-unit", "unknown compute unit 'no-such-unit'"), ("BROKEN", "not valid YAML")],
)
def test_a_bad_unit_is_one_line(search_store, tmp_path, capsys, unit, expected):
    if unit == "BROKEN":
        unit = str(tmp_path / "broken.yaml")
        (tmp_path / "broken.yaml").write_text("name: x\nfamily: fixed\narray: {rows: [\n")
    code, _, err = _run(capsys, *search_args(search_store, tmp_path), "--units", unit)
    assert code == 2 and expected in err
    assert len(err.strip().splitlines()) == 1


def test_unreachable_storage_is_one_line(tmp_path, capsys):
    url = "postgresql+psycopg://nobody@127.0.0.1:9/nothing"
    code, _, err = _run(capsys, "--store", url, "--no-measure", "--out", str(tmp_path))
    assert code == 2 and "cannot open store" in err
    assert len(err.strip().splitlines()) == 1


def test_every_search_ends_with_an_outcome_summary(search_store, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [*search_args(search_store, out), "--n-trials", "24", "--sampler", "random"]
    code, text, _ = _run(capsys, *argv, "--seed", "3", "--study", "outcome")
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    t = summary["trials"]
    assert t["trials"] == 24 == t["complete"] + t["pruned"] + t["failed"]
    assert t["running"] == t["waiting"] == 0
    assert t["complete"] == t["feasible"] + t["infeasible"]
    assert sum(t["pruned_by_reason"].values()) == t["pruned"]
    assert set(summary["constraints"]) >= {"memory_gb"}
    assert summary["constraints"]["memory_gb"]["binds"] is False  # 24 GB on a 135M model
    history = [h["hypervolume"] for h in summary["hypervolume"]["history"]]
    assert history == sorted(history) and history[-1] == summary["hypervolume"]["final"] > 0
    assert set(summary["best"]) == {"trust", "latency_ms", "energy_mj", "area_mm2"}
    run = summary["run"]
    assert (run["sampler"], run["seed"], run["n_trials"]) == ("random", 3, 24)
    assert run["versions"]["codesign"] and run["versions"]["optuna"] and run["date"]
    assert "--seed 3" in run["command"]
    assert json.loads((out / "pareto.json").read_text())["run"] == run
    assert (out / "summary.md").read_text().startswith("# Search outcome: outcome")
    assert (out / "hypervolume.png").stat().st_size > 0
    assert "trials: 24 — " in text and "never bound" in text and "what to pick" in text
    assert set(summary["phase_seconds"]) == {"vote", "search", "report"}  # nothing measured
    assert "time by phase: vote" in text


def test_a_study_is_never_continued_with_another_sampler_or_seed(search_store, tmp_path, capsys):
    base = [*search_args(search_store, tmp_path), "--n-trials", "6", "--study", "one-sampler"]
    assert _run(capsys, *base, "--sampler", "tpe", "--seed", "0")[0] == 0
    code, _, err = _run(capsys, *base, "--sampler", "random", "--seed", "5")
    assert code == 2 and "was run with the tpe sampler, seed 0" in err
    assert len(err.strip().splitlines()) == 1
    assert _run(capsys, *base, "--sampler", "tpe", "--seed", "0")[0] == 0  # same: resumes


def test_the_demo_model_is_costed_as_the_papers_deployment_by_default():
    from codesign.search.cli import deploy_shape

    shape, why = deploy_shape(None, "smollm2-135m")  # the embedded demo model
    assert shape == "llama-2-13b" and "--deploy-shape measured" in why
    assert deploy_shape("measured", "smollm2-135m")[0] is None
    assert deploy_shape(None, "my-org/my-model")[0] is None  # any other model: its own shape
    assert deploy_shape("llama-2-7b", "smollm2-135m")[0] == "llama-2-7b"


def test_measured_is_a_deploy_shape_choice(search_store, tmp_path, capsys):
    argv = [*search_args(search_store, tmp_path), *SMALL_SPACE, "--deploy-shape", "measured"]
    code, text, _ = _run(capsys, *argv)
    assert code == 0 and "cost shape: synthetic-smollm2's own shape" in text.replace("\n", " ")
