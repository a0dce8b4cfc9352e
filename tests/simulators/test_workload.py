"""Workloads from presets and config files: parameter counts, GEMMs, weight and KV bytes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codesign.errors import CodesignError
from codesign.simulators import Variant, Workload, load_model, model_presets, weight_bytes
from codesign.simulators.workload import ATTENTION, HEAD, LINEAR, ModelShape

PUBLISHED_PARAMS = {  # from the model cards / parameter counts of the released checkpoints
    "smollm2-135m": 134.5e6,
    "llama-2-7b": 6.74e9,
    "llama-2-13b": 13.0e9,
    "qwen2.5-7b": 7.61e9,
}


@pytest.mark.parametrize(("name", "params"), sorted(PUBLISHED_PARAMS.items()))
def test_presets_have_the_published_parameter_count(name, params):
    assert load_model(name).params == pytest.approx(params, rel=0.005)


def test_required_presets_are_bundled():
    assert set(PUBLISHED_PARAMS) <= set(model_presets())


def test_smollm2_preset_has_the_embedded_models_shape(smollm):
    assert (smollm.hidden, smollm.layers, smollm.heads, smollm.kv_heads) == (576, 30, 9, 3)
    assert (smollm.intermediate, smollm.vocab, smollm.tied_embeddings) == (1536, 49152, True)


def test_presets_resolve_by_hub_alias():
    assert load_model("HuggingFaceTB/SmolLM2-135M-Instruct").hidden == 576


def test_model_reads_a_config_json_file_or_its_directory(tmp_path):
    config = {
        "hidden_size": 256,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 512,
        "vocab_size": 1000,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    for where in (tmp_path, tmp_path / "config.json"):
        shape = load_model(str(where))
        assert (shape.hidden, shape.kv_heads, shape.head_dim) == (256, 2, 64)


def test_config_missing_a_field_names_it(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    with pytest.raises(CodesignError, match="num_attention_heads"):
        load_model(str(tmp_path))


def test_unknown_model_lists_the_presets():
    with pytest.raises(CodesignError, match="smollm2-135m"):
        load_model("no-such-model")


def test_decode_macs_are_one_per_weight_plus_attention(smollm, decode):
    t = decode.gemms()
    weights = smollm.linear_params + smollm.vocab * smollm.hidden
    assert t.macs[t.kind != ATTENTION].sum() == weights
    attention = 2 * smollm.heads * smollm.head_dim * 512 * smollm.layers
    assert t.macs[t.kind == ATTENTION].sum() == attention
    assert list(t.kind) == sorted(t.kind)  # linears, head, attention


def test_prefill_scales_linears_with_tokens_and_attention_causally(smollm, prefill):
    t = prefill.gemms()
    assert t.macs[t.kind == LINEAR].sum() == 128 * smollm.linear_params
    assert t.macs[t.kind == HEAD].sum() == smollm.vocab * smollm.hidden  # last position only
    pairs = 128 * 129 / 2
    assert t.macs[t.kind == ATTENTION].sum() == 2 * 9 * 64 * pairs * 30


def test_kv_cache_bytes(decode):
    assert decode.kv_cache_bytes() == 2 * 30 * 3 * 64 * 512 * 2
    batch4 = Workload.decode(decode.model, context=512, batch=4, kv_bits=8)
    assert batch4.kv_cache_bytes() == 2 * decode.kv_cache_bytes()


def test_gptq_weight_bytes_count_packed_weights_scales_and_zeros():
    shape = ModelShape("toy", 256, 2, 4, 4, 64, 512, 1000, tied_embeddings=False)
    got = weight_bytes(shape, Variant("gptq", 4, 128))
    per_layer = 4 * 256 * 256 + 2 * 256 * 512 + 512 * 256  # q k v o, gate up, down
    assert got.quantized == 2 * per_layer * 4 / 8
    groups = (256 / 128) * (4 * 256 + 2 * 512) + (512 / 128) * 256  # groups x out channels
    assert got.metadata == 2 * groups * (16 + 4) / 8
    assert got.unquantized == (2 * 1000 * 256 + 5 * 256) * 2  # embeddings, head, norms at 16 bit


def test_dense_weight_bytes_are_sixteen_bit_without_metadata(smollm):
    got = weight_bytes(smollm, Variant.dense())
    assert got.metadata == 0
    assert got.total == smollm.params * 2


def test_per_channel_quantization_has_one_group_per_output_channel(smollm):
    per_channel = weight_bytes(smollm, Variant("awq", 3, None))
    grouped = weight_bytes(smollm, Variant("awq", 3, 32))
    assert per_channel.metadata < grouped.metadata
    assert per_channel.quantized == grouped.quantized


@pytest.mark.parametrize(
    "bad", [("dense", 4, None), ("gptq", 16, 128), ("gptq", 4, 0), ("rtn?", 4, 128)]
)
def test_invalid_variants_are_one_line_errors(bad):
    with pytest.raises(CodesignError):
        Variant(*bad)


def test_qwen_counts_its_qkv_bias():
    shape = load_model("qwen2.5-7b")
    assert shape.qkv_bias and not load_model("llama-2-7b").qkv_bias
    assert np.isclose(shape.params, 7.6156e9, rtol=1e-4)
