"""Fit the GPU efficiency terms of the roofline targets to the published calibration set.

Usage: python scripts/fit_gpu_calibration.py

The fit is codesign.simulators.gpu_fit.fit over the rows of
codesign/simulators/reference_data/gpu_published.csv whose role is 'fit'. Prints the fitted
values to copy into calibration.GPU_EFFICIENCY and WEIGHT_ONLY_KERNELS, then the errors on the
'fit' and 'holdout' rows, in sample and with each fit row left out of its own fit.
"""

from __future__ import annotations

from codesign.simulators.gpu_fit import TERMS, fit, leave_one_out, terms_set
from codesign.simulators.published import published_points, summary


def main() -> None:
    points = published_points()
    values = fit(points[points["role"] == "fit"])
    for (where, key, *_), value in zip(TERMS, values, strict=True):
        print(f"{where:10s} {key:22s} {value:.4g}")
    with terms_set(values):
        res = leave_one_out(points)
    cols = ["id", "role", "published", "predicted", "error_pct", "error_left_out_pct"]
    print(res[cols].to_string(index=False))
    print(summary(res))


if __name__ == "__main__":
    main()
