"""AWQ's clipping search with the reconstruction as a batched matrix product.

GPTQModel's ``AWQProcessor._compute_best_clip`` (gptqmodel 7.6) scores each of the 10 clip
ratios of every group by ``(input_feat * w_quant).sum(-1)``: a broadcast product of shape
[out-channel batch, tokens, groups, group size] materialised in memory and summed, which on a
2-core CPU was ~75 % of an AWQ run. Per group that product is a matrix product
``X_g [tokens, group size] @ W_g^T [group size, out-channels]``; ``torch.bmm`` over the groups
computes the same reconstruction without the intermediate. Everything else (the sampled
tokens, the grid, the pseudo-quantizer, the tie rule) is GPTQModel's own, so the chosen clip
is the same up to float summation order (tests/measurements/quantize/test_awq_clip.py pins it
against the original). Used on CPU only, where it was measured (bench/awq_clip.py); other
devices keep the original.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@torch.no_grad()
def compute_best_clip(
    processor,
    w: torch.Tensor,
    input_feat: torch.Tensor,
    n_grid: int = 20,
    max_shrink: float = 0.5,
    n_sample_token: int = 512,
) -> torch.Tensor:
    """Per (out-channel, group) clip bound minimising the group's output error; returns
    [out-channels, groups, 1] like the original."""
    rows, cols = w.shape
    group = processor.qcfg.group_size if processor.qcfg.group_size > 0 else cols
    x = input_feat.reshape(-1, cols)
    x = x[:: max(1, x.shape[0] // n_sample_token)]  # the original's token sample
    x = x.to(w.device).reshape(x.shape[0], -1, group).permute(1, 0, 2)  # [groups, tokens, g]
    w4 = w.reshape(rows, 1, -1, group)
    batch = 256 if rows % 256 == 0 else 64
    best_all = []
    scratch_clamp = torch.empty_like(w4[:batch])
    scratch_quant = torch.empty_like(scratch_clamp)
    for start in range(0, rows, batch):
        wb = w4[start : start + batch]  # [batch, 1, groups, g]
        org_max = wb.abs().amax(dim=-1, keepdim=True)  # [batch, 1, groups, 1]
        best = org_max.clone()
        min_err = torch.full_like(org_max, 1e9)
        clamp, quant = scratch_clamp[: wb.shape[0]], scratch_quant[: wb.shape[0]]
        ref = torch.bmm(x, _per_group(wb))  # [groups, tokens, batch]
        for step in range(int(max_shrink * n_grid)):
            max_val = org_max * (1 - step / n_grid)
            torch.clamp(wb, -max_val, max_val, out=clamp)
            processor._pseudo_quantize_tensor_into(clamp, quant)
            out = torch.bmm(x, _per_group(quant))
            err = (out - ref).pow(2).mean(dim=1).transpose(0, 1).reshape(min_err.shape)
            better = err < min_err
            min_err[better] = err[better]
            best[better] = max_val[better]
        best_all.append(best)
    return torch.cat(best_all, dim=0).squeeze(1)


def _per_group(w4: torch.Tensor) -> torch.Tensor:
    """[batch, 1, groups, g] weights as [groups, g, batch] right-hand sides of the bmm."""
    return w4[:, 0].permute(1, 2, 0)


@contextlib.contextmanager
def batched_clip_search_on_cpu() -> Iterator[None]:
    """Within: GPTQModel's AWQ clip search runs as :func:`compute_best_clip` for CPU weights."""
    from gptqmodel.looper.awq_processor import AWQProcessor

    original = AWQProcessor._compute_best_clip

    def patched(self, w, input_feat, *args, **kwargs):
        if w.device.type != "cpu":
            return original(self, w, input_feat, *args, **kwargs)
        return compute_best_clip(self, w, input_feat, *args, **kwargs)

    AWQProcessor._compute_best_clip = patched
    try:
        yield
    finally:
        AWQProcessor._compute_best_clip = original
