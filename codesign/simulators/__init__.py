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

from codesign.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "codesign.simulators.design": ("DesignBatch",),
        "codesign.simulators.families": ("FAMILIES",),
        "codesign.simulators.ppa": ("METRICS", "evaluate"),
        "codesign.simulators.schedules": ("SCHEDULES", "ScheduleParams"),
        "codesign.simulators.schedules.cascade": ("run_probability_from_runs",),
        "codesign.simulators.spec": ("UnitSpec", "bundled_units", "load_unit"),
        "codesign.simulators.variants": ("Variant", "variants_from_bits", "weight_bytes"),
        "codesign.simulators.workload": ("ModelShape", "Workload", "load_model", "model_presets"),
    },
)
