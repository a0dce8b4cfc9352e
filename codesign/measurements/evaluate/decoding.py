"""Greedy decoding of prefilled rows: finished rows leave, batches of few rows merge.

transformers' greedy arithmetic (positions from the attention mask, argmax of the last
position's float32 logits), with two changes that cost nothing in outputs:

- a row that has produced its end token leaves the batch at once (its KV cache rows dropped),
  where ``model.generate`` keeps feeding it pad tokens until every row is done;
- rows past their prefill can be merged across batches (``merge``): their KV caches left-padded
  to a common length, the padding masked, exactly as a left-padded batch is. On a CPU a decode
  step costs nearly as much for three rows as for sixteen (the weights are read either way), so
  decoding an MMLU subject's three questions, then the next subject's, spends most steps on few
  rows; merged, they decode together.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Stop = int | None | frozenset[int]  # the end-of-sequence token id, or every id that ends one

Finished = list[tuple[int, list[int]]]  # (caller's index of the row, its generated tokens)


class StepClock:
    """Seconds of prefill (the prompts' forward passes up to the first generated token, shared
    prefixes included; all of log-likelihood scoring) and of decoding (the steps after), summed
    over a run."""

    def __init__(self) -> None:
        self.prefill = 0.0
        self.decode = 0.0


@contextlib.contextmanager
def timed(clock: StepClock | None, phase: str):
    """Adds the block's wall time to ``clock``'s ``phase`` (nothing without a clock)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        if clock is not None:
            setattr(clock, phase, getattr(clock, phase) + time.perf_counter() - start)


@dataclass
class Rows:
    """Rows still generating, between two forward passes."""

    index: list[int]  # the caller's index of each row
    out: list[list[int]]  # tokens generated so far, per row
    cache: Any  # KV cache of every token fed so far
    mask: Any  # (rows, cached tokens): 1 for a real token, 0 for padding
    pos: Any  # (rows, 1): the position of the token fed next
    last: Any  # (rows,): the token fed next (the last one generated)

    def __len__(self) -> int:
        return len(self.index)

    @property
    def width(self) -> int:
        return int(self.mask.shape[1])

    def finish(self, eos_id: Stop, every: bool = False) -> tuple[Finished, Rows | None]:
        """Rows whose last token is an end of sequence (``eos_id``: an id or a set of them; all
        rows when ``every``) leave: returned with their tokens; the rest stay, their cache rows
        kept."""
        tokens = self.last.tolist()
        stop = eos_id if isinstance(eos_id, frozenset) else frozenset({eos_id})
        going = [] if every else [j for j, t in enumerate(tokens) if t not in stop]
        stay = set(going)
        done = [(self.index[j], self.out[j]) for j in range(len(self)) if j not in stay]
        if not going:
            return done, None
        if len(going) < len(self):
            import torch

            if not hasattr(self.cache, "batch_select_indices"):
                raise TypeError(f"{type(self.cache).__name__} cannot drop finished rows")
            keep = torch.tensor(going, device=self.last.device)
            self.cache.batch_select_indices(keep)
            self.mask, self.pos, self.last = self.mask[keep], self.pos[keep], self.last[keep]
            self.index = [self.index[j] for j in going]
            self.out = [self.out[j] for j in going]
        return done, self


def last_position_only(model) -> dict:
    """``logits_to_keep=1`` where the model's forward takes it (transformers' causal LMs do):
    the LM head then runs on the last position only, not on every position of the batch."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return {}
    return {"logits_to_keep": 1} if "logits_to_keep" in params else {}


def growing(cache, room: int):
    """``cache`` with each plain layer appending in place (``growing_cache.growing``)."""
    from .growing_cache import growing as grow

    return grow(cache, room)


def prefill(
    model, ids, mask, cache, index: Sequence[int], eos_id: Stop, max_new_tokens: int
) -> tuple[Finished, Rows | None]:
    """The prompts' forward pass and first generated token. ``ids``/``mask`` are left-padded
    (after ``cache``'s tokens, when a prefix is cached); ``index`` names each row. Returns the
    rows already done (end token, or ``max_new_tokens`` 1) and the rest, ready to decode."""
    import torch

    past = cache.get_seq_length() if cache is not None else 0
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
    with torch.inference_mode():
        result = model(
            input_ids=ids[:, past:],
            attention_mask=mask,
            position_ids=positions[:, past:],
            past_key_values=cache,
            use_cache=True,
            **last_position_only(model),
        )
    tokens = torch.argmax(result.logits[:, -1].to(dtype=torch.float32), dim=-1)
    rows = Rows(
        list(index),
        [[t] for t in tokens.tolist()],
        growing(result.past_key_values, max_new_tokens),
        mask,
        positions[:, -1:] + 1,
        tokens,
    )
    return rows.finish(eos_id, every=max_new_tokens <= 1)


def decode(model, rows: Rows, steps: int, eos_id: Stop) -> Finished:
    """Up to ``steps`` more greedy tokens for every row (rows leave at their end token);
    every row's tokens, in the order the rows finished."""
    import torch

    from .cpu_linear import packed_linears

    keep_last = last_position_only(model)
    done: Finished = []
    current: Rows | None = rows
    with torch.inference_mode(), packed_linears(model):
        for step in range(steps):
            assert current is not None
            mask = torch.cat([current.mask, current.mask.new_ones((len(current), 1))], dim=-1)
            result = model(
                input_ids=current.last[:, None],
                attention_mask=mask,
                position_ids=current.pos,
                past_key_values=current.cache,
                use_cache=True,
                **keep_last,
            )
            tokens = torch.argmax(result.logits[:, -1].to(dtype=torch.float32), dim=-1)
            current.cache, current.mask, current.pos = result.past_key_values, mask, current.pos + 1
            current.last = tokens
            for out, token in zip(current.out, tokens.tolist(), strict=True):
                out.append(token)
            finished, current = current.finish(eos_id, every=step == steps - 1)
            done.extend(finished)
            if current is None:
                return done
    if current is not None:  # steps 0
        done.extend(zip(current.index, current.out, strict=True))
    return done


def mergeable(rows: Rows) -> bool:
    """Whether ``rows``' cache is transformers' plain dynamic cache (every layer a full-length
    tensor that left padding keeps exact); sliding-window or other caches decode on their own."""
    from transformers.cache_utils import DynamicCache

    from .growing_cache import PLAIN_LAYERS

    cache = rows.cache
    return (
        type(cache) is DynamicCache
        and all(type(layer) in PLAIN_LAYERS for layer in cache.layers)
        and all(layer.keys.shape[-2] == rows.width for layer in cache.layers)
    )


def _gathered(layers: list[list[tuple[Any, Any]]], width: int, room: int):
    """A dynamic cache appending in place, layer i holding ``layers[i]``' parts' rows in turn,
    each left-padded to ``width`` (``growing_cache.gathered_cache``)."""
    from .growing_cache import gathered_cache

    return gathered_cache(layers, width, room)


def _room(rows: Rows) -> int:
    return getattr(rows.cache.layers[0], "room", 0)


def merge(parts: Sequence[Rows]) -> Rows:
    """One batch of all ``parts``' rows (each ``mergeable``, at the same decode step): caches
    and masks left-padded with masked zeros to the widest part; positions carried per row."""
    import torch
    import torch.nn.functional as F

    if len(parts) == 1:
        return parts[0]
    width = max(p.width for p in parts)
    layers = [
        [(p.cache.layers[i].keys, p.cache.layers[i].values) for p in parts]
        for i in range(len(parts[0].cache.layers))
    ]
    return Rows(
        [i for p in parts for i in p.index],
        [o for p in parts for o in p.out],
        _gathered(layers, width, max(_room(p) for p in parts)),
        torch.cat([F.pad(p.mask, (width - p.width, 0)) for p in parts]),
        torch.cat([p.pos for p in parts]),
        torch.cat([p.last for p in parts]),
    )


def split(rows: Rows, k: int) -> tuple[Rows, Rows]:
    """``rows``' first ``k`` rows and the rest as two batches (each ``mergeable``, their cache
    rows copied), so that a merged batch can be filled to the batch size."""

    def part(sel: slice) -> Rows:
        layers = [[(layer.keys[sel], layer.values[sel])] for layer in rows.cache.layers]
        return Rows(
            rows.index[sel],
            rows.out[sel],
            _gathered(layers, rows.width, _room(rows)),
            rows.mask[sel],
            rows.pos[sel],
            rows.last[sel],
        )

    return part(slice(0, k)), part(slice(k, None))


def greedy_decode(
    model,
    ids,
    mask,
    cache,
    max_new_tokens: int,
    eos_id: Stop,
    clock: StepClock | None = None,
) -> list[list[int]]:
    """Each row's greedy continuation of one batch (up to and including ``eos_id``), row by
    row as transformers' greedy ``generate`` gives it; ``clock`` adds the prefill's and the
    decoding's seconds."""
    with timed(clock, "prefill"):
        done, rows = prefill(model, ids, mask, cache, range(ids.shape[0]), eos_id, max_new_tokens)
    if rows is not None:
        with timed(clock, "decode"):
            done += decode(model, rows, max_new_tokens - 1, eos_id)
    out: list[list[int]] = [[] for _ in range(ids.shape[0])]
    for i, tokens in done:
        out[i] = tokens
    return out
