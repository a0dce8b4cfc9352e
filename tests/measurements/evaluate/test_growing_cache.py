"""The growing cache layer holds exactly what transformers' dynamic layer holds."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from transformers.cache_utils import DynamicCache, DynamicLayer  # noqa: E402

from codesign.measurements.evaluate.growing_cache import GrowingLayer, growing  # noqa: E402


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
