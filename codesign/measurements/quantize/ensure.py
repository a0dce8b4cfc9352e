"""Produce a variant once: cache by recipe key, quantize atomically, record it in the store.

A variant's directory appears under ``$CODESIGN_CACHE/variants/<key>`` only when complete
(quantized into a temporary sibling, then renamed), and a file lock keeps two processes from
quantizing the same key at once. A run killed at any moment leaves either nothing or a
complete checkpoint, which the next run picks up without quantizing again.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from codesign.errors import CodesignError
from codesign.measurements.quantize.backends import backend_for
from codesign.measurements.quantize.backends.base import QuantRequest
from codesign.measurements.quantize.backends.dense import load_tokenizer
from codesign.measurements.quantize.calibration_text import (
    CalibrationSpec,
    calibration_fingerprint,
    calibration_token_ids,
)
from codesign.measurements.quantize.models import ResolvedModel
from codesign.measurements.quantize.recipes import (
    VariantSpec,
    indivisible_widths,
    recipe_key,
    resolve_group_size,
)
from codesign.paths import cache_dir
from codesign.store import Store, VariantRow

MARKER = "codesign-variant.json"


@dataclass
class VariantResult:
    row: VariantRow
    cached: bool
    note: str = ""


@contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.safetensors"))


_TOKEN_CACHE: dict[tuple, list[list[int]]] = {}


def _calibration_ids(model: ResolvedModel, calib: CalibrationSpec) -> list[list[int]]:
    key = (model.path, calib)
    if key not in _TOKEN_CACHE:
        _TOKEN_CACHE[key] = calibration_token_ids(calib, load_tokenizer(Path(model.path)))
    return _TOKEN_CACHE[key]


def _model_id(store: Store, model: ResolvedModel) -> int:
    return store.upsert_model(
        model.fingerprint, model.name, model.baseline, model.source, model.config
    )


def _dense_variant(store: Store, model: ResolvedModel) -> VariantResult:
    backend = backend_for("dense", 16)
    recipe = {"model": model.fingerprint, "method": "dense", "bits": 16}
    key = recipe_key(recipe)
    row = store.variant(key)
    if row is not None:
        return VariantResult(row, cached=True)
    row = store.add_variant(
        key=key,
        model_id=_model_id(store, model),
        method="dense",
        bits=16,
        group_size=None,
        seed=0,
        calibration="none",
        backend=backend.name,
        backend_version=backend.version(),
        path=model.path,
        weight_bytes_disk=_dir_bytes(Path(model.path)),
        quantize_seconds=0.0,
        recipe=recipe,
    )
    return VariantResult(row, cached=False)


def ensure_variant(
    store: Store,
    model: ResolvedModel,
    spec: VariantSpec,
    calib: CalibrationSpec,
    *,
    device: str = "cpu",
    backend_name: str | None = None,
    nest: tuple[int, int] | None = None,
) -> VariantResult:
    """The stored variant for ``spec``, quantizing it first if no run has done so. A nested
    member (method ``anyprec``) belongs to the set ``nest`` = (seed bits, top bits), default
    (its own bits, 8)."""
    if spec.method == "dense":
        return _dense_variant(store, model)
    if spec.method == "anyprec":
        seed_bits, top_bits = nest or (spec.bits, 8)
        return _nested_variant(store, model, spec, calib, seed_bits, top_bits, device)
    backend = backend_for(spec.method, spec.bits, backend_name, device)
    group_size, note = _group_size(spec, model, backend)
    calib = calib_for(calib, spec.seed)
    token_ids = _calibration_ids(model, calib)
    recipe = _recipe(model, spec, group_size, calibration_fingerprint(calib, token_ids), backend)
    dtype = backend.quantize_dtype(spec.method, device)
    if dtype:  # recorded only when chosen, so variants quantized before keep their keys
        recipe["dtype"] = dtype
    key = recipe_key(recipe)
    row = store.variant(key)
    out = cache_dir() / "variants" / key[:32]
    if row is not None and (out / MARKER).exists():
        return VariantResult(row, cached=True, note=note)
    with _file_lock(out.with_suffix(".lock")):
        cached = (out / MARKER).exists()
        seconds = 0.0
        if not cached:
            seconds = _quantize_into(
                out, backend, spec, group_size, model, token_ids, device, dtype
            )
        info = json.loads((out / MARKER).read_text())
        row = store.add_variant(
            key=key,
            model_id=_model_id(store, model),
            method=spec.method,
            bits=spec.bits,
            group_size=group_size,
            seed=spec.seed,
            calibration=calib.describe(),
            backend=backend.name,
            backend_version=backend.version(),
            path=str(out),
            weight_bytes_disk=_dir_bytes(out),
            quantize_seconds=info.get("seconds", seconds),
            recipe=recipe,
        )
    return VariantResult(row, cached=cached, note=note)


def _recipe(model, spec: VariantSpec, group_size, calibration: str, backend) -> dict:
    """What makes a quantized variant what it is; its key is the recipe's hash."""
    return {
        "model": model.fingerprint,
        "method": spec.method,
        "bits": spec.bits,
        "group_size": group_size,
        "calibration": calibration,
        "seed": spec.seed,
        "backend": backend.name,
        "backend_version": backend.version(),
    }


def _group_size(spec: VariantSpec, model: ResolvedModel, backend) -> tuple[int | None, str]:
    """The group size ``spec`` resolves to on this model (with a note when ``auto`` chose), and
    the backend's refusal of one that does not divide every layer width."""
    group_size, note = resolve_group_size(spec.group_size, model.config)
    bad = indivisible_widths(group_size, model.config)
    if bad and backend.name == "llmcompressor":
        raise CodesignError(
            f"llm-compressor cannot quantize {spec.method} with group size {group_size}: "
            f"layer width {bad[0]} is not a multiple of it; use --group-size auto or a "
            "power of two that divides every width"
        )
    return group_size, note


def _build_atomically(out: Path, build, marker: dict) -> float:
    """Run ``build(folder)`` in a temporary sibling of ``out``, write the marker, rename it to
    ``out``: a run killed at any moment leaves nothing half-made (stale siblings are removed)."""
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for stale in out.parent.glob(f"{out.name}.tmp-*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    tmp.mkdir(parents=True)
    start = time.perf_counter()
    try:
        build(tmp)
        seconds = time.perf_counter() - start
        (tmp / MARKER).write_text(json.dumps({"seconds": seconds, **marker}))
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return seconds


def _quantize_into(out, backend, spec, group_size, model, token_ids, device, dtype) -> float:
    def build(tmp: Path) -> None:
        backend.quantize(
            QuantRequest(
                spec.method, spec.bits, group_size, Path(model.path), tmp, token_ids, device, dtype
            )
        )

    return _build_atomically(out, build, {"spec": spec.label})


def calib_for(calib: CalibrationSpec, seed: int) -> CalibrationSpec:
    """The calibration windows of a variant of this seed (what its GPTQ seed saw)."""
    return CalibrationSpec(calib.source, calib.n_samples, calib.seq_len, seed, calib.text_field)


def _nested_recipes(model, spec: VariantSpec, seed_key: str, top_bits: int, backend, device):
    """The recipe of a nested set (it names its GPTQ seed) and of one member (it names its set):
    their keys are the cache folder's and the variant's."""
    from codesign.measurements.quantize import nested

    set_recipe = {
        "model": model.fingerprint,
        "method": "anyprec-set",
        "seed_variant": seed_key,
        "top_bits": top_bits,
        "version": nested.VERSION,
    }
    recipe = {
        "model": model.fingerprint,
        "method": "anyprec",
        "bits": spec.bits,
        "parent_set": recipe_key(set_recipe),
        "parent_recipe": set_recipe,
        "backend": backend.name,
        "backend_version": backend.version(),
    }
    dtype = backend.quantize_dtype(spec.method, device)
    if dtype:  # recorded only when chosen, so variants quantized before keep their keys
        recipe["dtype"] = dtype
    return set_recipe, recipe


def _nested_variant(
    store: Store,
    model: ResolvedModel,
    spec: VariantSpec,
    calib: CalibrationSpec,
    seed_bits: int,
    top_bits: int,
    device: str,
) -> VariantResult:
    """A member of a nested set: the set is upscaled once from its GPTQ seed (itself a cached
    variant) into its own cache folder, atomically like every variant; each member is a
    variant row whose recipe names the set."""
    from codesign.measurements.quantize import nested

    if not seed_bits <= spec.bits <= top_bits <= 8:
        raise CodesignError(
            f"a nested member's bits must lie within its set's {seed_bits}..{top_bits} (≤ 8)"
        )
    seed = ensure_variant(
        store,
        model,
        VariantSpec("gptq", seed_bits, spec.group_size, spec.seed),
        calib,
        device=device,
    )
    backend = backend_for("anyprec", spec.bits)
    set_recipe, recipe = _nested_recipes(model, spec, seed.row.key, top_bits, backend, device)
    out = cache_dir() / "variants" / recipe["parent_set"][:32]
    key = recipe_key(recipe)
    row = store.variant(key)
    if row is not None and (out / MARKER).exists():
        return VariantResult(row, cached=True, note=seed.note)
    with _file_lock(out.with_suffix(".lock")):
        cached = (out / MARKER).exists()
        if not cached:
            token_ids = _calibration_ids(model, calib_for(calib, spec.seed))
            widths = list(range(seed_bits, top_bits + 1))
            seed_path, model_path = Path(seed.row.path), Path(model.path)
            _build_atomically(
                out,
                lambda tmp: nested.build_set(
                    seed_path, model_path, tmp, top_bits, widths, token_ids
                ),
                {"set": set_recipe},
            )
        info = json.loads((out / MARKER).read_text())
        row = store.add_variant(
            key=key,
            model_id=_model_id(store, model),
            method="anyprec",
            bits=spec.bits,
            group_size=seed.row.group_size,
            seed=spec.seed,
            calibration=seed.row.calibration,
            backend=backend.name,
            backend_version=backend.version(),
            path=str(out / f"w{spec.bits}"),
            weight_bytes_disk=(out / nested.CODES_FILE).stat().st_size,
            quantize_seconds=info.get("seconds", 0.0),
            recipe=recipe,
        )
    return VariantResult(row, cached=cached, note=seed.note)
