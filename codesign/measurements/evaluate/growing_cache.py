"""transformers' dynamic cache layer, appending into spare room instead of ``torch.cat``.

The plain layer copies the whole cache at every decode step: a tenth of a 16-row step of
SmolLM2-135M over a 700-token cache (2-core AMD EPYC). Values and shapes are the same. Kept
apart so that importing ``decoding`` does not import transformers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transformers.cache_utils import DynamicCache, DynamicLayer


class GrowingLayer(DynamicLayer):
    """A dynamic layer whose keys and values are views of buffers with ``room`` spare tokens."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room
        self._spare: tuple[Any, Any] | None = None  # buffers whose first rows are the cache

    def update(self, key_states, value_states, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        n, add = self.get_seq_length(), key_states.shape[-2]
        spare = self._spare
        if (
            spare is None
            or n == 0
            or self.keys.data_ptr() != spare[0].data_ptr()  # replaced (rows dropped)
            or spare[0].shape[:2] != key_states.shape[:2]
            or spare[0].shape[-2] < n + add
        ):
            rows, heads, _, _ = key_states.shape
            size = n + add + self.room

            def fresh(old, new):
                buf = new.new_empty((rows, heads, size, new.shape[-1]))
                if n:
                    buf[:, :, :n] = old
                return buf

            spare = self._spare = (
                fresh(self.keys, key_states),
                fresh(self.values, value_states),
            )
        spare[0][:, :, n : n + add] = key_states
        spare[1][:, :, n : n + add] = value_states
        self.keys, self.values = spare[0][:, :, : n + add], spare[1][:, :, : n + add]
        return self.keys, self.values


def gathered(parts: Sequence[tuple[Any, Any]], width: int, room: int) -> GrowingLayer:
    """A growing layer holding the rows of every (keys, values) in ``parts`` in turn, each
    left-padded with zeros to ``width`` tokens, ``room`` tokens spare: one copy into the
    buffer, where concatenating, padding and re-wrapping copied the cache two or three times.
    The padding must be finite: attention weighs it by zero, and zero times NaN is NaN."""
    keys, values = parts[0]
    rows = sum(k.shape[0] for k, _ in parts)
    layer = GrowingLayer(room)
    layer.lazy_initialization(keys, values)
    buffers = []
    for which, first in enumerate((keys, values)):
        buf = first.new_empty((rows, first.shape[1], width + room, first.shape[-1]))
        row = 0
        for part in parts:
            t = part[which]
            n, short = t.shape[0], width - t.shape[-2]
            if short:
                buf[row : row + n, :, :short].zero_()
            buf[row : row + n, :, short:width] = t
            row += n
        buffers.append(buf)
    layer._spare = (buffers[0], buffers[1])
    layer.keys, layer.values = buffers[0][:, :, :width], buffers[1][:, :, :width]
    return layer


def gathered_cache(layers: Sequence[Sequence[tuple[Any, Any]]], width: int, room: int):
    """A dynamic cache whose i-th layer is ``gathered(layers[i], width, room)``."""
    cache = DynamicCache(ddp_cache_data=[(None, None)] * len(layers))
    cache.layers = [gathered(parts, width, room) for parts in layers]
    return cache


def growing(cache, room: int):
    """``cache`` (a plain dynamic cache) with each layer appending in place, ``room`` more
    tokens before it copies; other caches as they are."""
    if type(cache) is not DynamicCache:
        return cache
    for i, layer in enumerate(cache.layers):
        if type(layer) is DynamicLayer and layer.is_initialized:
            new = GrowingLayer(room)
            new.update(layer.keys, layer.values)
            cache.layers[i] = new
    return cache


PLAIN_LAYERS = (DynamicLayer, GrowingLayer)
