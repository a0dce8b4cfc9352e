"""Measurements: the stage that runs models. ``quantize`` makes each variant once, ``evaluate``
runs the trust suites and MMLU and stores every item's raw output, ``profiling`` times the
variants. Only this stage imports torch."""
