"""The settings comp-trust runs, read from DecodingTrust's published layouts: every fairness
setting a folder has a file for (the rest named as not run), ETHICS 0- and 32-shot with the
jailbreak and evasive variants on the first 200 immoral items, `--limit` sampling within each."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import numpy as np

from codesign.measurements.evaluate.suites import SUITES
from codesign.measurements.evaluate.suites.fairness import COMPTRUST_SETTINGS
from tests.measurements.evaluate.datasets.paths import DT_DATA

FAIR, ETHICS, OOD = SUITES.get("fairness"), SUITES.get("ethics"), SUITES.get("ood")


def test_the_eleven_fairness_settings_are_comp_trusts():
    assert len(COMPTRUST_SETTINGS) == 11
    assert COMPTRUST_SETTINGS["few_shot_16_fair_demon"] == ("adult", 16, 0.5, 0.0)
    assert {k for k in COMPTRUST_SETTINGS if k.startswith("crime")} == {
        "crime_br_0.0",
        "crime_br_0.5",
        "crime_br_1.0",
    }


def test_a_decodingtrust_folder_runs_every_setting_it_has_a_file_for(tmp_path):
    root = tmp_path / "fairness_data"
    shutil.copytree(DT_DATA / "fairness" / "fairness_data", root)
    rows = [
        {"option": ["high", "low"], "input": f"description: community {i}.", "label": lab}
        for i, lab in enumerate(["high", "low", "low", "high"])
    ]
    crime = root / "crime_0_300_test_base_rate_0.5.jsonl"
    crime.write_text("".join(json.dumps(r) + "\n" for r in rows))
    np.save(root / f"gt_labels_{crime.stem}.npy", np.array([0, 1, 1, 0]))
    data = FAIR.load(None, 0, {"adult": str(tmp_path)})
    counts = Counter(it.setting for it in data.items)
    assert counts == {"zero_shot_br_0.5": 8, "few_shot_32_fair_demon": 4, "crime_br_0.5": 4}
    assert "settings not run (no file): zero_shot_br_0.0" in data.provenance()
    crime_items = [it for it in data.items if it.setting == "crime_br_0.5"]
    assert {it.item.labels for it in crime_items} == {("high", "low")}
    assert FAIR.instruction(crime_items[0]).startswith("According to the description")
    limited = FAIR.load(2, 0, {"adult": str(tmp_path)})
    assert Counter(it.setting for it in limited.items) == {
        "zero_shot_br_0.5": 2,
        "few_shot_32_fair_demon": 2,
        "crime_br_0.5": 2,
    }


def test_ethics_runs_comp_trusts_four_settings_and_names_one_it_cannot(tmp_path):
    data = ETHICS.load(3, 0, None)  # the stand-in test and training files
    counts = Counter(it.setting for it in data.items)
    assert counts["zero"] == counts["few"] == 3 and counts["jailbreak"] == counts["evasive"]
    assert counts["jailbreak"] == 5 * 3  # 3 sampled immoral items x 5 prompts
    assert "few 3×32-shot" in data.provenance()
    shutil.copy(DT_DATA / "machine_ethics/ethics/commonsense/cm_test.csv", tmp_path)
    alone = ETHICS.load(2, 0, {"ethics": str(tmp_path / "cm_test.csv")})
    assert "few" not in {it.setting for it in alone.items}
    assert "setting not run: few" in alone.provenance() and "cm_train.csv" in alone.provenance()


def _ood_folder(tmp_path):
    """The fixture's style.json and a knowledge.json with every demonstration set comp-trust
    uses (the fixture has one), both in DecodingTrust's layout."""
    src = DT_DATA / "ood"
    knowledge = json.loads((src / "knowledge.json").read_text())
    demo = knowledge["demo"]["global_facts_0"]
    for name in ("global_facts", "machine_learning", "moral_scenarios", "us_foreign_policy"):
        for run in range(3):
            knowledge["demo"][f"{name}_{run}"] = demo
    style = json.loads((src / "style.json").read_text())
    for run in (1, 2):
        style["train_demo"][f"base_{run}"] = style["train_demo"]["base_0"]
    (tmp_path / "knowledge.json").write_text(json.dumps(knowledge))
    (tmp_path / "style.json").write_text(json.dumps(style))
    return knowledge, style


def test_ood_runs_comp_trusts_four_parts_from_decodingtrusts_files(tmp_path):
    knowledge, style = _ood_folder(tmp_path)
    paths = {"ood_style": str(tmp_path), "ood_knowledge": str(tmp_path)}
    data = OOD.load(None, 0, paths)
    counts = Counter(it.setting.split(":")[0] for it in data.items)
    n2023, n2020 = len(knowledge["test"]["qa_2023"]), len(knowledge["test"]["qa_2020"])
    styled = sum(len(v) for k, v in style["dev"].items() if k != "base")
    assert counts == {
        "knowledge": n2023,
        "knowledge_std": n2023,
        "style": styled,
        "knowledge_5shot": 12 * n2020,  # 4 demonstration sets x 3 draws
        "style_8shot": 3 * len(style["dev"]["shake_p0.6"]),  # the p0.6 styles present x 3
    }
    few = next(it for it in data.items if it.setting.startswith("knowledge_5shot"))
    assert len(OOD.demonstrations(few)) == min(5, len(knowledge["demo"]["global_facts_0"]))
    assert "4 : I don't know" not in OOD.user_text(few)


def test_ood_offline_names_the_part_it_cannot_run():
    data = OOD.load(2, 0, None)
    assert "part not run: knowledge_5shot" in data.provenance()
    assert {it.setting.split(":")[0] for it in data.items} >= {"style", "knowledge"}


def test_ood_score_is_the_mean_of_the_parts_measured():
    from codesign.measurements.evaluate.datasets.base import Item
    from codesign.measurements.evaluate.suites import SuiteItem

    def it(setting, label, labels, **meta):
        key = f"{setting}|{label}|{sorted(meta.items())}"
        return SuiteItem(key, setting, Item(key, "t", {}, label, labels, meta))

    s = ("negative", "positive")
    items = [it("style", "positive", s, category="a"), it("style", "positive", s, category="b")]
    items += [it("style_8shot:a:base_0", "negative", s, category="a")]
    labels = ["positive", "negative", "negative"]  # style 0-shot: mean(1, 0) = 0.5; 8-shot 1.0
    out = OOD.score(items, labels)
    assert out["score"] == 75.0 and out["ood_parts"] == 2.0


def test_advglue_rows_are_base_model_files_by_task_and_missing_files_are_named(tmp_path):
    adv = SUITES.get("adv_robustness")
    offline = adv.load(2, 0, None)
    assert Counter(it.setting for it in offline.items) == {"sst2": 2, "qqp": 2, "mnli": 2}
    assert "base-model files not run: alpaca, vicuna, stable-vicuna" in offline.provenance()
    folder = tmp_path / "adv-glue-plus-plus" / "data"
    folder.mkdir(parents=True)
    src = DT_DATA / "adv-glue-plus-plus" / "data" / "alpaca.json"
    for model in ("alpaca", "vicuna"):
        shutil.copy(src, folder / f"{model}.json")
    data = adv.load(1, 0, {"advglue": str(tmp_path)})
    settings = Counter(it.setting for it in data.items)
    assert set(settings) == {
        f"{m}:{t}" for m in ("alpaca", "vicuna") for t in ("sst2", "qqp", "mnli")
    }
    assert {it.item.meta["model"] for it in data.items} == {"alpaca", "vicuna"}
    assert "base-model files not run: stable-vicuna" in data.provenance()
