"""The embedded model's GGUF → dense conversion, as transformers does it and with each GGUF
parsed once (codesign.measurements.quantize.models.gguf_parsed_once), side by side on this
machine, into temporary folders; the two outputs' weights are compared exactly.

    python bench/gguf_conversion.py [--model smollm2-135m]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m")
    args = p.parse_args()
    from safetensors.torch import load_file

    from codesign.measurements.quantize import models

    alias = models.MODEL_ALIASES.get(args.model)
    files = models._alias_gguf_files(alias)
    seconds, weights = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, convert in (
            ("transformers as is", models._convert_gguf),
            ("each GGUF parsed once", models._dequantize_gguf),
        ):
            out = Path(tmp) / name.replace(" ", "-")
            start = time.perf_counter()
            convert(alias, files, out)
            seconds[name] = time.perf_counter() - start
            weights[name] = load_file(out / "model.safetensors")
    a, b = weights.values()
    same = a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)
    for name, s in seconds.items():
        print(f"{name:<24} {s:6.1f} s")
    ratio = seconds["transformers as is"] / seconds["each GGUF parsed once"]
    print(f"ratio: {ratio:.1f}x; weights identical: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
