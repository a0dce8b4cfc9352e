"""`python -m codesign.report` writes every figure and table from a store, naming the model,
its baseline and the data; a missing or empty store is one line on stderr and exit 2."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from codesign.report.cli import entry
from codesign.scoring.profiles import PROFILES
from codesign.scoring.stored import load_predictions, provenance
from codesign.scoring.variants import variant_scores
from codesign.store import Store
from tests.report.store_builder import BASELINE, MODEL, build_report_store

FILES = {
    "fig1_variants.png",
    "fig3_ensembles.png",
    "variants.csv",
    "variants.md",
    "ensembles.csv",
    "ensembles.md",
    "README.md",
    "reference.md",
}


def _run(argv: list[str]) -> SimpleNamespace:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = entry(argv)
    return SimpleNamespace(code=code, stdout=out.getvalue(), stderr=err.getvalue())


def _assert_one_line_error(code: int, stderr: str, pattern: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error:") and pattern in lines[0], lines[0]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{root / 'store.db'}"
    build_report_store(url)
    # strict: the synthetic labels as stored, so rates keep the relations asserted below
    run = _run(["--store", url, "--out", str(root / "out"), "--scoring", "strict"])
    run.out = root / "out"
    run.url = url
    run.preds = load_predictions(Store(url, create=False), profile="strict")
    return run


def test_the_cli_writes_every_file_and_lists_it(report):
    assert report.code == 0, report.stderr
    assert {p.name for p in report.out.iterdir()} == FILES
    for name in FILES:
        assert str(report.out / name) in report.stdout
    assert "best gptq ensemble" in report.stdout and MODEL in report.stdout


@pytest.mark.parametrize("name", ["fig1_variants.png", "fig3_ensembles.png"])
def test_figures_are_nonblank_png_images(report, name):
    path = report.out / name
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[0] > 400 and image.shape[1] > 800
    assert np.asarray(image).std() > 0.05  # something is drawn


def test_variants_csv_has_every_metric_of_every_variant_plus_trust(report):
    table = pd.read_csv(report.out / "variants.csv")
    expected = variant_scores(report.preds)
    n_members = len(report.preds.members)
    # trust rows per variant: score, refusal, no-valid-answer and unanswered rates
    assert len(table) == len(expected) + 4 * n_members
    assert set(table["variant"]) == {m.label for m in report.preds.members}
    assert set(table["suite"]) == set(report.preds.suites) | {"trust"}
    assert {"model", "baseline", "n_items", "data", "data_kind", "delta_vs_dense"} <= set(
        table.columns
    )
    assert set(table["model"]) == {MODEL} and set(table["baseline"]) == {BASELINE}
    assert {"real", "stand-in"} <= set(table["data_kind"])
    for sub in (
        "acc_zero",
        "fpr_jailbreak",
        "knowledge_rr",
        "zero_shot_br_0.0_dpd",
        "sst2_accuracy",
        "no_valid_rate",
        "unanswered_rate",
    ):
        assert sub in set(table["metric"]), sub
    dense = table[table["variant"] == "dense"]
    assert np.allclose(dense["delta_vs_dense"].dropna(), 0)


def test_variant_trust_is_the_mean_of_the_four_perspectives(report):
    table = pd.read_csv(report.out / "variants.csv")
    scores = table[(table["metric"] == "score")].pivot_table(
        index="variant", columns="suite", values="value"
    )
    perspectives = ["adv_robustness", "fairness", "ethics", "ood"]
    assert np.allclose(scores["trust"], scores[perspectives].mean(axis=1))


def test_ensembles_csv_has_every_subset_and_vote_rule(report):
    table = pd.read_csv(report.out / "ensembles.csv")
    m = len(report.preds.members)
    assert len(table) == 2 * (2**m - 1)  # majority and weighted
    assert set(zip(table["subset"], table["vote_rule"], strict=True)) == {
        (s, r) for s in range(1, 2**m) for r in ("majority", "weighted")
    }
    assert (table["refusal_rate"] >= table["no_valid_rate"] - 1e-12).all()
    assert (table["unanswered_rate"] >= table["no_valid_rate"] - 1e-12).all()
    for suite, sl in report.preds.suites.items():
        assert set(table[f"{suite}_n_items"]) == {len(sl.items)}
        assert table[f"{suite}_no_valid_rate"].between(0, 1).all()
        assert table[f"{suite}_data"].iloc[0] in ("real", "stand-in")
    singles = pd.read_csv(report.out / "variants.csv")
    own = singles.query("variant == 'dense' and suite == 'trust' and metric == 'score'")
    # the CSV keeps 6 significant digits, so compare to that precision
    assert np.allclose(table["trust_vs_dense"], table["trust"] - own["value"].item(), atol=1e-3)


@pytest.mark.parametrize("name", ["variants.md", "ensembles.md", "README.md"])
def test_markdown_names_model_baseline_and_every_suites_data(report, name):
    text = (report.out / name).read_text()
    assert MODEL in text and BASELINE in text
    assert "stand-in" in text and "real" in text and "measured" in text
    for suite, prov in provenance(report.preds).items():
        assert prov in text, suite  # e.g. "stand-in: ethics:stand-in (4 items); ...; 28 items"


def test_ensembles_md_shows_the_best_same_method_ensemble_against_dense(report):
    table = pd.read_csv(report.out / "ensembles.csv")
    gptq_only = table[
        (table["size"] >= 2)
        & table["methods"].map(lambda s: set(s.split(",")) - {"dense"} == {"gptq"})
    ]
    best = gptq_only.sort_values(["trust", "size"], ascending=[False, True]).iloc[0]
    text = (report.out / "ensembles.md").read_text()
    row = next(ln for ln in text.splitlines() if ln.startswith("| best gptq ensemble"))
    assert best["members"] in row and f"{best['trust']:.1f}" in row
    gap = best["trust_vs_dense"]
    assert f"{abs(gap):.1f}" in row
    assert "vs gptq-w" in row  # compared with the best single GPTQ variant


@pytest.mark.parametrize("name", ["README.md", "ensembles.md"])
def test_best_picks_carry_their_held_out_check(report, name):
    from codesign.ensembles.holdout import held_out_gains

    held = held_out_gains(report.preds)
    text = (report.out / name).read_text()
    row = next(ln for ln in text.splitlines() if ln.startswith("| best gptq ensemble"))
    assert held[("gptq", "ensemble")].text() in row
    assert "held-out Δ dense" in text and "other half" in text
    assert "held-out Δ dense" in report.stdout


def test_readme_lists_every_file(report):
    text = (report.out / "README.md").read_text()
    for name in FILES - {"README.md"}:
        assert f"]({name})" in text


def test_an_unknown_model_is_one_line(report, tmp_path):
    run = _run(["--store", report.url, "--model", "nope", "--out", str(tmp_path / "o")])
    _assert_one_line_error(run.code, run.stderr, "no predictions stored for model 'nope'")


def test_a_missing_store_is_one_line_and_creates_no_file(tmp_path):
    db = tmp_path / "missing.db"
    proc = subprocess.run(
        [sys.executable, "-m", "codesign.report", "--store", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    _assert_one_line_error(proc.returncode, proc.stderr, "no store file")
    assert not db.exists() and not (tmp_path / "results").exists()


def test_a_store_without_predictions_is_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    Store(url).upsert_model("fp", MODEL, BASELINE, "test", {})
    run = _run(["--store", url, "--out", str(tmp_path / "o")])
    _assert_one_line_error(run.code, run.stderr, "holds no predictions")


def test_a_database_that_is_not_a_store_is_one_line(tmp_path):
    db = tmp_path / "other.db"
    sqlite3.connect(db).execute("create table t (x int)").connection.commit()
    run = _run(["--store", f"sqlite:///{db}", "--out", str(tmp_path / "o")])
    _assert_one_line_error(run.code, run.stderr, "is not a codesign store")


def test_bad_top_is_one_line(tmp_path):
    err = io.StringIO()
    with redirect_stderr(err), pytest.raises(SystemExit) as stop:  # argparse's own exit
        entry(["--store", f"sqlite:///{tmp_path / 'x.db'}", "--top", "0"])
    _assert_one_line_error(stop.value.code, err.getvalue(), "--top: must be an integer")


@pytest.mark.parametrize("profile", ["comptrust", "decodingtrust"])
def test_the_same_store_reports_under_each_scoring_profile(report, tmp_path, profile):
    run = _run(["--store", report.url, "--out", str(tmp_path), "--scoring", profile])
    assert run.code == 0, run.stderr
    title = PROFILES.get(profile).title
    for name in ("variants.md", "ensembles.md", "README.md", "reference.md"):
        assert title in (tmp_path / name).read_text(), name
    assert set(pd.read_csv(tmp_path / "ensembles.csv")["scoring"]) == {profile}
    assert set(pd.read_csv(tmp_path / "variants.csv")["scoring"]) == {profile}


def test_the_published_reference_stands_apart_from_the_measured(report):
    text = (report.out / "reference.md").read_text()
    measured, published = text.split("## Published reference")
    assert "num_sheet.csv" in published and "LLaMA-2-13b-chat" in published
    assert "| gptq-w3 | 3 | 51.2 (47.3–54.5) |" in published  # mean (min–max) over 3 seeds
    assert "| dense | 1 | 60.2 | 53.6 | 37.4 | 82.2 | 62.3 | 58.8 |" in published
    assert MODEL in measured and "num_sheet" not in measured
    assert "Published reference (not measured here)" in report.stdout


def test_an_interrupted_report_leaves_no_folder_behind(report, tmp_path, monkeypatch):
    """Ctrl-C while the files are written: the folder the command made is gone again, and the
    one line says nothing was written."""
    from codesign.report import build

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build, "figure_ensembles", interrupted)
    out = tmp_path / "new" / "report"
    run = _run(["--store", report.url, "--out", str(out), "--scoring", "strict"])
    assert run.code == 130, run.stderr
    assert "nothing was written" in run.stderr
    assert not out.exists()
