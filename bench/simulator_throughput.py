"""Design points per second of the vectorised simulator (target: 100,000/s on this machine).

A design point is one candidate design evaluated for one ensemble, workload and schedule:
latency, energy, area and memory. The benchmark draws random parameters for every bundled
accelerator family and the GPU roofline, evaluates a batch of 10,000 designs at once for each
schedule (Llama-2-7B decode at context 1024, ensemble {3, 4, 8} bits), and reports the median
over repeats. Run: `python bench/simulator_throughput.py [--designs N] [--repeats R]`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from codesign.simulators import (
    SCHEDULES,
    DesignBatch,
    Workload,
    evaluate,
    load_model,
    load_unit,
    variants_from_bits,
)

TARGET_PER_S = 100_000


def varied(unit: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random design parameters the search would vary for this bundled unit."""
    if unit == "h100":
        return {"bandwidth_gbs": rng.uniform(500, 5000, n), "peak_tflops": rng.uniform(50, 2000, n)}
    common = {
        "clock_mhz": rng.uniform(200, 1000, n),
        "sram_weight_kb": rng.choice([64.0, 128.0, 256.0, 512.0], n),
        "sram_act_kb": rng.choice([32.0, 64.0, 128.0], n),
        "dram_bandwidth_gbs": rng.uniform(10, 200, n),
    }
    if unit == "hetero-8-4-3":
        return {**common, "sub_rows": rng.integers(4, 64, (n, 3))}
    return {**common, "array_rows": rng.integers(4, 128, n), "array_cols": rng.integers(4, 128, n)}


def time_batch(unit: str, schedule: str, n: int, repeats: int, work: Workload) -> float:
    """Median seconds to build and evaluate one batch of n designs."""
    rng = np.random.default_rng(0)
    spec = load_unit(unit)
    params = varied(unit, n, rng)
    variants = variants_from_bits([3, 4, 8])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        designs = DesignBatch.from_spec(spec, **params)
        evaluate(designs, work, variants, schedule, agreement=0.8)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=10_000, help="designs per batch")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per case")
    args = parser.parse_args()
    work = Workload.decode(load_model("llama-2-7b"), context=1024, batch=1)
    units = ["fixed8", "bitfusion", "stripes", "bitplane", "hetero-8-4-3", "h100"]
    evaluate(DesignBatch.from_specs([load_unit("fixed8")]), work, variants_from_bits([4]))  # warm
    rates = []
    print(f"{'unit':14} {'schedule':13} {'design points/s':>16}")
    for unit in units:
        for schedule in SCHEDULES.names():
            per_s = args.designs / time_batch(unit, schedule, args.designs, args.repeats, work)
            rates.append(per_s)
            print(f"{unit:14} {schedule:13} {per_s:16,.0f}")
    median = statistics.median(rates)
    print(
        f"median over {len(rates)} unit x schedule cases: {median:,.0f} design points/s "
        f"({median / TARGET_PER_S:.2f}x the {TARGET_PER_S:,}/s target); "
        f"slowest case {min(rates):,.0f}/s ({min(rates) / TARGET_PER_S:.2f}x)"
    )


if __name__ == "__main__":
    main()
