"""Benchmark: each stored variant's decode tokens/s as a fraction of the memory-bandwidth roofline.

Reads every profile in a store (``python -m codesign.measurements profile`` writes them) and
measures this machine's copy bandwidth: a torch copy of a ``--buffer-mib`` buffer into another,
bytes read plus bytes written over the time, median of ``--repeats`` after one warm-up
(STREAM's "copy" convention; the write-allocate read of the destination is not counted).
numpy's figure from ``codesign.hostprobe`` (best of 5, 64 MiB) is printed beside it.

Roofline, for a decode step at batch B and context C (the profile's prompt length plus half its
decoded tokens, the mean context over the decode):

    bytes per step = weight bytes + KV-cache bytes
    weight bytes   = the profile's parameters and buffers in memory (packed low-bit weights at
                     their real size), less the input-embedding table when it is not tied to
                     the LM head (a step reads only B of its rows)
    KV-cache bytes = 2 (K and V) x layers x KV heads x head dim x C x B x activation bytes
    roofline tok/s = B x bandwidth / bytes per step

That is, every weight is read once per step and nothing else touches memory: activations, the
logits and the KV write are left out, and caches are assumed to hold nothing between steps
(true when the weights are much larger than the last-level cache). A kernel that dequantizes
(not "real low-bit") reads the packed weights but also writes and reads back a float copy, so
its real traffic is larger than the roofline assumes: its roofline is optimistic, and its
fraction understates how well it uses the bandwidth. CUDA profiles from this machine's GPU get
that GPU's copy bandwidth, measured the same way; profiles from a device not here get a
roofline only from ``--bandwidth-gbs``. A CPU's bandwidth depends on the thread count, which
the profile's device names: run the profile and this script under the same ``OMP_NUM_THREADS``.

Run: ``python bench/profile_variants.py [--store URL] [--buffer-mib 512] [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


def copy_bandwidth_gbs(buffer_mib: int, repeats: int, device: str = "cpu") -> list[float]:
    """Torch copy bandwidth (bytes read + bytes written) in GB/s, one figure per repeat."""
    import torch

    src = torch.ones(buffer_mib * 2**20 // 4, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)

    dst.copy_(src)  # warm-up: pages touched, threads (or the CUDA context) started
    sync()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        dst.copy_(src)
        sync()
        rates.append(2 * src.nbytes / (time.perf_counter() - start) / 1e9)
    return rates


def model_config(raw) -> dict:
    if isinstance(raw, str):
        return json.loads(raw)
    return dict(raw or {})


def kv_bytes_per_step(cfg: dict, context: int, batch: int, dtype_bytes: int) -> int:
    """K and V of every layer at ``context`` tokens for ``batch`` sequences."""
    cfg = cfg.get("text_config", cfg)  # multimodal configs nest the language model's
    layers = int(cfg.get("num_hidden_layers", 0))
    heads = int(cfg.get("num_attention_heads", 0) or 1)
    kv_heads = int(cfg.get("num_key_value_heads") or heads)
    head_dim = int(cfg.get("head_dim") or int(cfg.get("hidden_size", 0)) // heads)
    return 2 * layers * kv_heads * head_dim * context * batch * dtype_bytes


def untied_input_embedding_bytes(cfg: dict, dtype_bytes: int) -> int:
    """The input-embedding table's bytes when it is not the LM head's (a step reads B rows)."""
    cfg = cfg.get("text_config", cfg)
    if cfg.get("tie_word_embeddings", True):
        return 0
    return int(cfg.get("vocab_size", 0)) * int(cfg.get("hidden_size", 0)) * dtype_bytes


def machine(device: str) -> str:
    """The device's name without the thread count that ``device_name`` appends on a CPU."""
    return re.sub(r" \(\d+ threads\)$", "", device)


def missing_sqlite_file(url: str) -> bool:
    """True for a SQLite URL whose file does not exist (opening it would create it)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return False
    db = parsed.database
    return (
        parsed.get_backend_name() == "sqlite"
        and bool(db)
        and db != ":memory:"
        and not Path(db).exists()
    )


def variant_label(row) -> str:
    if row.method == "dense":
        return "dense"
    group = "ch" if pd.isna(row.group_size) else int(row.group_size)
    return f"{row.method}-w{row.bits}-g{group}"


def parse_args() -> argparse.Namespace:
    from codesign.paths import default_store_url

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--store", default=None, metavar="URL", help=f"default: {default_store_url()}"
    )
    parser.add_argument("--model", default=None, help="only this model's profiles")
    parser.add_argument("--buffer-mib", type=int, default=512, help="copy buffer size")
    parser.add_argument("--repeats", type=int, default=7, help="timed copies (median)")
    parser.add_argument(
        "--bandwidth-gbs",
        type=float,
        default=None,
        help="use this bandwidth for every profile instead of measuring (e.g. another machine's)",
    )
    args = parser.parse_args()
    args.store = args.store or default_store_url()
    return args


def load_profiles(url: str, model: str | None) -> pd.DataFrame | None:
    """The store's profiles, or None after saying in one line why there are none."""
    from codesign.errors import CodesignError
    from codesign.store import Store

    hint = f"make them with `python -m codesign.measurements profile --store {url}`"
    if missing_sqlite_file(url):
        print(f"no store at {url}: quantize, then {hint}", file=sys.stderr)
        return None
    try:
        frame = Store(url, create=False).profiles_frame()
    except CodesignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if model is not None and not frame.empty:
        frame = frame[frame["model"] == model]
    if frame.empty:
        print(f"no profiles in {url}: {hint} (after `quantize`)", file=sys.stderr)
        return None
    return frame


def measure_bandwidths(args: argparse.Namespace, devices: set[str]) -> dict[str, tuple[float, str]]:
    """Bandwidth and how it was obtained, per machine name (see :func:`machine`) measurable here:
    this CPU always, this GPU when a profile comes from one like it."""
    import torch

    from codesign.hostprobe import copy_bandwidth_gbs as numpy_copy_gbs
    from codesign.measurements.profiling import device_name

    if args.bandwidth_gbs is not None:
        return {m: (args.bandwidth_gbs, "given with --bandwidth-gbs") for m in devices}
    here = {machine(device_name("cpu")): "cpu"}
    if torch.cuda.is_available():
        here[machine(device_name("cuda"))] = "cuda"
    out = {}
    for name, dev in here.items():
        if dev == "cuda" and name not in devices:
            continue
        rates = copy_bandwidth_gbs(args.buffer_mib, args.repeats, dev)
        how = (
            f"measured here: torch copy of {args.buffer_mib} MiB on {dev}, read + write, median "
            f"of {args.repeats} ({min(rates):.1f}–{max(rates):.1f})"
        )
        if dev == "cpu":
            how += f"; numpy hostprobe best of 5 × 64 MiB: {numpy_copy_gbs():.1f} GB/s"
        out[name] = (statistics.median(rates), how)
    return out


def kernel_kind(row) -> str:
    if row.kernel == "no linear layers found":
        return "unidentified by the profile"
    if row.real_low_bit:
        return "real low-bit"
    return "float" if row.method == "dense" else "dequantized"


def roofline_table(frame: pd.DataFrame, bandwidths: dict[str, tuple[float, str]]):
    """The rich table, one row per profile; no roofline where no bandwidth is known."""
    from rich.table import Table

    table = Table(title="decode tokens/s against the memory-bandwidth roofline")
    for col in ("variant", "kernel", "batch", "context", "weight MB", "KV MB"):
        table.add_column(col, justify="left" if col in ("variant", "kernel") else "right")
    for col in ("measured tok/s", "roofline tok/s", "of roofline"):
        table.add_column(col, justify="right")
    several_models = frame["model"].nunique() > 1
    for row in frame.itertuples(index=False):
        cfg = model_config(row.model_config)
        dtype_bytes = DTYPE_BYTES.get(str(row.dtype), 4)
        batch, context = int(row.batch_size), int(row.context_len)
        weights = int(row.weight_bytes) - untied_input_embedding_bytes(cfg, dtype_bytes)
        kv = kv_bytes_per_step(cfg, context, batch, dtype_bytes)
        roof_text = frac_text = "–"
        if machine(row.device) in bandwidths:
            roof = batch * bandwidths[machine(row.device)][0] * 1e9 / (weights + kv)
            roof_text = f"{roof:,.1f}"
            frac_text = f"{100 * row.tokens_per_s / roof:.0f}%"
        label = (f"{row.model} " if several_models else "") + variant_label(row)
        label += " (synthetic)" if row.synthetic_weights else ""
        table.add_row(
            label,
            f"{kernel_kind(row)}: {row.kernel.split(' ×')[0]}",
            str(batch),
            str(context),
            f"{row.weight_bytes / 1e6:,.1f}",
            f"{kv / 1e6:,.1f}",
            f"{row.tokens_per_s:,.1f}",
            roof_text,
            frac_text,
        )
    return table


def main() -> int:
    args = parse_args()
    frame = load_profiles(args.store, args.model)
    if frame is None:
        return 2
    from rich.console import Console

    from codesign.measurements.profiling import device_name

    frame = frame.sort_values(["model", "device", "method", "bits", "batch_size"], kind="stable")
    profiled = sorted(set(frame["device"]))
    bandwidths = measure_bandwidths(args, {machine(d) for d in profiled})
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table to 80 columns
        console = Console(width=160)
    console.print(f"store:        {args.store}")
    console.print(f"this machine: {device_name('cpu')}")
    for name, (gbs, how) in bandwidths.items():
        console.print(f"bandwidth:    {name}: {gbs:.1f} GB/s ({how})")
    console.print(roofline_table(frame, bandwidths))
    dtypes = ", ".join(sorted(set(frame["dtype"])))
    console.print(f"profiled on:  {'; '.join(profiled)} (dtype {dtypes})")
    if args.bandwidth_gbs is None:
        threads = [d for d in profiled if machine(d) in bandwidths and d != device_name("cpu")]
        if any(d.startswith("cpu") for d in threads):
            console.print(
                "some CPU profiles ran with another thread count than this process measured the "
                "bandwidth with; run both under the same OMP_NUM_THREADS for a like roofline"
            )
        if any(machine(d) not in bandwidths for d in profiled):
            console.print(
                "no roofline for profiles from a device not here (its bandwidth is not this "
                "machine's); pass --bandwidth-gbs to compare them with a given figure"
            )
    console.print(
        "roofline: every weight byte and the KV cache at the mean decode context read once per "
        "step at the copy bandwidth. Dequantizing kernels also write and re-read a float copy of "
        "each weight: for them the roofline is optimistic and the fraction understates how "
        "well they use the bandwidth."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
