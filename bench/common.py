"""Pieces the benchmark scripts share: the embedded model loaded as codesign loads it, and the
``--suites`` choice."""

from __future__ import annotations

import sys
from pathlib import Path


def load_dense(spec: str, device: str):
    """(resolved model, loaded dense variant) of ``spec``, exactly as codesign loads it for
    evaluation."""
    from codesign.measurements.quantize.backends import QUANTIZERS
    from codesign.measurements.quantize.models import resolve_model

    resolved = resolve_model(spec)
    return resolved, QUANTIZERS.get("dense").load(Path(resolved.path), device)


def pick_suites(spec: str, names: list[str], what: str) -> list[str] | None:
    """``names`` for "all", else the comma list ``spec``; None (said on stderr) when it names
    a suite that is not one of ``names`` (``what`` says what they are)."""
    if spec == "all":
        return names
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in names]
    if unknown:
        print(f"not a {what}: {', '.join(unknown)}", file=sys.stderr)
        return None
    return wanted
