"""Nested ("any-precision") variants: one set of integer codes whose top n bit-planes are the
n-bit member, for every n from the seed width to the top width.

Method, following Any-Precision LLM (Park et al., ICML 2024, github.com/SNU-ARC/any-precision-llm):
quantize a *seed* at the lowest width, then *upscale* one bit at a time, splitting every bin of
the coarser grid in two. Any-Precision splits each bin by 1-D clustering into a lookup table
(non-uniform, from a SqueezeLLM seed). Here the seed is the GPTQ variant of the same model and
calibration (uniform affine grid, error-compensated, made by gptqmodel like every GPTQ
variant), each bin is split at its midpoint, so every member stays an affine integer code (like
Matryoshka Quantization's nested int codes, Nair et al. 2025), and the new bit of each weight
is chosen by a GPTQ pass over that layer (Frantar et al. 2023) restricted to the two children of
the weight's parent code: the rounding error of each column is spread over the columns not yet
quantized, as GPTQ does, with the proxy Hessian E[x xᵀ] of the layer's inputs on the seed's
calibration windows (one forward pass of the dense model). Why this one: it runs on a CPU in
about a minute after the seed (no training, unlike MatQuant; no clustering pass), its seed
member *is* the independent GPTQ variant at that width, and each wider member is
error-compensated at its own width, within the bins its parent fixed. (Splitting by the side of
the bin the original weight lies on, without compensation, made the 4-bit member of
SmolLM2-135M worse than the 3-bit one: about a fifth of the weights lie outside the bin GPTQ's
compensation gave them.)

Codes: with the seed's per-group scale s and zero z (w ≈ s·(q − z)), a code q_n at width n
decodes to its sub-bin's centre s/2^(n − seed) · (q_n + ½) − s·(z + ½) (at n = seed: s·(q − z),
the seed's own value), and the children of q_n are 2·q_n and 2·q_n + 1; so the n-bit member's
code is the top n bits of the top member's, exactly. Metadata is the seed's scales and zeros,
stored once for every member.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

CODES_FILE = "nested-codes.safetensors"
SET_FILE = "nested-set.json"
MEMBER_FILE = "nested-member.json"
VERSION = 2  # bump when the construction changes: part of every set's recipe


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


def hessians(
    dense_dir: Path, prefixes: list[str], token_ids: list[list[int]]
) -> dict[str, torch.Tensor]:
    """E[x xᵀ] of every named linear layer's inputs over the calibration windows, from the
    dense model (GPTQ's proxy Hessian, one forward pass, not layer by layer)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(dense_dir, dtype=torch.float32).eval()
    sums: dict[str, torch.Tensor] = {}
    counts = dict.fromkeys(prefixes, 0)

    def hook(prefix: str):
        def record(module, inputs, output) -> None:
            x = inputs[0].detach().reshape(-1, inputs[0].shape[-1]).float()
            sums[prefix] = sums.get(prefix, 0) + x.T @ x
            counts[prefix] += x.shape[0]

        return record

    handles = [model.get_submodule(p).register_forward_hook(hook(p)) for p in prefixes]
    try:
        with torch.inference_mode():
            for ids in token_ids:
                model(torch.tensor([ids]))
    finally:
        for h in handles:
            h.remove()
    return {p: sums[p] / counts[p] for p in prefixes}


def refine(
    weight: torch.Tensor,
    hessian: torch.Tensor,
    parent: torch.Tensor,
    scales: torch.Tensor,
    zeros: torch.Tensor,
    seed_bits: int,
    bits: int,
    damp: float = 0.01,
    block: int = 128,
) -> torch.Tensor:
    """Codes at `bits`, each one of the two children of its parent code at `bits` − 1, chosen
    by a GPTQ pass (Frantar et al. 2023: column by column, the rounding error spread over the
    columns not yet quantized through the inverse Hessian's Cholesky factor)."""
    w = weight.float().clone()
    h = hessian.float().clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    h += damp * torch.mean(torch.diag(h)) * torch.eye(h.shape[0])
    hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    step = scales / (1 << (bits - seed_bits))
    offset = -scales * (zeros + 0.5)
    codes = torch.empty_like(parent, dtype=torch.long)
    n = w.shape[1]
    for b0 in range(0, n, block):
        b1 = min(b0 + block, n)
        w1, errors, hb = w[:, b0:b1].clone(), torch.zeros_like(w[:, b0:b1]), hinv[b0:b1, b0:b1]
        for i in range(b1 - b0):
            col = b0 + i
            base = 2 * parent[:, col].long()
            low = step[:, col] * (base + 0.5) + offset[:, col]
            high = low + step[:, col]
            up = (w1[:, i] - low).abs() > (w1[:, i] - high).abs()
            codes[:, col] = base + up
            err = (w1[:, i] - torch.where(up, high, low)) / hb[i, i]
            w1[:, i:] -= err[:, None] * hb[i, i:][None, :]
            errors[:, i] = err
        w[:, b1:] -= errors @ hinv[b0:b1, b1:]
    return codes


def upscale(
    weight: torch.Tensor,
    codes: torch.Tensor,
    scales: torch.Tensor,
    zeros: torch.Tensor,
    seed_bits: int,
    top_bits: int,
    hessian: torch.Tensor,
) -> torch.Tensor:
    """Top codes, one bit at a time from the seed: each level a constrained GPTQ pass."""
    parent = codes.long()
    for bits in range(seed_bits + 1, top_bits + 1):
        parent = refine(weight, hessian, parent, scales, zeros, seed_bits, bits)
    return parent


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
    seed_dir: Path,
    dense_dir: Path,
    out_dir: Path,
    top_bits: int,
    members: list[int],
    token_ids: list[list[int]],
) -> dict:
    """Write the nested set into `out_dir`: the top codes with the seed's scales and zeros, and
    one member folder (a small JSON naming the set and the width) per requested width."""
    from safetensors.torch import save_file

    seed_bits, layers = read_gptq_codes(seed_dir)
    if not (seed_bits <= min(members) and max(members) <= top_bits <= 8):
        raise ValueError(f"members {members} must lie within seed {seed_bits} .. top {top_bits}")
    weights = dense_weights(dense_dir, list(layers))
    h = hessians(dense_dir, list(layers), token_ids)
    tensors = {}
    for prefix, layer in layers.items():
        g_idx = layer["g_idx"]
        scales, zeros = per_weight(layer["scales"], g_idx), per_weight(layer["zeros"], g_idx)
        top = upscale(
            weights[prefix], layer["codes"], scales, zeros, seed_bits, top_bits, h[prefix]
        )
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
