"""Name the kernel path a loaded model's linear layers run, and whether it is really low-bit."""

from __future__ import annotations

from collections import Counter

# class name -> (description, runs a real low-bit kernel)
_KNOWN = {
    "TorchAtenLinear": ("ATen _weight_int4pack_mm_for_cpu (int4)", True),
    "TorchAtenAwqLinear": ("ATen _weight_int4pack_mm_for_cpu (int4, AWQ)", True),
    "TorchInt8Linear": ("gptqmodel torch int8 kernel", True),
    "TorchInt8AwqLinear": ("gptqmodel torch int8 kernel (AWQ)", True),
    "TorchLinear": ("gptqmodel torch: dequantize packed weights, then float matmul", False),
    "AwqTorchLinear": ("gptqmodel torch: dequantize packed AWQ weights, then float matmul", False),
    "TorchFusedLinear": ("gptqmodel torch fused (dequantize + matmul)", False),
    "MarlinLinear": ("Marlin (real low-bit CUDA kernel)", True),
    "AwqMarlinLinear": ("Marlin AWQ (real low-bit CUDA kernel)", True),
    "MacheteLinear": ("Machete (real low-bit CUDA kernel)", True),
    "AwqMacheteLinear": ("Machete AWQ (real low-bit CUDA kernel)", True),
    "TritonV2Linear": ("GPTQ Triton (real low-bit kernel)", True),
    "ExllamaV2Linear": ("ExLlamaV2 (real low-bit CUDA kernel)", True),
    "AwqGEMMLinear": ("AWQ GEMM (real low-bit CUDA kernel)", True),
    "Linear": ("dense torch.nn.Linear (float weights)", False),
}


def describe_kernels(model) -> tuple[str, bool]:
    """The decoder layers' linear kernels, e.g. 'ATen … (int4) ×210', and whether all are low-bit.

    The LM head and embeddings stay in float in every variant and are not counted.
    """
    import torch

    counts: Counter[str] = Counter()
    real = True
    for name, module in model.named_modules():
        if "lm_head" in name or "embed" in name:
            continue
        cls = type(module).__name__
        is_linear = isinstance(module, torch.nn.Linear) or "Linear" in cls
        # A known kernel counts even with submodules (TorchInt8Linear wraps its packed weight).
        if not is_linear or (cls not in _KNOWN and any(True for _ in module.children())):
            continue
        desc, low_bit = _KNOWN.get(cls, (cls, False))
        counts[desc] += 1
        real = real and low_bit
    if not counts:
        return "no linear layers found", False
    text = "; ".join(f"{desc} ×{n}" for desc, n in counts.most_common())
    return text, real
