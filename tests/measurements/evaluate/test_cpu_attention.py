"""The CPU attention fix changes no number: with a padded batch (an attention mask), prefill
and decode logits are bit-identical with key/value heads shared in torch's kernel and copied
per query head as transformers does; and the fix ends with its block."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_qwen2"])
def test_shared_kv_heads_give_bit_identical_logits_on_padded_batches(arch, request):
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.integrations import sdpa_attention

    from codesign.measurements.evaluate.cpu_attention import shared_kv_heads

    model = AutoModelForCausalLM.from_pretrained(request.getfixturevalue(arch)).eval()
    assert model.config.num_attention_heads > model.config.num_key_value_heads  # GQA model
    torch.manual_seed(0)
    ids = torch.randint(3, model.config.vocab_size, (3, 24))
    mask = torch.ones_like(ids)
    mask[0, :5] = mask[1, :9] = 0  # left padding: the mask transformers' rule refuses GQA for
    calls: list[bool] = []
    original = sdpa_attention.use_gqa_in_sdpa

    def run():
        with torch.inference_mode():
            first = model(input_ids=ids, attention_mask=mask, use_cache=True)
            step = model(
                input_ids=first.logits[:, -1].argmax(-1)[:, None],
                attention_mask=torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1),
                past_key_values=first.past_key_values,
            )
        calls.append(sdpa_attention.use_gqa_in_sdpa(mask[:, None, None, :].bool(), *[
            first.past_key_values.layers[0].keys
        ] * 2))  # fmt: skip
        return first.logits, step.logits

    copied = run()
    with shared_kv_heads():
        shared = run()
    assert calls == [False, True]  # the rule changed inside the block only
    assert sdpa_attention.use_gqa_in_sdpa is original
    assert torch.equal(copied[0], shared[0]) and torch.equal(copied[1], shared[1])
