"""The growing cache layer holds exactly what transformers' dynamic layer holds."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from transformers.cache_utils import DynamicCache, DynamicLayer  # noqa: E402

from codesign.measurements.evaluate.growing_cache import (  # noqa: E402
    GrowingLayer,
    gathered,
    gathered_cache,
    growing,
)


def _steps(layer, gen, rows=3, first=5, steps=6):
    out = [layer.update(torch.randn(rows, 2, first, 4, generator=gen),
                        torch.randn(rows, 2, first, 4, generator=gen))]  # fmt: skip
    for step in range(steps):
        if step == 3:  # a finished row leaves: the cache is re-indexed, the spare buffer dropped
            layer.batch_select_indices(torch.tensor([0, 2]))
            rows = 2
        k = torch.randn(rows, 2, 1, 4, generator=gen)
        v = torch.randn(rows, 2, 1, 4, generator=gen)
        out.append(tuple(t.clone() for t in layer.update(k, v)))
    return out


@pytest.mark.parametrize("room", [0, 2, 16])
def test_growing_layer_matches_dynamic_layer(room):
    plain = _steps(DynamicLayer(), torch.Generator().manual_seed(0))
    grown = _steps(GrowingLayer(room), torch.Generator().manual_seed(0))
    assert len(plain) == len(grown)
    for (pk, pv), (gk, gv) in zip(plain, grown, strict=True):
        assert torch.equal(pk, gk) and torch.equal(pv, gv)


def test_growing_swaps_only_plain_initialised_layers():
    cache = DynamicCache()
    cache.update(torch.ones(1, 2, 3, 4), torch.zeros(1, 2, 3, 4), 0)
    grown = growing(cache, 8)
    assert grown is cache and type(cache.layers[0]) is GrowingLayer
    assert torch.equal(cache.layers[0].keys, torch.ones(1, 2, 3, 4))
    assert growing("not a cache", 8) == "not a cache"


@pytest.mark.parametrize("room", [0, 3])
def test_gathered_parts_equal_padded_concatenation_and_keep_growing(room):
    """Parts of widths 5 and 2 gathered to width 5: the rows of the padded concatenation,
    zeros in the padding (never NaN), and later appends as a dynamic layer holding that
    concatenation makes them."""
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(1)
    parts = [
        (torch.randn(2, 2, w, 4, generator=gen), torch.randn(2, 2, w, 4, generator=gen))
        for w in (5, 2)
    ]
    layer = gathered(parts, 5, room)
    plain = DynamicLayer()
    plain.update(
        torch.cat([F.pad(k, (0, 0, 5 - k.shape[-2], 0)) for k, _ in parts]),
        torch.cat([F.pad(v, (0, 0, 5 - v.shape[-2], 0)) for _, v in parts]),
    )
    assert torch.equal(layer.keys, plain.keys) and torch.equal(layer.values, plain.values)
    assert not layer.keys[2:, :, :3].any()  # the narrow part's padding: zeros
    for _ in range(room + 2):  # through the spare room and past it
        k, v = torch.randn(4, 2, 1, 4, generator=gen), torch.randn(4, 2, 1, 4, generator=gen)
        got, want = layer.update(k, v), plain.update(k, v)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


def test_gathered_cache_is_a_plain_dynamic_cache_of_growing_layers():
    parts = [(torch.ones(1, 2, 3, 4), torch.zeros(1, 2, 3, 4))]
    cache = gathered_cache([parts, parts], 3, 4)
    assert type(cache) is DynamicCache and len(cache.layers) == 2
    assert all(type(layer) is GrowingLayer for layer in cache.layers)
    assert cache.get_seq_length() == 3
