"""Nested any-precision sets on a tiny random model: nesting holds bit for bit, quality falls
with bits like every method's, and a killed build leaves nothing half-made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from codesign.cli import main as cli_main
from codesign.measurements.quantize import nested
from codesign.measurements.quantize.ensure import ensure_variant
from codesign.measurements.quantize.models import resolve_model
from codesign.measurements.quantize.recipes import VariantSpec
from codesign.store import Store
from tests.measurements.quantize.test_ensure import CALIB, _relative_logits_error

SET = (3, 8)


def _member(store, model, bits):
    return ensure_variant(store, model, VariantSpec("anyprec", bits), CALIB, nest=SET).row


def test_members_are_the_top_bit_planes_of_one_set(tiny_llama, store_url):
    store = Store(store_url)
    model = resolve_model(str(tiny_llama))
    rows = {b: _member(store, model, b) for b in (3, 4, 8)}
    set_dir = Path(rows[8].path).parent
    assert all(Path(r.path).parent == set_dir for r in rows.values())
    assert len({r.recipe["parent_set"] for r in rows.values()}) == 1
    seed = ensure_variant(store, model, VariantSpec("gptq", 3), CALIB).row
    _, seed_layers = nested.read_gptq_codes(Path(seed.path))
    from safetensors.torch import load_file

    codes = load_file(str(set_dir / nested.CODES_FILE))
    weights = {b: nested.load_member_weights(set_dir, b) for b in (3, 4, 8)}
    for prefix, layer in seed_layers.items():
        top = codes[prefix + ".codes"].long()
        assert int(top.max()) < 256
        # the 3-bit member's codes are the GPTQ seed's, bit for bit
        assert torch.equal(nested.member_codes(top, 8, 3), layer["codes"].long())
        # each member's codes are the top n planes of the 8-bit codes, and of every wider one
        four = nested.member_codes(top, 8, 4)
        assert torch.equal(four >> 1, nested.member_codes(top, 8, 3))
        assert torch.equal(nested.member_codes(top, 8, 8), top)
        # the 3-bit member decodes to the seed's own weights
        scales = nested.per_weight(layer["scales"], layer["g_idx"])
        zeros = nested.per_weight(layer["zeros"], layer["g_idx"])
        assert torch.allclose(weights[3][prefix], scales * (layer["codes"].float() - zeros))


def test_logits_error_falls_as_bits_rise_beside_gptq(tiny_llama, store_url):
    store = Store(store_url)
    model = resolve_model(str(tiny_llama))
    nested_err = {b: _relative_logits_error(tiny_llama, _member(store, model, b)) for b in SET}
    nested_err[4] = _relative_logits_error(tiny_llama, _member(store, model, 4))
    gptq3 = ensure_variant(store, model, VariantSpec("gptq", 3), CALIB).row
    assert nested_err[3] > nested_err[4] > nested_err[8], nested_err
    # the seed member is GPTQ-3 itself (float32 path vs the kernel's dtype: close, not equal)
    assert nested_err[3] == pytest.approx(_relative_logits_error(tiny_llama, gptq3), rel=0.05)


def test_a_killed_build_leaves_no_set_and_the_next_run_completes(
    tiny_llama, store_url, monkeypatch
):
    store = Store(store_url)
    model = resolve_model(str(tiny_llama))
    real = nested.build_set

    def killed(seed_dir, dense_dir, out_dir, *args, **kw):
        (out_dir / nested.CODES_FILE).write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(nested, "build_set", killed)
    spec = VariantSpec("anyprec", 4, seed=5)  # a set no other test builds
    with pytest.raises(KeyboardInterrupt):
        ensure_variant(store, model, spec, CALIB, nest=SET)
    assert not any(r.method == "anyprec" and r.seed == 5 for r, _ in store.variants())
    monkeypatch.setattr(nested, "build_set", real)
    row = ensure_variant(store, model, spec, CALIB, nest=SET).row
    set_dir = Path(row.path).parent
    assert json.loads((set_dir / nested.SET_FILE).read_text())["top_bits"] == 8
    assert not list(set_dir.parent.glob(f"{set_dir.name}.tmp-*"))
    again = ensure_variant(store, model, spec, CALIB, nest=SET)
    assert again.cached and again.row.key == row.key


def test_quantize_cli_makes_the_nested_set(tiny_llama, store_url, capsys):
    argv = ["quantize", "--model", str(tiny_llama), "--method", "anyprec", "--bits", "3,4,8"]
    argv += ["--calib-samples", "8", "--calib-seq-len", "64", "--store", store_url]
    assert cli_main(["measurements", *argv]) == 0
    rows = [r for r, _ in Store(store_url).variants() if r.method == "anyprec"]
    assert sorted(r.bits for r in rows) == [3, 4, 8]
    assert "anyprec-w4" in capsys.readouterr().out


def test_evaluate_measures_each_members_logits_error_and_the_report_shows_it(tiny_llama, store_url):
    from codesign.measurements import quality
    from codesign.measurements.cli import main as measurements_main
    from codesign.report.data import load_report_data
    from codesign.report.markdown import variants_markdown

    argv = ["evaluate", "--model", str(tiny_llama), "--method", "anyprec,gptq", "--bits", "3,4"]
    argv += ["--calib-samples", "8", "--calib-seq-len", "64", "--suites", "mmlu_ll"]
    argv += ["--limit", "3", "--store", store_url]
    assert measurements_main(argv) == 0
    store = Store(store_url)
    errors = store.variant_metrics(quality.LOGITS_ERROR)
    rows = {(r.method, r.bits): r for r, _ in store.variants()}
    assert set(errors) == {r.key for k, r in rows.items() if k[0] != "dense"}
    assert errors[rows["anyprec", 3].key][0] > errors[rows["anyprec", 4].key][0]
    assert "probe" in errors[rows["anyprec", 4].key][1]
    text = variants_markdown(load_report_data(store_url))
    assert "relative logits error vs dense" in text
    assert "nested (top bit-planes of one set)" in text and "independent" in text
