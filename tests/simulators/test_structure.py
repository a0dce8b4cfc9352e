"""Structural facts the model must get right whatever its constants."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.simulators import (
    DesignBatch,
    Workload,
    evaluate,
    load_model,
    load_unit,
    variants_from_bits,
)
from codesign.simulators.variants import metadata_groups


def run(unit: str, work, bits, schedule="sequential", method="gptq", **kw):
    designs = DesignBatch.from_specs([load_unit(unit)])
    out = evaluate(designs, work, variants_from_bits(bits, method), schedule, **kw)
    return {k: v[0] for k, v in out.items()}


@pytest.mark.parametrize("unit", ["h100", "a100"])
@pytest.mark.parametrize("model", ["smollm2-135m", "llama-2-7b", "llama-2-13b", "qwen2.5-7b"])
@pytest.mark.parametrize("bits", [3, 4, 8, 16])
def test_decode_at_batch_one_is_memory_bound_on_gpus(unit, model, bits):
    work = Workload.decode(load_model(model), context=1024, batch=1)
    out = run(unit, work, [bits])
    assert out["memory_bound"]


def test_large_batch_prefill_is_compute_bound_on_gpus():
    work = Workload.prefill(load_model("llama-2-7b"), tokens=2048, batch=8)
    assert not run("h100", work, [4])["memory_bound"]


@pytest.mark.parametrize("phase", ["decode", "prefill"])
def test_three_bits_cost_less_than_four_on_bit_serial(phase, decode, prefill):
    work = decode if phase == "decode" else prefill
    three, four = run("stripes", work, [3]), run("stripes", work, [4])
    assert three["latency_s"] < four["latency_s"]
    assert three["energy_j"] < four["energy_j"]
    assert three["mac_energy_j"] < four["mac_energy_j"]


@pytest.mark.parametrize("phase", ["decode", "prefill"])
def test_three_bits_compute_the_same_as_four_on_bit_fusion(phase, decode, prefill):
    """3-bit weights run on 4-bit fused multipliers: the same MAC energy, and the same time
    where compute binds; stored packed at 3 bits like on every unit, so they move fewer bytes."""
    work = decode if phase == "decode" else prefill
    three, four = run("bitfusion", work, [3]), run("bitfusion", work, [4])
    assert three["mac_energy_j"] == pytest.approx(four["mac_energy_j"])
    assert three["memory_bytes"] < four["memory_bytes"]
    if phase == "prefill":
        assert three["latency_s"] == pytest.approx(four["latency_s"])


@pytest.mark.parametrize("unit", ["fixed8", "bitfusion", "stripes", "bitplane", "h100"])
def test_one_sub_byte_storage_rule_for_every_family(unit, decode):
    three, four = run(unit, decode, [3]), run(unit, decode, [4])
    model = load_model("smollm2-135m")
    per_weight = (four["weight_bytes"] - three["weight_bytes"]) / model.linear_params
    assert per_weight == pytest.approx(1 / 8, rel=0.02)  # one bit per weight (+ packed zeros)


def test_bit_fusion_two_bits_is_cheaper_per_mac_than_eight(prefill):
    two, eight = run("bitfusion", prefill, [2]), run("bitfusion", prefill, [8])
    assert two["mac_energy_j"] < eight["mac_energy_j"] / 2


def test_bitplane_storage_of_3_4_8_costs_8_bits_plus_metadata(smollm, decode):
    """A nested {3,4,8} set is stored once as the 8-bit planes plus each member's metadata;
    independent GPTQ {3,4,8} pays every member's weights whatever the storage."""
    variants = variants_from_bits([3, 4, 8], "anyprec")
    meta = sum(metadata_groups(smollm, v) * (16 + v.bits) / 8 for v in variants)
    unquantized = smollm.unquantized_params * 2
    planes = smollm.linear_params * 8 / 8 + meta + unquantized
    packed = smollm.linear_params * 15 / 8 + meta + unquantized
    nested = dict(method="anyprec")
    assert run("bitplane", decode, [3, 4, 8], **nested)["weight_bytes"] == pytest.approx(planes)
    assert run("stripes", decode, [3, 4, 8], **nested)["weight_bytes"] == pytest.approx(packed)
    # the shared-fetch schedule stores bit planes on any unit
    shared = run("stripes", decode, [3, 4, 8], "shared-fetch", **nested)
    assert shared["weight_bytes"] == pytest.approx(planes)
    assert run("bitplane", decode, [3, 4, 8])["weight_bytes"] == pytest.approx(packed)


def test_shared_fetch_moves_fewer_bytes_than_fetching_per_member(decode):
    seq = run("bitplane", decode, [3, 4, 8], "sequential", method="anyprec")
    shared = run("bitplane", decode, [3, 4, 8], "shared-fetch", method="anyprec")
    assert shared["dram_bytes"] < 0.6 * seq["dram_bytes"]
    assert shared["latency_s"] < seq["latency_s"]
    assert shared["mac_energy_j"] == pytest.approx(seq["mac_energy_j"])


def test_partitioned_is_never_slower_than_sequential(decode, prefill):
    for unit in ("fixed8", "bitfusion", "hetero-8-4-3", "h100"):
        for work in (decode, prefill):
            seq = run(unit, work, [3, 4, 8], "sequential")
            part = run(unit, work, [3, 4, 8], "partitioned")
            assert part["latency_s"] <= seq["latency_s"] * (1 + 1e-12)
            assert part["memory_bytes"] > seq["memory_bytes"]  # KV caches held together


def test_heterogeneous_partitioning_overlaps_its_sub_arrays(prefill):
    seq = run("hetero-8-4-3", prefill, [3, 4, 8], "sequential")
    part = run("hetero-8-4-3", prefill, [3, 4, 8], "partitioned")
    assert part["latency_s"] < 0.75 * seq["latency_s"]


def test_cascade_expected_cost_follows_agreement(decode):
    seq = run("stripes", decode, [3, 4, 8], "sequential")
    worst = run("stripes", decode, [3, 4, 8], "cascade")
    best = run("stripes", decode, [3, 4, 8], "cascade", agreement=1.0)
    half = run("stripes", decode, [3, 4, 8], "cascade", agreement=0.5)
    members = (
        run("stripes", decode, [3], "sequential")["latency_s"]
        + run("stripes", decode, [4], "sequential")["latency_s"]
    )
    assert worst["latency_s"] == pytest.approx(seq["latency_s"])
    assert best["latency_s"] == pytest.approx(members)
    assert half["latency_s"] == pytest.approx((seq["latency_s"] + members) / 2)
    given = run("stripes", decode, [3, 4, 8], "cascade", run_probability=[1, 1, 0.5])
    assert given["latency_s"] == pytest.approx(half["latency_s"])


def test_units_that_cannot_hold_a_width_report_infeasible(decode):
    out = run("fixed8", decode, [4, 16])
    assert not out["feasible"]
    assert np.isnan(out["latency_s"]) and np.isnan(out["energy_j"])
    assert run("stripes", decode, [4, 16])["feasible"]


def test_gpu_energy_without_measured_energy_is_idle_plus_busy_power_while_kernels_run(decode):
    out = run("a100", decode, [4])  # no calibration.GPU_ENERGY entry: the TDP rule
    idle = 400.0 * 0.15  # calibration.IDLE_POWER_FRACTION of the TDP
    busy = out["latency_s"] - out["overhead_s"]
    assert 0 < busy < out["latency_s"]
    assert out["energy_j"] == pytest.approx(idle * out["latency_s"] + (400.0 - idle) * busy)
    assert idle < out["average_power_w"] < 400.0
    assert out["energy_per_token_j"] == pytest.approx(out["energy_j"])  # batch 1, one token


def test_h100_energy_is_idle_plus_its_traffic_capped_at_tdp(decode):
    """The H100 has measured energy (calibration.GPU_ENERGY): idle for the whole step plus
    the fitted energy per DRAM bit and per MAC, and never above its TDP."""
    from codesign.simulators import calibration as cal

    out = run("h100", decode, [4])
    energies = cal.GPU_ENERGY["h100-sxm"]
    traffic = out["dram_bytes"] * 8 * energies["dram_pj_per_bit"].value * 1e-12
    macs = out["mac_energy_j"]
    assert macs > 0 and out["busy_energy_j"] == 0
    assert out["energy_j"] == pytest.approx(700.0 * 0.15 * out["latency_s"] + traffic + macs)
    assert out["area_mm2"] == 814.0 and out["tech_nm"] == 4.0
    prefill = Workload.prefill(load_model("llama-2-7b"), 512, 8)
    assert run("h100", prefill, [16])["average_power_w"] <= 700.0
    hungry = DesignBatch.from_spec(load_unit("h100"), mac_pj=50.0)  # MACs alone over TDP
    capped = evaluate(hungry, prefill, variants_from_bits([16], "gptq"))
    assert float(capped["average_power_w"][0]) == pytest.approx(700.0)


def test_seven_billion_fits_an_h100_and_thirteen_at_sixteen_bits_needs_more_than_a_gpu():
    long = Workload.decode(load_model("llama-2-13b"), context=4096, batch=16)
    assert run("h100", Workload.decode(load_model("llama-2-7b"), 512), [16])["fits_memory"]
    assert not run("h100", long, [16, 16, 16])["fits_memory"]


def test_cascade_run_probabilities_come_from_members_needed_per_item(decode):
    from codesign.simulators import run_probability_from_runs

    needed = np.array([2, 2, 3, 2])  # members each item needed (three-member cascade)
    assert run_probability_from_runs(needed, 3) == (1.0, 1.0, 0.25)
    from_runs = run("stripes", decode, [3, 4, 8], "cascade", run_probability=(1.0, 1.0, 0.25))
    from_agreement = run("stripes", decode, [3, 4, 8], "cascade", agreement=0.75)
    assert from_runs["latency_s"] == pytest.approx(from_agreement["latency_s"])


def test_prefill_attention_rereads_kv_only_when_a_tile_does_not_fit():
    """Flash-attention tiling: 2048 tokens of K/V (2 MB per layer at 128 tokens on Llama-2-7B
    is 1 MB of K and 1 MB of V) fit a GPU's cache but not a 128 KB edge buffer."""
    from codesign.simulators.costs import kv_read_passes

    model = load_model("llama-2-7b")
    table = Workload.prefill(model, 2048).gemms()
    small = DesignBatch.from_specs([load_unit("stripes")]).rates()
    big = DesignBatch.from_specs([load_unit("h100")]).rates()
    attention = int(np.flatnonzero(table.kind == 2)[0])
    assert kv_read_passes(big, table, 1, 16)[0, attention] == 1.0
    assert kv_read_passes(small, table, 1, 16)[0, attention] > 1.0
    decode = Workload.decode(model, 2048).gemms()
    assert np.all(kv_read_passes(small, decode, 1, 16) == 1.0)


def test_elementwise_work_costs_time_and_energy_on_the_vector_unit(decode):
    base = run("stripes", decode, [4])
    assert base["vector_energy_j"] > 0
    spec = load_unit("stripes", {"vector.lanes": 1})
    narrow = evaluate(DesignBatch.from_specs([spec]), decode, variants_from_bits([4]))
    assert narrow["latency_s"][0] > base["latency_s"]
    assert narrow["vector_energy_j"][0] == pytest.approx(base["vector_energy_j"])
    assert narrow["area_mm2"][0] < base["area_mm2"]


def test_node_normalisation_scales_area_and_energy_by_the_stated_rule(decode):
    from codesign.simulators.normalise import normalise_node

    designs = DesignBatch.from_specs([load_unit("stripes")])  # a 45 nm preset
    out = evaluate(designs, decode, variants_from_bits([4]))
    at7 = normalise_node(out, 7.0)
    phy = out["dram_phy_mm2"][0]
    assert phy == pytest.approx(2 * 1.45)  # two 32-bit LPDDR4-3200 links for 25.6 GB/s
    assert at7["area_mm2"][0] == pytest.approx((out["area_mm2"][0] - phy) * (7 / 45) ** 2 + phy)
    assert at7["energy_j"][0] == pytest.approx(out["energy_j"][0] * 7 / 45)
    assert at7["latency_s"][0] == out["latency_s"][0]
    assert at7["tech_nm"][0] == 7.0


def test_area_says_its_scope():
    assert DesignBatch.from_specs([load_unit("h100")]).rates().area_scope == "die"
    edge = DesignBatch.from_specs([load_unit("stripes")]).rates()
    assert edge.area_scope == "array + SRAM + DRAM PHY"


def test_dram_phy_area_comes_in_whole_links_of_the_memory_type(decode):
    """25.6 GB/s of LPDDR4-3200 is two 32-bit links; one more GB/s needs a third; one HBM2
    stack (256 GB/s) is a single, larger PHY; more bandwidth is faster but costs area."""
    from codesign.simulators import calibration as cal

    assert cal.dram_phy_mm2("lpddr4", 25.6) == pytest.approx(2 * 1.45)
    assert cal.dram_phy_mm2("lpddr4", 26.6) == pytest.approx(3 * 1.45)
    assert cal.dram_phy_mm2("hbm2", 25.6) == pytest.approx(10.45)
    assert cal.dram_phy_mm2("hbm2", 300.0) == pytest.approx(2 * 10.45)
    base = load_unit("stripes")
    wide = load_unit("stripes", {"dram.bandwidth_gbs": 102.4})
    out = evaluate(DesignBatch.from_specs([base, wide]), decode, variants_from_bits([4]))
    assert out["latency_s"][1] < out["latency_s"][0]
    assert out["area_mm2"][1] - out["area_mm2"][0] == pytest.approx(6 * 1.45)
