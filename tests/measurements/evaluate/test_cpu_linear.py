"""oneDNN's packed linear for decode steps changes outputs by float rounding only: each layer
within float32 tolerance of ``F.linear`` at every row count, greedy generations identical, the
stock layers back after the block, and weights changed in place packed again."""

from __future__ import annotations

import pytest

from codesign.measurements.evaluate import cpu_linear

pytestmark = pytest.mark.skipif(not cpu_linear.available(), reason="no oneDNN in this torch")


@pytest.mark.parametrize("bias", [False, True])
def test_packed_layer_matches_linear_at_every_row_count(bias):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    layer = torch.nn.Linear(96, 40, bias=bias)
    with torch.inference_mode():
        forward = cpu_linear.packed_forward(layer, cpu_linear._pack(layer))
        for rows in (1, 3, 4, 7, 13, 16, 33, 64, 65, 200):
            x = torch.randn(rows, 1, 96)  # (rows, one new token, hidden): a decode step
            expected = F.linear(x, layer.weight, layer.bias)
            got = forward(x)
            assert got.shape == expected.shape
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_block_reroutes_float32_linears_and_restores_them(tiny_llama):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    linears = [m for m in model.modules() if type(m) is torch.nn.Linear]
    assert linears
    with cpu_linear.packed_linears(model) as on:
        assert on
        assert all("forward" in vars(m) for m in linears)
    assert not any("forward" in vars(m) for m in linears)
    model.to(torch.float64)  # another dtype: left to the stock layers
    with cpu_linear.packed_linears(model) as on:
        assert not on
        assert not any("forward" in vars(m) for m in linears)


def test_weights_changed_in_place_are_packed_again():
    import torch

    layer = torch.nn.Linear(32, 16, bias=False)
    first = cpu_linear._pack(layer)
    assert cpu_linear._pack(layer) is first  # kept while the weights are unchanged
    with torch.no_grad():
        layer.weight.mul_(2)
    second = cpu_linear._pack(layer)
    assert second is not first
    x = torch.randn(8, 32)
    with torch.inference_mode():
        out = cpu_linear.packed_forward(layer, second)(x)
    torch.testing.assert_close(out, x @ layer.weight.T, rtol=1e-5, atol=1e-5)


def test_no_room_leaves_the_stock_layers(tiny_llama, monkeypatch):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    for m in model.modules():
        cpu_linear._packed.pop(m, None)
    monkeypatch.setattr(cpu_linear, "MEMORY_SHARE", 0.0)
    with cpu_linear.packed_linears(model) as on:
        assert not on
        assert not any("forward" in vars(m) for m in model.modules() if type(m) is torch.nn.Linear)


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_qwen2"])
def test_greedy_generations_identical_with_and_without_packed_linears(arch, request, monkeypatch):
    """Twelve prompts of three subjects, decoded in batches of 4 to 12 rows (the packed
    path's range), give the same tokens either way."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from codesign.measurements.evaluate.generation import generate

    path = request.getfixturevalue(arch)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    tok = AutoTokenizer.from_pretrained(path)
    words = ["zebra", "quantum", "river", "Paris", "moon", "42"]
    texts = [
        f"Questions on subject {s}.\n\nQ: one?\nA: yes\n\nQ: {words[i % 6]} {'more ' * i}?\nA:"
        for s in range(3)
        for i in range(4)
    ]
    ids = [tok(t)["input_ids"] for t in texts]
    used: list[bool] = []
    original = cpu_linear.packed_linears

    def spy(m):
        ctx = original(m)

        class Spy:
            def __enter__(self):
                used.append(ctx.__enter__())

            def __exit__(self, *exc):
                return ctx.__exit__(*exc)

        return Spy()

    monkeypatch.setattr(cpu_linear, "packed_linears", spy)
    packed = generate(model, tok, ids, 8, max_batch=12)
    assert used and all(used)
    monkeypatch.setattr(cpu_linear, "available", lambda: False)
    used.clear()
    stock = generate(model, tok, ids, 8, max_batch=12)
    assert used and not any(used)
    assert [g.raw for g in packed] == [g.raw for g in stock]
    assert [g.generated_tokens for g in packed] == [g.generated_tokens for g in stock]
