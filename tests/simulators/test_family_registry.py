"""Every compute-unit family declares what the rest of codesign needs of it, and a new family is
one file plus a YAML preset: registered here inside the test, it runs through the simulators
and gets its searched fields, with no other file edited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pytest

from codesign.search.parameters.unit import design, knobs_for
from codesign.simulators import (
    FAMILIES,
    DesignBatch,
    Workload,
    bundled_units,
    evaluate,
    load_model,
    load_unit,
    variants_from_bits,
)
from codesign.simulators.cli import main as simulators_main
from codesign.simulators.families.base import Family, Rates
from codesign.simulators.families.fixed import FixedFamily
from codesign.simulators.fields import Field
from codesign.simulators.searched import SearchedField


def family_problems(family: Family, key: str) -> list[str]:
    """What a registered family lacks of what the spec reader, the simulators and the search
    read from it (empty when nothing)."""
    problems = []
    for attr in ("name", "description", "fields", "searched"):
        if not hasattr(family, attr):
            problems.append(f"no {attr}")
    if getattr(family, "name", key) != key:
        problems.append(f"registered as {key!r} but named {family.name!r}")
    fields = getattr(family, "fields", ())
    if not all(isinstance(f, Field) for f in fields):
        problems.append("fields must be Field objects")
    searched = getattr(family, "searched", ())
    if not all(isinstance(s, SearchedField) for s in searched):
        problems.append("searched must be SearchedField objects")
    return problems


@pytest.mark.parametrize("name", FAMILIES.names())
def test_every_registered_family_declares_what_the_rest_needs(name):
    assert family_problems(FAMILIES.get(name), name) == []


def test_every_family_has_a_bundled_unit_and_its_searched_grids_apply():
    families = {load_unit(u).family: load_unit(u) for u in bundled_units()}
    assert set(families) == set(FAMILIES.names())
    for spec in families.values():
        for knob in knobs_for(spec):
            design(spec, {knob.name: knob.values[0]})  # each grid value makes a valid spec


def test_a_family_missing_an_attribute_is_caught():
    class Incomplete(Family):
        name = "incomplete"
        description = "no fields, no searched"

        def rates(self, a, n):  # pragma: no cover - never called
            raise NotImplementedError

    assert family_problems(Incomplete(), "incomplete") == ["no fields", "no searched"]


class LowPowerFixed(FixedFamily):
    """A test-only family: a fixed array whose PEs draw half the fixed PE's energy."""

    name = "test-lowpower"
    description = "fixed array at half the PE energy (test family)"

    def rates(self, a: Mapping[str, np.ndarray], n: int) -> Rates:
        fixed = super().rates(a, n)
        return replace(fixed, pj_per_mac=0.5 * fixed.pj_per_mac)


@pytest.fixture
def lowpower_unit(tmp_path):
    FAMILIES.add(LowPowerFixed.name, LowPowerFixed())
    path = tmp_path / "lowpower8.yaml"
    path.write_text(
        "name: lowpower8\nfamily: test-lowpower\ndescription: test unit\nsource: this test\n"
        "clock_mhz: 500\ntech_nm: 45\nact_bits: 8\nbits: 8\narray: {rows: 32, cols: 16}\n"
        "sram: {weight_kb: 128, act_kb: 128}\ndram: {bandwidth_gbs: 25.6}\n"
    )
    yield path
    FAMILIES.remove(LowPowerFixed.name)


def test_a_new_family_is_one_file_and_a_preset(lowpower_unit, capsys):
    assert family_problems(FAMILIES.get("test-lowpower"), "test-lowpower") == []
    spec = load_unit(str(lowpower_unit))
    assert spec.family == "test-lowpower"
    names = [k.name for k in knobs_for(spec)]
    assert names == ["array.rows", "array.cols", "sram.act_kb", "clock_mhz", "dram"]
    assert simulators_main(["--unit", str(lowpower_unit), "--bits", "4,8"]) == 0
    out = capsys.readouterr().out
    assert "lowpower8" in out and "modelled" in out
    work = Workload.decode(load_model("smollm2-135m"), context=128, batch=1)
    energy = {
        name: float(
            evaluate(DesignBatch.from_specs([s]), work, variants_from_bits([8]))["energy_j"][0]
        )
        for name, s in (("new", spec), ("fixed8", load_unit("fixed8")))
    }
    assert energy["new"] < energy["fixed8"]  # its own rates, not the fixed family's
