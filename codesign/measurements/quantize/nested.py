"""Nested ("any-precision") variants: one set of integer codes whose top n bit-planes are the
n-bit member, for every n from the seed width to the top width.

Method, following Any-Precision LLM (Park et al., ICML 2024, github.com/SNU-ARC/any-precision-llm):
quantize a *seed* at the lowest width, then *upscale* one bit at a time by splitting every bin
of the coarser grid in two, the new bit saying on which side of the split the original weight
lies. Any-Precision splits each bin by 1-D clustering into a lookup table (non-uniform, from a
SqueezeLLM seed); here the seed is the GPTQ variant of the same model and calibration (uniform
affine grid, error-compensated, made by gptqmodel like every GPTQ variant), and each bin is split
at its midpoint, so every member stays an affine integer code (like Matryoshka Quantization's
nested int codes, Nair et al. 2025) and runs on the same kinds of kernels. Why this one: it runs
on a CPU in seconds after the seed (no training, unlike MatQuant; no per-bin clustering pass over
calibration gradients, unlike SqueezeLLM), and its seed member *is* the independent GPTQ variant
at that width, so the set's lowest member is measured beside GPTQ by construction.

Codes: with the seed's per-group scale s and zero z (w ≈ s·(q − z)), the seed bin of code q is
[s·(q − z − ½), s·(q − z + ½)). Upscaling by k bits gives q_top = q·2^k + j, where j ∈ [0, 2^k)
is the sub-bin of the original weight (clamped to the bin where GPTQ's error compensation moved
the code away from it). The n-bit member's code is q_top >> (top − n), exactly, and it decodes to
its sub-bin's centre: s/2^(n − seed) · (q_n + ½) − s·(z + ½) (at n = seed: s·(q − z), the seed's
own value). Metadata is the seed's scales and zeros, stored once for every member.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

CODES_FILE = "nested-codes.safetensors"
SET_FILE = "nested-set.json"
MEMBER_FILE = "nested-member.json"
VERSION = 1  # bump when the construction changes: part of every set's recipe


def read_gptq_codes(seed_dir: Path) -> tuple[int, dict[str, dict[str, torch.Tensor]]]:
    """(bits, {layer prefix: codes (out, in), scales and zeros (groups, out), g_idx (in,)}) of
    a GPTQ checkpoint, unpacked with gptqmodel's own readers (v1 zero correction included)."""
    from gptqmodel.utils.model_dequant import (
        _correct_gptq_v1_qzeros,
        _uses_gptq_v1_qzeros,
        unpack_cols,
        unpack_rows,
    )
    from safetensors import safe_open

    config = json.loads((seed_dir / "quantize_config.json").read_text())
    bits = int(config["bits"])
    parts: dict[str, dict[str, torch.Tensor]] = {}
    for path in sorted(seed_dir.glob("*.safetensors")):
        with safe_open(str(path), framework="pt", device="cpu") as reader:
            for key in reader.keys():  # noqa: SIM118 - safe_open is not iterable
                for suffix in ("qweight", "qzeros", "scales", "g_idx"):
                    if key.endswith("." + suffix):
                        prefix = key[: -len(suffix) - 1]
                        parts.setdefault(prefix, {})[suffix] = reader.get_tensor(key)
    layers = {}
    for prefix, buf in parts.items():
        qzeros = buf["qzeros"]
        if _uses_gptq_v1_qzeros(config):
            qzeros = _correct_gptq_v1_qzeros(qzeros, bits)
        layers[prefix] = {
            "codes": unpack_rows(buf["qweight"], bits).T.contiguous(),  # (out, in)
            "scales": buf["scales"].float(),
            "zeros": unpack_cols(qzeros, bits).float(),
            "g_idx": buf["g_idx"].long(),
        }
    return bits, layers


def per_weight(group_values: torch.Tensor, g_idx: torch.Tensor) -> torch.Tensor:
    """(groups, out) metadata expanded to (out, in), one value per weight."""
    return group_values[g_idx].T


def upscale(
    weight: torch.Tensor,
    codes: torch.Tensor,
    scales: torch.Tensor,
    zeros: torch.Tensor,
    extra_bits: int,
) -> torch.Tensor:
    """Top codes q·2^k + j: j is the sub-bin of the seed bin that holds the original weight."""
    position = weight.float() / scales + zeros - codes.float() + 0.5  # in [0, 1) inside the bin
    sub = torch.floor(position * (1 << extra_bits)).clamp_(0, (1 << extra_bits) - 1)
    return codes.long() * (1 << extra_bits) + sub.long()


def member_codes(top_codes: torch.Tensor, top_bits: int, bits: int) -> torch.Tensor:
    """The n-bit member's codes: the top n bit-planes of the top member's."""
    return top_codes >> (top_bits - bits)


def member_weight(
    top_codes: torch.Tensor,
    scales: torch.Tensor,
    zeros: torch.Tensor,
    seed_bits: int,
    top_bits: int,
    bits: int,
) -> torch.Tensor:
    """Float weights of the n-bit member (sub-bin centres; the seed's own values at n = seed)."""
    q = member_codes(top_codes, top_bits, bits).float()
    split = 1 << (bits - seed_bits)
    if split == 1:
        return scales * (q - zeros)
    return scales / split * (q + 0.5) - scales * (zeros + 0.5)


def dense_weights(dense_dir: Path, prefixes: list[str]) -> dict[str, torch.Tensor]:
    """The dense model's float weights of the named linear layers."""
    from safetensors import safe_open

    wanted = {p + ".weight" for p in prefixes}
    out = {}
    for path in sorted(dense_dir.glob("*.safetensors")):
        with safe_open(str(path), framework="pt", device="cpu") as reader:
            for key in wanted.intersection(reader.keys()):
                out[key[: -len(".weight")]] = reader.get_tensor(key).float()
    missing = sorted(set(prefixes) - set(out))
    if missing:
        raise KeyError(f"dense model has no weight for {missing[0]}")
    return out


def build_set(
    seed_dir: Path, dense_dir: Path, out_dir: Path, top_bits: int, members: list[int]
) -> dict:
    """Write the nested set into `out_dir`: the top codes with the seed's scales and zeros, and
    one member folder (a small JSON naming the set and the width) per requested width."""
    from safetensors.torch import save_file

    seed_bits, layers = read_gptq_codes(seed_dir)
    if not (seed_bits <= min(members) and max(members) <= top_bits <= 8):
        raise ValueError(f"members {members} must lie within seed {seed_bits} .. top {top_bits}")
    weights = dense_weights(dense_dir, list(layers))
    tensors = {}
    for prefix, layer in layers.items():
        g_idx = layer["g_idx"]
        scales, zeros = per_weight(layer["scales"], g_idx), per_weight(layer["zeros"], g_idx)
        top = upscale(weights[prefix], layer["codes"], scales, zeros, top_bits - seed_bits)
        tensors[prefix + ".codes"] = top.to(torch.uint8)
        # the seed's metadata, once per group, shared by every member
        tensors[prefix + ".scales"] = layer["scales"]
        tensors[prefix + ".zeros"] = layer["zeros"].to(torch.uint8)
        tensors[prefix + ".g_idx"] = g_idx.to(torch.int32)
    save_file(tensors, str(out_dir / CODES_FILE))
    info = {
        "version": VERSION,
        "seed_bits": seed_bits,
        "top_bits": top_bits,
        "layers": len(layers),
        "dense_dir": str(dense_dir),
    }
    (out_dir / SET_FILE).write_text(json.dumps(info))
    for bits in members:
        member = out_dir / f"w{bits}"
        member.mkdir(exist_ok=True)
        (member / MEMBER_FILE).write_text(json.dumps({"bits": bits, "set": ".."}))
    return info


def load_member_weights(set_dir: Path, bits: int) -> dict[str, torch.Tensor]:
    """{layer prefix: float32 weight (out, in)} of the n-bit member of a set."""
    from safetensors.torch import load_file

    info = json.loads((set_dir / SET_FILE).read_text())
    tensors = load_file(str(set_dir / CODES_FILE))
    out = {}
    for key in tensors:
        if key.endswith(".codes"):
            prefix = key[: -len(".codes")]
            g_idx = tensors[prefix + ".g_idx"].long()
            out[prefix] = member_weight(
                tensors[key].long(),
                per_weight(tensors[prefix + ".scales"].float(), g_idx),
                per_weight(tensors[prefix + ".zeros"].float(), g_idx),
                info["seed_bits"],
                info["top_bits"],
                bits,
            )
    return out
