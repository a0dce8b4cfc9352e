"""Bit-plane storage and shared fetch are priced only on members that are one nested set."""

from __future__ import annotations

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
