"""Analytical power/performance/area model of multi-precision compute units and ensemble
schedules, vectorised over designs and calibrated to published figures (calibration.py).

The search calls::

    from codesign.simulators import (
        DesignBatch, Workload, evaluate, load_model, load_unit, variants_from_bits)
    spec = load_unit("bitfusion")
    designs = DesignBatch.from_spec(spec, array_rows=rows, array_cols=cols)   # numpy arrays
    work = Workload.decode(load_model("smollm2-135m"), context=512, batch=1)
    out = evaluate(designs, work, variants_from_bits([3, 4, 8]), "shared-fetch", agreement=0.8)
    out["latency_s"], out["energy_j"], out["area_mm2"], out["memory_bytes"]  # each (n,)

Every number is modelled (analytical), not measured; `UnitSpec.label()` says so.
"""

from codesign.simulators.design import DesignBatch
from codesign.simulators.families import FAMILIES
from codesign.simulators.ppa import METRICS, evaluate
from codesign.simulators.schedules import SCHEDULES, ScheduleParams
from codesign.simulators.schedules.cascade import run_probability_from_runs
from codesign.simulators.spec import UnitSpec, bundled_units, load_unit
from codesign.simulators.variants import Variant, variants_from_bits, weight_bytes
from codesign.simulators.workload import ModelShape, Workload, load_model, model_presets

__all__ = [
    "FAMILIES",
    "METRICS",
    "SCHEDULES",
    "DesignBatch",
    "ModelShape",
    "ScheduleParams",
    "UnitSpec",
    "Variant",
    "Workload",
    "bundled_units",
    "evaluate",
    "load_model",
    "load_unit",
    "model_presets",
    "run_probability_from_runs",
    "variants_from_bits",
    "weight_bytes",
]
