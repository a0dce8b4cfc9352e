"""Grouped-query attention on a CPU without copying key/value heads (one small library fix).

transformers' SDPA path lets torch share each key/value head among its query heads
(``enable_gqa``) only when no attention mask is given: a rule made for CUDA, where a mask sends
GQA to the slow math kernel. So every padded batch, and every decode step of one, on a CPU
copies each key and value head once per query head, at every layer. torch's CPU kernel takes a
mask and GQA together, with bit-identical output (tests/measurements/evaluate/
test_cpu_attention.py): SmolLM2-135M (9 query heads, 3 key/value heads), a 16-row decode step
over a 700-token cache spent a quarter of its time in those copies, and the attention itself ran
4x faster without them (2-core AMD EPYC, one thread).

``shared_kv_heads()`` applies the fix for the ``with`` block only, so another tool running on
the same model object in the same process (the benchmarks' lm-evaluation-harness) is untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

MAX_HEAD_DIM = 256  # torch's fused CPU kernel's limit, as transformers states it


@contextlib.contextmanager
def shared_kv_heads() -> Iterator[None]:
    """Within the block, transformers' SDPA attention passes ``enable_gqa`` to torch for CPU
    tensors even when an attention mask is given; elsewhere its own rule stands."""
    try:
        from transformers.integrations import sdpa_attention
    except ImportError:  # no such integration: nothing to fix
        yield
        return
    original = getattr(sdpa_attention, "use_gqa_in_sdpa", None)
    if original is None:
        yield
        return

    def use_gqa(attention_mask, key, value) -> bool:
        if original(attention_mask, key, value):
            return True
        return key.device.type == "cpu" and key.shape[-1] == value.shape[-1] <= MAX_HEAD_DIM

    sdpa_attention.use_gqa_in_sdpa = use_gqa
    try:
        yield
    finally:
        sdpa_attention.use_gqa_in_sdpa = original
