"""Bit-plane storage and shared fetch are priced only on members that are one nested set."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from codesign.search import Settings, build_context
from codesign.search.objective import evaluate_config
from codesign.search.space import Config
from codesign.store import Store


def test_shared_fetch_on_independent_variants_is_refused_with_the_reason(search_store):
    store = Store(search_store, create=False)
    ctx = build_context(Settings(store=search_store, choices={"units": ("stripes",)}), store)
    ladder = ctx.space.ladders["gptq"]
    members = tuple(ladder[b][0] for b in sorted(ladder, reverse=True))[:3]
    assert len(members) == 3
    base = dict(method="gptq", members=members, unit="stripes")
    refused = evaluate_config(ctx, Config(**base, schedule="shared-fetch"))
    assert refused.values is None
    assert "independent quantizations" in refused.cannot_run
    assert "nested set" in refused.cannot_run
    apart = evaluate_config(ctx, Config(**base, schedule="sequential"))
    assert apart.values is not None
    assert apart.metrics["weight_storage"] == "packed, each member stored apart"


def test_every_shared_fetch_deployment_on_the_front_is_a_nested_set(tmp_path, capsys):
    """Independent GPTQ {3,4,8} against a nested {3,4,8} on equal footing: the front may hold
    shared-fetch configurations, and every one of them is the nested set."""
    import json

    from codesign.search.cli import entry
    from codesign.testing.synthetic_store import VARIANTS, build_synthetic_store
    from tests.search.conftest import search_args

    url = f"sqlite:///{tmp_path / 'store.db'}"
    nested = (("anyprec", 8), ("anyprec", 4), ("anyprec", 3))
    build_synthetic_store(url, variants=VARIANTS[:4] + nested)
    out = tmp_path / "out"
    space = ["--methods", "anyprec,gptq", "--units", "bitplane,stripes", "--unit-params", "fixed"]
    space += ["--schedules", "sequential,shared-fetch", "--vote-rules", "majority"]
    assert entry([*search_args(url, out), *space, "--exhaustive"]) == 0, capsys.readouterr().err
    rows = json.loads((out / "pareto.json").read_text())["pareto"]
    shared = [r for r in rows if r["schedule"] == "shared-fetch" and r["ensemble_size"] > 1]
    assert all(r["method"] == "anyprec" for r in shared)
    assert all(r["weight_storage"].startswith("bit-plane: one nested set") for r in shared)
    # every configuration was tried: nested shared fetch ran, independent shared fetch was
    # pruned with its reason
    study = optuna.load_study(
        study_name=json.loads((out / "pareto.json").read_text())["study"], storage=url
    )
    ran = refused = 0
    for t in study.trials:
        config = t.user_attrs["config"]
        if config["schedule"] != "shared-fetch" or config["ensemble_size"] < 2:
            continue
        nested = config["method"] == "anyprec" and 16 not in config["bits"]  # dense: not nested
        reason = t.user_attrs.get("cannot_run", "")
        assert (t.state == TrialState.COMPLETE) == nested, config
        assert nested or "independent quantizations" in reason, reason
        ran, refused = ran + nested, refused + (not nested)
    assert ran and refused
