"""Extensions proven by dropping a file: a new compute-unit family and a new search parameter
are written into a temporary extensions folder laid out like the package
(``$CODESIGN_EXTENSIONS``, the registries' search path), no file of codesign is edited, and
the commands run end to end as separate processes against an existing store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codesign.errors import CodesignError
from codesign.registry import EXTENSIONS_ENV, extension_dirs
from codesign.testing.synthetic_store import build_synthetic_store

FAMILY = '''
"""A family dropped in by a test: a fixed array whose PEs draw half the fixed PE's energy."""

from dataclasses import replace

from codesign.simulators.families.base import FAMILIES
from codesign.simulators.families.fixed import FixedFamily


class HalfEnergyFixed(FixedFamily):
    name = "test-half-energy"
    description = "fixed array at half the PE energy (a dropped-in test family)"

    def rates(self, a, n):
        fixed = super().rates(a, n)
        return replace(fixed, pj_per_mac=0.5 * fixed.pj_per_mac)


FAMILIES.add(HalfEnergyFixed.name, HalfEnergyFixed())
'''

UNIT = """\
name: half8
family: test-half-energy
description: a fixed 8-bit array at half the PE energy
source: this test
clock_mhz: 500
tech_nm: 45
act_bits: 8
bits: 8
array: {rows: 32, cols: 16}
sram: {weight_kb: 128, act_kb: 128}
dram: {bandwidth_gbs: 25.6}
"""

PARAMETER = '''
"""A search parameter dropped in by a test: host overhead that doubles a request's latency
when "python" is picked, through the declared cost hook."""

import dataclasses

from codesign.search.space import Option, parameter_group

OVERHEADS = Option("host_overheads", help="test: host overhead", known=lambda: ("none", "python"))


def doubled_latency(config, priced):
    if config.extra.get("host_overhead") == "python":
        return dataclasses.replace(priced, latency_s=priced.latency_s * 2)
    return priced


@parameter_group("host", order=90, help="test host overhead", options=(OVERHEADS,),
                 cost=doubled_latency)
def host(trial, space, config):
    picks = space.choices["host_overheads"]
    config.extra["host_overhead"] = trial.suggest_categorical("host_overhead", picks)
'''


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('ext-store') / 'store.db'}"
    build_synthetic_store(url).engine.dispose()
    return url


def _drop(root: Path, package_path: str, name: str, text: str) -> Path:
    folder = root.joinpath(*package_path.split("/"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def _run(args: list[str], extensions: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, **{EXTENSIONS_ENV: str(extensions)}, COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", *args], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip


def test_the_extensions_folder_mirrors_the_package(tmp_path, monkeypatch):
    (tmp_path / "simulators" / "families").mkdir(parents=True)
    monkeypatch.setenv(EXTENSIONS_ENV, f"{tmp_path}{os.pathsep}")
    assert extension_dirs("codesign.simulators.families") == [
        str(tmp_path / "simulators" / "families")
    ]
    assert extension_dirs("codesign.search.parameters") == []
    monkeypatch.setenv(EXTENSIONS_ENV, f"{tmp_path}{os.pathsep}{tmp_path / 'missing'}")
    with pytest.raises(CodesignError, match="missing is not a folder"):
        extension_dirs("codesign.simulators.families")


def test_a_family_dropped_in_runs_in_the_simulators_and_the_search(tmp_path, store):
    ext = tmp_path / "ext"
    _drop(ext, "simulators/families", "half_energy.py", FAMILY)
    unit = tmp_path / "half8.yaml"
    unit.write_text(UNIT)
    sim = _run(
        ["codesign.simulators", "--unit", str(unit), "--bits", "4,8", "--json"], ext, tmp_path
    )
    assert sim.returncode == 0, sim.stderr[-2000:]
    modelled = json.loads(sim.stdout)
    assert "test-half-energy unit" in modelled["title"] and modelled["rows"]
    args = ["--store", store, "--budget-gb", "24", "--no-measure", "--unit-params", "fixed"]
    args += ["--mmlu-tolerance", "100"]  # the synthetic MMLU is not under test here
    search = _run(
        ["codesign.search", *args, "--units", f"fixed8,{unit}", "--out", str(tmp_path / "out")],
        ext,
        tmp_path,
    )
    assert search.returncode == 0, search.stderr[-2000:]
    front = json.loads((tmp_path / "out" / "pareto.json").read_text())["pareto"]
    assert "test-half-energy" in {r["unit_family"] for r in front}


def test_a_parameter_dropped_in_changes_cost_through_its_hook(tmp_path, store):
    ext = tmp_path / "ext"
    _drop(ext, "search/parameters", "host_overhead.py", PARAMETER)
    base = ["--store", store, "--budget-gb", "24", "--no-measure", "--units", "fixed8"]
    base += ["--unit-params", "fixed", "--methods", "gptq", "--mmlu-tolerance", "100"]
    latency = {}
    for pick in ("none", "python"):
        out = tmp_path / pick
        run = _run(
            ["codesign.search", *base, "--host-overheads", pick, "--study", f"host-{pick}",
             "--out", str(out)],
            ext,
            tmp_path,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        front = json.loads((out / "pareto.json").read_text())["pareto"]
        assert {r["parameters"]["host_overhead"] for r in front} == {pick}
        latency[pick] = {r["members"]: r["latency_ms"] for r in front}
    shared = set(latency["none"]) & set(latency["python"])
    assert shared
    for members in shared:
        assert latency["python"][members] == pytest.approx(2 * latency["none"][members])


SUITE = '''
"""A trust suite dropped in by a test: style-shifted sentiment with a one-word instruction (on
data an existing loader reads)."""

from codesign.measurements.evaluate.datasets import load_suite_data
from codesign.measurements.evaluate.suites import SUITES, Suite, SuiteData
from codesign.measurements.evaluate.suites.base import accuracy, refusal_rate, source_of, wrap


class StyleFewWords(Suite):
    name = "test_style_words"
    perspective = "test_style"
    title = "Style robustness (dropped-in test suite)"
    short = "style-t"
    order = 45
    trust = True
    datasets = ("ood_style",)
    max_new_tokens = 4
    label_set = ("negative", "positive")

    def load(self, limit, seed, sources=None):
        items, src = load_suite_data(
            "ood_style", source=source_of(sources, "ood_style"), limit=limit, seed=seed
        )
        return SuiteData(wrap("style", items), [src])

    def instruction(self, it):
        return "Answer 'positive' or 'negative'."

    def user_text(self, it):
        return str(it.item.fields["sentence"])

    def score(self, items, labels):
        return {"score": 100 * accuracy(items, labels), "refusal_rate": refusal_rate(labels)}


SUITES.add(StyleFewWords.name, StyleFewWords())
'''


def _evaluate(model: Path, store_url: str, suites: str, limit: str) -> list[str]:
    return [
        "codesign.measurements", "evaluate", "--model", str(model), "--method", "gptq",
        "--bits", "4", "--calib-samples", "4", "--calib-seq-len", "32", "--suites", suites,
        "--limit", limit, "--max-batch-tokens", "256", "--store", store_url,
    ]  # fmt: skip


def test_a_suite_dropped_in_is_evaluated_reported_and_searched(tmp_path, tiny_llama):
    """An existing store (ethics and MMLU measured) gains the new suite: evaluate runs it, the
    report titles it and counts it into trust, the search's trust names it; without the
    extension the same store still has a trust (the perspectives it measured)."""
    ext, empty = tmp_path / "ext", tmp_path / "none"
    _drop(ext, "measurements/evaluate/suites", "style_words.py", SUITE)
    empty.mkdir()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    before = _run(_evaluate(tiny_llama, url, "ethics,mmlu_ll", "2"), empty, tmp_path)
    assert before.returncode == 0, before.stderr[-2000:]
    added = _run(_evaluate(tiny_llama, url, "test_style_words", "3"), ext, tmp_path)
    assert added.returncode == 0, added.stderr[-2000:]
    assert "test_style_words" in added.stdout
    report = _run(["codesign.report", "--store", url, "--out", "report"], ext, tmp_path)
    assert report.returncode == 0, report.stderr[-2000:]
    variants = (tmp_path / "report" / "variants.csv").read_text()
    assert "test_style_words" in variants
    assert (
        "Style robustness (dropped-in test suite)"
        in (tmp_path / "report" / "variants.md").read_text()
    )
    assert "ethics, test_style_words" in (tmp_path / "report" / "README.md").read_text()
    args = ["--store", url, "--budget-gb", "24", "--no-measure", "--mmlu-tolerance", "100"]
    args += ["--max-refusal", "1"]  # a tiny random model answers little: not under test
    args += ["--units", "fixed8,h100", "--unit-params", "fixed", "--out", "out"]
    search = _run(["codesign.search", *args], ext, tmp_path)
    assert search.returncode == 0, search.stderr[-2000:]
    said = " ".join(search.stdout.split())
    assert "never measured, left out: adv_robustness, fairness, ood" in said
    head = json.loads((tmp_path / "out" / "pareto.json").read_text())
    assert head["sources"]["trust"].endswith("mean of ethics, test_style_words")
    scored = _run(["codesign.scoring", "--store", url, "--json"], ext, tmp_path)
    assert scored.returncode == 0, scored.stderr[-2000:]
    mine = [r for r in json.loads(scored.stdout) if r["suite"] == "test_style_words"]
    assert {r["perspective"] for r in mine} == {"test_style"} and len(mine) >= 2
    scores = _run(["codesign.scoring", "--store", url, "--json"], empty, tmp_path)
    assert scores.returncode == 0, scores.stderr[-2000:]
    suites = {r["suite"] for r in json.loads(scores.stdout)}
    assert suites == {"ethics", "mmlu_ll"}  # the store's other outputs are scored as before


def test_an_extensions_path_that_is_no_folder_is_one_line_and_exit_2(tmp_path):
    """A typo in $CODESIGN_EXTENSIONS would otherwise drop the extension without a word."""
    done = _run(["codesign.simulators", "--list"], tmp_path / "no-such-folder", tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: ${EXTENSIONS_ENV}: {tmp_path / 'no-such-folder'} is not a folder"
    ]


def test_an_extension_that_does_not_load_is_one_line_naming_its_file(tmp_path):
    broken = _drop(tmp_path, "simulators/families", "broken.py", "import no_such_module\n")
    for command in (
        [sys.executable, "-m", "codesign.simulators", "--list"],
        [sys.executable, "-m", "codesign", "simulators", "--list"],
    ):
        env = dict(os.environ, **{EXTENSIONS_ENV: str(tmp_path)})
        done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert str(broken) in lines[0] and "No module named 'no_such_module'" in lines[0]
