"""Batched greedy generation and log-likelihood scoring for the suites.

Prompts are rendered with the model's chat template, sorted by length and batched with left
padding under a token budget, so little compute is spent on padding. Decoding is greedy and
short (each suite sets ``max_new_tokens``): the result is deterministic for a variant.

The prompts of a call usually open alike (chat template, system prompt, task instruction; an
MMLU subject's demonstrations; not fairness' few-shot prompts, whose demonstrations differ per
item as in DecodingTrust's files). That shared prefix runs once through the model per call,
not per batch; its KV cache is copied to every row of every batch and only the rest of each
prompt is prefilled, with the padding between prefix and rest masked. Batches are then sized
by their rest tokens (the prefix is not recomputed), their rows capped so the KV cache they
hold stays within twice the token budget. Prompts that share a much longer prefix among
themselves than with the rest of the call (ethics' 32-shot demonstrations) run as a call of
their own when the prompt tokens saved outweigh that call's extra decode steps. The rests of
several calls share a batch (``_pooled_batches``), each row's cache holding its own call's
prefix, so that calls of a few prompts each (an MMLU sample's subjects) still prefill and
decode in full batches.
Positions come from the attention mask, so the result equals the plain batched run up to float
rounding (bench/prefix_cache.py measures the gain and the agreement).
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from codesign.measurements.evaluate import decoding
from codesign.measurements.evaluate.cpu_attention import shared_kv_heads
from codesign.measurements.evaluate.decoding import (
    StepClock,
    greedy_decode,
    last_position_only,
    timed,
)

FALLBACK_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


@dataclass(frozen=True)
class Generation:
    raw: str
    prompt_tokens: int
    generated_tokens: int


def chat_texts(tokenizer, chats: Sequence[list[dict[str, str]]]) -> list[str]:
    """Each conversation rendered by the chat template, ending with the assistant's generation
    prompt (the text another harness would be given)."""
    template = tokenizer.chat_template or FALLBACK_TEMPLATE  # base models have none
    return [
        tokenizer.apply_chat_template(
            chat, chat_template=template, add_generation_prompt=True, tokenize=False
        )
        for chat in chats
    ]


def stop_ids(model, tokenizer) -> frozenset[int]:
    """Every token that ends a reply: the model's generation config's end-of-sequence ids (what
    ``model.generate`` and a server stop at, e.g. SmolLM2's <|im_end|>) and the tokenizer's (a
    converted GGUF's tokenizer may name another token, <|im_start|> for SmolLM2)."""
    config = getattr(model, "generation_config", None)
    ids = getattr(config, "eos_token_id", None)
    ids = [] if ids is None else [ids] if isinstance(ids, int) else list(ids)
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return frozenset(ids)


def encode_chats(tokenizer, chats: Sequence[list[dict[str, str]]]) -> list[list[int]]:
    """Token ids of each conversation, ending with the assistant's generation prompt."""
    texts = chat_texts(tokenizer, chats)
    return [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]


# Shortest shared prefix worth a separate prefill (bench/prefix_cache.py measured 16 for
# generation; choice scoring's prompts share the ~10-token MMLU preamble).
GENERATE_MIN_SHARED = 16
SCORE_MIN_SHARED = 8


# A prompt at least this long runs alone: a padded batch needs an explicit attention mask, which
# sends torch's CPU attention down its materialising path (a batch of two 4,100-token prompts
# took 40.7 s where one alone took 13.6 s; SmolLM2-135M, float32, 2-core AMD EPYC), while a
# long prompt alone already keeps the cores busy.
SOLO_TOKENS = 1024


def length_batches(
    lengths: Sequence[int],
    max_tokens: int,
    max_batch: int,
    max_padding: float = 0.1,
    solo_tokens: int | None = None,
    split_tokens: int = 0,
    held: tuple[Sequence[int], int] | None = None,
) -> list[list[int]]:
    """Indices grouped shortest-first so a batch's padded size stays under ``max_tokens`` and
    at most ``max_padding`` of it is padding. Sorted lengths crowd together at the short end,
    where batches fill up; in the sparse long tail a batch closes early rather than pad a
    short prompt out to a much longer one. Padding up to ``split_tokens`` tokens is always
    accepted (what another batch's decode steps would cost). Prompts of at least
    ``solo_tokens`` run alone. ``held`` = (extra, limit): each index also holds ``extra``
    tokens of KV cache beyond its length (a cached prefix, the new tokens), and a batch's
    rows times (longest length + largest extra) stays within ``limit``."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    real = 0
    for i in order:
        if solo_tokens is not None and lengths[i] >= solo_tokens:
            if current:
                batches.append(current)
                current, real = [], 0
            batches.append([i])
            continue
        width = max(lengths[i], *(lengths[j] for j in current)) if current else lengths[i]
        padded = width * (len(current) + 1)
        kept = 0
        if held is not None:
            extra = max(held[0][j] for j in [*current, i])
            kept = (width + extra) * (len(current) + 1) - held[1]
        if current and (
            len(current) + 1 > max_batch
            or padded > max_tokens
            or padded - (real + lengths[i]) > max(max_padding * padded, split_tokens)
            or kept > 0
        ):
            batches.append(current)
            current, real = [], 0
        current.append(i)
        real += lengths[i]
    if current:
        batches.append(current)
    return batches


def shared_prefix_length(seqs: Sequence[Sequence[int]]) -> int:
    """Tokens every sequence starts with, leaving at least one token of each to prefill (the
    last prompt token must run through the model to give the first generated token)."""
    if not seqs:
        return 0
    limit = min(len(s) for s in seqs) - 1
    first = seqs[0]
    n = 0
    while n < limit and all(s[n] == first[n] for s in seqs):
        n += 1
    return n


# What one more generation batch costs, in prompt tokens prefilled: its decode steps run one
# after another, and on a CPU a step of a small model costs about as much as prefilling this
# many tokens (SmolLM2-135M in float32 on a 2-core AMD EPYC: 102 ms a step at one row, 163 ms
# at eight, against 3.0 ms per prefilled token). Only measured on a CPU: elsewhere batches
# split as they did and no prompts leave for calls of their own.
STEP_TOKENS = {"cpu": 32}
# Neighbours (in token order) that share this many tokens beyond the call's common prefix are
# candidates for a call of their own.
CLUSTER_MIN_EXTRA = 64


def prefix_clusters(
    seqs: Sequence[Sequence[int]], max_new_tokens: int, step_tokens: int | None
) -> list[list[int]]:
    """Indices of prompts worth a generation call of their own, because they share a long
    prefix the call as a whole does not (ethics' 32-shot prompts: the same ~1,000 tokens of
    demonstrations, within a call whose prompts share only the chat template). A group of r
    prompts sharing s tokens beyond the call's common prefix leaves its own call when the
    (r - 1) * s prompt tokens it then prefills once instead of r times outweigh the extra
    call's decode steps (``max_new_tokens * step_tokens``). The rest stays in one group;
    every index appears once."""
    n = len(seqs)
    if step_tokens is None or n < 2:
        return [list(range(n))]
    base = shared_prefix_length(seqs)
    order = sorted(range(n), key=lambda i: list(seqs[i]))  # shared prefixes end up adjacent
    clusters: list[list[int]] = []
    rest: list[int] = []
    _take_clusters(seqs, order, base, base, max_new_tokens * step_tokens, clusters, rest)
    return ([sorted(rest)] if rest else []) + clusters


def _take_clusters(seqs, order, level, base, cost, clusters, rest) -> None:
    """Runs of ``order`` (token-sorted) sharing at least ``level + CLUSTER_MIN_EXTRA`` tokens:
    each is a cluster when it pays against the call's ``base`` prefix, else its own deeper
    runs are tried (four prompts with the same 300 demonstration tokens inside a run of six
    that share only 100)."""
    runs: list[list[int]] = []
    for i in order:
        first = runs[-1][0] if runs else None
        joins = first is not None and (
            shared_prefix_length([seqs[first], seqs[i]]) >= level + CLUSTER_MIN_EXTRA
        )
        if joins:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        if len(run) < 2:
            rest.extend(run)
            continue
        shared = shared_prefix_length([seqs[i] for i in run])
        # a group's batches carry the copied prefix, hence an attention mask: rests that long
        # would take torch's materialising attention path, where alone they run fused
        short = max(len(seqs[i]) for i in run) - shared < SOLO_TOKENS
        if short and (len(run) - 1) * (shared - base) > cost:
            clusters.append(sorted(run))
        else:
            _take_clusters(seqs, run, shared, base, cost, clusters, rest)


def _call_prefix(
    model, token_ids: Sequence[Sequence[int]], device: str, min_shared: int | None
) -> tuple[int, Any] | None:
    """(length, one-row KV cache) of the prefix every prompt of a call shares, when at least
    ``min_shared`` tokens long and the model's cache can be copied per row; else None."""
    if min_shared is None or len(token_ids) < 2:
        return None
    shared = shared_prefix_length(token_ids)
    if shared < min_shared:
        return None
    cache = _prefix_cache(model, token_ids[0][:shared], 1, device)
    return None if cache is None else (shared, cache)


def _prefix_cache(model, prefix: Sequence[int], rows: int, device: str):
    """The KV cache of ``prefix``, computed once and repeated for ``rows`` rows; None where the
    model's cache cannot be repeated along the batch."""
    import torch

    with torch.inference_mode():  # no logits needed: the head runs on one position only
        out = model(
            input_ids=torch.tensor([list(prefix)], device=device),
            use_cache=True,
            **last_position_only(model),
        )
    cache = getattr(out, "past_key_values", None)
    if cache is None or not hasattr(cache, "batch_repeat_interleave"):
        return None
    cache.batch_repeat_interleave(rows)
    return cache


def _batch_inputs(
    model,
    rows: Sequence[Sequence[int]],
    pad: int,
    device: str,
    min_shared: int | None,
    prefix: tuple[int, Any] | None = None,
):
    """(ids, mask, cache, shared) of one batch. Plainly left-padded (cache None, shared 0);
    or, when the rows share at least ``min_shared`` leading tokens, that prefix's KV cache
    repeated per row, with ids and mask covering the prefix and then each rest left-padded:
    the pads sit between the two, masked. ``prefix`` = (length, one-row cache) computed once
    for the whole call is copied instead of running the batch's own prefix."""
    import torch

    shared = shared_prefix_length(rows) if len(rows) > 1 else 0
    cache = None
    if prefix is not None:
        shared, cache = prefix[0], copy.deepcopy(prefix[1])
        cache.batch_repeat_interleave(len(rows))
    elif min_shared is not None and shared >= min_shared:
        cache = _prefix_cache(model, rows[0][:shared], len(rows), device)
    if cache is None:
        ids, mask = _left_pad(rows, pad, device)
        return ids, mask, None, 0
    rest, rest_mask = _left_pad([r[shared:] for r in rows], pad, device)
    head = torch.tensor([list(rows[0][:shared])] * len(rows), device=device)
    ids = torch.cat([head, rest], dim=1)
    mask = torch.cat([torch.ones_like(head), rest_mask], dim=1)
    return ids, mask, cache, shared


def _left_pad(seqs: Sequence[Sequence[int]], pad_id: int, device: str):
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, s in enumerate(seqs):
        ids[row, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        mask[row, width - len(s) :] = 1
    return ids.to(device), mask.to(device)


# Prefilled batches merge only while the widest cache is at most this many times the
# narrowest: a merged row attends over the padded width, and ethics' 60-token zero-shot rows
# merged with its 1,100-token 32-shot ones decoded 1.3x slower than apart (SmolLM2-135M, CPU).
MERGE_WIDTH_RATIO = 2.0


class Batching(enum.Enum):
    """How ``generate`` forms and decodes batches; the outputs are the same under each (up to
    float rounding), the speed is not (bench/greedy_decode.py, bench/prefix_cache.py)."""

    POOLED = "pooled"  # the rows of several calls prefill in one batch, each row's cache
    # holding its own call's prefix (``_pooled_batches``); prefilled batches decode merged
    MERGED = "merged"  # each call batched apart; the prefilled batches decode merged, up to
    # ``max_batch`` rows (``decoding.merge``)
    APART = "apart"  # each batch prefilled and decoded on its own


@dataclass
class _Collector:
    """Decodes each finished row's tokens into its ``Generation`` and hands every finished
    batch to ``on_batch`` (to store it)."""

    tokenizer: Any
    token_ids: Sequence[Sequence[int]]
    on_batch: Callable[[list[int], list[Generation]], None] | None
    out: list[Generation | None]

    def __call__(self, finished: list[tuple[int, list[int]]]) -> None:
        results = []
        for i, new in finished:
            # no clean-up: it strips spaces before punctuation, which BPE text keeps (and
            # transformers warns when a BPE tokenizer's config asks for it)
            text = self.tokenizer.decode(
                new, skip_special_tokens=True, clean_up_tokenization_spaces=False
            ).strip()
            self.out[i] = Generation(text, len(self.token_ids[i]), len(new))
            results.append(self.out[i])
        if self.on_batch is not None:
            self.on_batch([i for i, _ in finished], results)

    def generations(self) -> list[Generation]:
        return [g for g in self.out if g is not None]


@shared_kv_heads()  # on a CPU, key/value heads are not copied per query head
def generate(
    model,
    tokenizer,
    token_ids: Sequence[Sequence[int]],
    max_new_tokens: int,
    *,
    device: str = "cpu",
    max_batch_tokens: int = 8192,
    max_batch: int = 32,
    min_shared_prefix: int | None = GENERATE_MIN_SHARED,
    on_batch: Callable[[list[int], list[Generation]], None] | None = None,
    clock: StepClock | None = None,
    groups: Sequence[Sequence[int]] | None = None,
    batching: Batching = Batching.POOLED,
) -> list[Generation]:
    """Greedy continuations of every prompt; ``on_batch`` sees each finished batch (to store it).

    ``groups`` (indices of prompts) are calls of their own, each prefilling its shared prefix
    once (an MMLU subject's header and demonstrations); by default all prompts form one call.
    Within a call, prompts sharing at least ``min_shared_prefix`` leading tokens prefill that
    prefix once through the KV cache (``None`` turns the reuse off), and prompts sharing a much
    longer prefix than the rest run as calls of their own when that pays (``prefix_clusters``).
    ``batching`` says how batches are formed and decoded (``Batching``).
    ``clock`` sums the time of prefill and of decoding."""
    step_tokens = STEP_TOKENS.get(device.split(":")[0])
    calls = _calls(token_ids, groups, max_new_tokens, min_shared_prefix, step_tokens)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos = stop_ids(model, tokenizer)
    collect = _Collector(tokenizer, token_ids, on_batch, [None] * len(token_ids))
    if batching is not Batching.APART:  # calls of alike prompt lengths in turn: merged
        calls.sort(key=lambda c: sum(len(token_ids[i]) for i in c) / len(c))  # caches pad little
    sizes = (max_batch_tokens, max_batch, min_shared_prefix, step_tokens or 0)
    if batching is Batching.POOLED and min_shared_prefix is not None:
        batches = _pooled_batches(
            model, token_ids, calls, max_new_tokens, pad, device, sizes, clock
        )
    else:
        batches = (
            batch
            for call in calls
            for batch in _call_batches(
                model, token_ids, call, max_new_tokens, pad, device, sizes, clock
            )
        )
    if batching is Batching.APART:
        for index, (ids, mask, cache) in batches:
            news = greedy_decode(model, ids, mask, cache, max_new_tokens, eos, clock)
            collect(list(zip(index, news, strict=True)))
    else:
        prefilled = _prefilled(model, batches, eos, max_new_tokens, clock)
        _decode_merged(
            model, prefilled, eos, max_new_tokens, max_batch_tokens, max_batch, clock, collect
        )
    return collect.generations()


def _calls(token_ids, groups, max_new_tokens, min_shared_prefix, step_tokens) -> list[list[int]]:
    """The calls (lists of prompt indices) as given, each split into its prefix clusters when
    prefixes are reused."""
    calls = [list(g) for g in groups] if groups is not None else [list(range(len(token_ids)))]
    if min_shared_prefix is None:
        return calls
    return [
        [call[i] for i in cluster]
        for call in calls
        for cluster in prefix_clusters([token_ids[i] for i in call], max_new_tokens, step_tokens)
    ]


def _prefilled(model, batches, eos, max_new_tokens, clock):
    """Each batch prefilled: (rows finished at their first token, the rows still decoding)."""
    for index, (ids, mask, cache) in batches:
        with timed(clock, "prefill"):
            part = decoding.prefill(model, ids, mask, cache, index, eos, max_new_tokens)
        yield part


def _decode_merged(
    model, prefilled, eos, max_new_tokens, max_batch_tokens, max_batch, clock, collect
):
    """Decodes prefilled batches merged: held until the next would overflow the batch size or
    the KV budget, or differ too much in width (``MERGE_WIDTH_RATIO``), then decoded as one."""
    budget = KV_BUDGETS * max_batch_tokens  # KV tokens a merged batch may hold
    held: list[tuple[list, decoding.Rows | None]] = []

    def flush() -> None:
        done = [f for finished, _ in held for f in finished]
        parts = [rows for _, rows in held if rows is not None]
        held.clear()
        if parts:
            with timed(clock, "decode"):
                done += decoding.decode(model, decoding.merge(parts), max_new_tokens - 1, eos)
        if done:
            collect(done)

    for finished, rows in prefilled:
        if rows is not None and not decoding.mergeable(rows):
            with timed(clock, "decode"):  # storing (``collect``) is not decoding
                finished += decoding.decode(model, rows, max_new_tokens - 1, eos)
            collect(finished)
            continue
        parts = [r for _, r in held if r is not None] + ([rows] if rows is not None else [])
        widths = [p.width for p in parts] or [0]
        n, width = sum(len(p) for p in parts), max(widths) + max_new_tokens
        alike = max(widths) <= MERGE_WIDTH_RATIO * min(widths)
        if held and (min(n, max_batch) * width > budget or not alike):
            flush()
        free = max_batch - sum(len(r) for _, r in held if r is not None)
        if held and rows is not None and len(rows) > free:
            if free > 0:  # fill the held batch to the batch size; the rest starts the next
                first, rows = decoding.split(rows, free)
                held.append((finished, first))
                finished = []
            flush()
        held.append((finished, rows))
    flush()


def _call_batches(model, token_ids, call, max_new_tokens, pad, device, sizes, clock, prefix=False):
    """(indices, (ids, mask, cache)) of each batch of one call: its shared prefix (when long
    enough; ``prefix`` when the caller computed it) prefilled once and copied into every
    batch, batches sized by the rest of each prompt (``length_batches``)."""
    max_batch_tokens, max_batch, min_shared_prefix, step_tokens = sizes
    seqs = [token_ids[i] for i in call]
    lengths = [len(t) for t in seqs]
    if prefix is False:
        with timed(clock, "prefill"):
            prefix = _call_prefix(model, seqs, device, min_shared_prefix)
    shared = prefix[0] if prefix else 0
    rows_cap = max_batch
    if prefix:  # the prefix is not recomputed: size batches by their rest, cap the KV held
        widest = max(lengths) + max_new_tokens
        rows_cap = max(1, min(max_batch, KV_BUDGETS * max_batch_tokens // widest))
    rests = [n - shared for n in lengths]
    solo = None if prefix else SOLO_TOKENS  # with a copied prefix the mask is needed anyway
    for batch in length_batches(
        rests,
        max_batch_tokens,
        rows_cap,
        solo_tokens=solo,
        split_tokens=step_tokens * max_new_tokens,
    ):
        with timed(clock, "prefill"):
            ids, mask, cache, _ = _batch_inputs(
                model, [seqs[i] for i in batch], pad, device, min_shared_prefix, prefix
            )
        yield [call[i] for i in batch], (ids, mask, cache)


KV_BUDGETS = 2  # a generation batch's KV cache holds at most this many max_batch_tokens

# A window of calls is prefilled together (``_pooled_batches``) once it has this many batches'
# worth of rows, or holds this many budgets' worth of prefix tokens.
POOL_BATCHES = 4
POOL_PREFIX_BUDGETS = 2


def _pooled_batches(model, token_ids, calls, max_new_tokens, pad, device, sizes, clock):
    """(indices, (ids, mask, cache)) of batches that mix the rows of several calls. The rows of
    a window of calls are batched by the length of their rests, each row's cache holding its
    own call's prefix, left-padded to the batch's longest; the window's prefixes are prefilled
    once each, several to a forward pass (``_prefix_layers``). A call of MMLU's 200-item
    sample holds three or four questions: batched per call, its rests ran in batches of one to
    four rows padded to the call's longest question; pooled, sixteen rows of alike length run
    in one batch. Where the cache is not transformers' plain dynamic cache, each call is
    batched apart (``_call_batches``)."""
    max_batch_tokens, max_batch, min_shared_prefix, _ = sizes
    window: list[tuple[list[int], int]] = []  # (call, length of its shared prefix or 0)
    rows = held = 0
    state = {"sliced": True}  # False once the model's cache proved not to slice per prefix
    for call in calls:
        shared = shared_prefix_length([token_ids[i] for i in call]) if len(call) > 1 else 0
        window.append((call, shared if shared >= min_shared_prefix else 0))
        rows += len(call)
        held += window[-1][1]
        if rows >= POOL_BATCHES * max_batch or held >= POOL_PREFIX_BUDGETS * max_batch_tokens:
            yield from _window(
                model, token_ids, window, max_new_tokens, pad, device, sizes, clock, state
            )
            window, rows, held = [], 0, 0
    if window:
        yield from _window(
            model, token_ids, window, max_new_tokens, pad, device, sizes, clock, state
        )


def _window(model, token_ids, window, max_new_tokens, pad, device, sizes, clock, state):
    """The batches of one window of (call, shared prefix length): prefixes prefilled, then
    ``_window_batches``; each call apart when the cache cannot be sliced per prefix (then
    ``state["sliced"]`` is False and later windows do not try)."""
    with timed(clock, "prefill"):
        layers = state["sliced"] and _prefix_layers(
            model,
            [token_ids[call[0]][:shared] for call, shared in window if shared],
            device,
            sizes[0],
        )
    if not layers and any(shared for _, shared in window):
        state["sliced"] = False
        for call, _ in window:
            yield from _call_batches(
                model, token_ids, call, max_new_tokens, pad, device, sizes, clock
            )
        return
    kv = iter(layers or [])
    entries = [(call, (shared, next(kv)) if shared else None) for call, shared in window]
    yield from _window_batches(model, token_ids, entries, max_new_tokens, pad, device, sizes, clock)


def _prefix_layers(model, prefixes: Sequence[Sequence[int]], device: str, max_tokens: int):
    """Each prefix's KV cache as one-row (keys, values) per layer, prefixes of alike length
    prefilled together up to ``max_tokens`` padded tokens: right-padded, so that the causal
    attention alone keeps a prefix from seeing the padding and torch runs its unmasked kernel.
    One MMLU subject's ~515 tokens are too few rows for the matrix products' best speed on a
    CPU (315 against 350 GFLOPS at 2,240 rows, 2-core Intel Xeon). The slices are views of
    their pass's cache. None where the model's cache is not transformers' plain dynamic
    cache."""
    import torch

    out: list[Any] = [None] * len(prefixes)
    for batch in length_batches([len(p) for p in prefixes], max_tokens, len(prefixes) or 1):
        width = max(len(prefixes[i]) for i in batch)
        ids = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            ids[row, : len(prefixes[i])] = torch.tensor(list(prefixes[i]), dtype=torch.long)
        with torch.inference_mode():
            result = model(input_ids=ids.to(device), use_cache=True, **last_position_only(model))
        cache = getattr(result, "past_key_values", None)
        if cache is None or not _plain_cache(cache):
            return None
        for row, i in enumerate(batch):
            n = len(prefixes[i])
            out[i] = [
                (layer.keys[row : row + 1, :, :n], layer.values[row : row + 1, :, :n])
                for layer in cache.layers
            ]
    return out


def _plain_cache(cache) -> bool:
    """Whether ``cache`` is transformers' plain dynamic cache (full-length layers), whose rows
    can be gathered and left-padded into one batch."""
    from transformers.cache_utils import DynamicCache, DynamicLayer

    return type(cache) is DynamicCache and all(type(la) is DynamicLayer for la in cache.layers)


def _window_batches(model, token_ids, window, max_new_tokens, pad, device, sizes, clock):
    """The batches of one window of (call, prefix): rows without a prefix batched together as
    one call without a prefix is (``_call_batches``); rows with one batched by their rests
    across calls."""
    max_batch_tokens, max_batch, _, _ = sizes
    plain = [i for call, prefix in window if prefix is None for i in call]
    yield from _call_batches(
        model, token_ids, plain, max_new_tokens, pad, device, sizes, clock, prefix=None
    )
    rows = [(i, prefix) for call, prefix in window if prefix is not None for i in call]
    rests = [len(token_ids[i]) - prefix[0] for i, prefix in rows]
    extra = [prefix[0] + max_new_tokens for _, prefix in rows]
    # no padding accepted to save a batch: these batches decode merged, so another one adds
    # no decode steps (A/B on MMLU's 200-item sample: 86.1 s against 87.6 s with 512 tokens)
    for batch in length_batches(
        rests, max_batch_tokens, max_batch, held=(extra, KV_BUDGETS * max_batch_tokens)
    ):
        picked = [rows[b] for b in batch]
        yield (
            [i for i, _ in picked],
            _pooled_inputs(
                [(token_ids[i], prefix) for i, prefix in picked], pad, device, max_new_tokens
            ),
        )


def _pooled_inputs(rows: Sequence[tuple[Sequence[int], tuple[int, Any]]], pad, device, new):
    """(ids, mask, cache) of rows each with its own (length, per-layer (keys, values)) prefix:
    the caches gathered and left-padded to the longest prefix, then each rest left-padded,
    with room in the cache for the rests and ``new`` generated tokens
    (``growing_cache.gathered_cache``)."""
    import torch

    from .growing_cache import gathered_cache

    width = max(shared for _, (shared, _) in rows)
    per_row = [kv for _, (_, kv) in rows]
    layers = [[kv[k] for kv in per_row] for k in range(len(per_row[0]))]
    rest, rest_mask = _left_pad([seq[shared:] for seq, (shared, _) in rows], pad, device)
    cache = gathered_cache(layers, width, rest.shape[1] + new)
    head = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (_, (shared, _)) in enumerate(rows):
        head[r, width - shared :] = 1
    head = head.to(device)
    ids = torch.cat([torch.full_like(head, pad), rest], dim=1)
    return ids, torch.cat([head, rest_mask], dim=1), cache


def _split_continuations(tokenizer, contexts, choices):
    """Context ids and each choice's continuation ids, split lm-evaluation-harness style."""
    ctx_ids, conts = [], []
    for c in contexts:
        ids = tokenizer(c, add_special_tokens=False)["input_ids"]
        row = []
        for ch in choices:
            whole = tokenizer(c + ch, add_special_tokens=False)["input_ids"]
            keep = len(ids)
            while keep and whole[:keep] != ids[:keep]:  # a merge across the boundary
                keep -= 1
            row.append((keep, whole))
        ctx_ids.append(ids)
        conts.append(row)
    return ctx_ids, conts


@shared_kv_heads()
def choice_logprobs(
    model,
    tokenizer,
    contexts: Sequence[str],
    choices: Sequence[str],
    *,
    device: str = "cpu",
    max_batch_tokens: int = 8192,
    max_batch: int = 32,
    min_shared_prefix: int | None = SCORE_MIN_SHARED,
    on_batch: Callable[[list[int], list[list[float]]], None] | None = None,
    clock: StepClock | None = None,
) -> list[list[float]]:
    """log P(choice | context) for every context and choice, lm-evaluation-harness style
    (context and continuation encoded whole, then split). When every choice is one token
    after its context — true for " A".." D" with most tokenizers — one forward pass per
    context serves all choices; otherwise each (context, choice) gets its own pass. Contexts
    sharing a long prefix among themselves (a subject's description and few-shot
    demonstrations) are scored together, that prefix prefilled once and its KV cache copied
    into each of their batches; otherwise a batch's shared leading tokens (at least
    ``min_shared_prefix``) run once through the KV cache. ``clock`` sums the forward passes'
    time as prefill (there is no decoding)."""
    ctx_ids, conts = _split_continuations(tokenizer, contexts, choices)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out: list[list[float] | None] = [None] * len(contexts)
    # scoring decodes nothing: another batch costs no decode steps, so every group sharing
    # CLUSTER_MIN_EXTRA more tokens than the rest is worth its own prefix
    groups = [list(range(len(ctx_ids)))]
    if min_shared_prefix is not None:
        groups = prefix_clusters(ctx_ids, 0, 0)
    for group in groups:

        def done(batch: list[int], results: list[list[float]], group=group) -> None:
            batch = [group[b] for b in batch]
            for i, res in zip(batch, results, strict=True):
                out[i] = res
            if on_batch is not None:
                on_batch(batch, results)

        _score_group(
            model,
            [ctx_ids[i] for i in group],
            [conts[i] for i in group],
            pad,
            device,
            (max_batch_tokens, max_batch, min_shared_prefix),
            clock,
            done,
        )
    return [r for r in out if r is not None]


def _one_pass(ctx: Sequence[int], row: Sequence[tuple[int, list[int]]]) -> bool:
    """Whether every choice is one token after the context (one forward pass serves all)."""
    return all(keep == len(ctx) and len(whole) == keep + 1 for keep, whole in row)


def _score_group(model, ctx_ids, conts, pad, device, sizes, clock, done) -> None:
    """choice_logprobs on one group of contexts: their common prefix (when at least
    ``min_shared`` tokens) prefilled once, batches sized by the rest of each context."""
    import torch

    max_batch_tokens, max_batch, min_shared = sizes
    every = all(_one_pass(c, row) for c, row in zip(ctx_ids, conts, strict=True))
    with timed(clock, "prefill"):
        prefix = _call_prefix(model, ctx_ids, device, min_shared) if every else None
    shared = prefix[0] if prefix else 0
    rows_cap = max_batch
    if prefix:  # the copied cache holds the prefix for every row of a batch
        rows_cap = max(1, min(max_batch, 2 * max_batch_tokens // (max(map(len, ctx_ids)) + 1)))
    rests = [len(c) - shared + 4 for c in ctx_ids]
    for batch in length_batches(rests, max_batch_tokens, rows_cap):
        with timed(clock, "prefill"):  # no decoding: all of scoring counts as prefill
            if all(_one_pass(ctx_ids[i], conts[i]) for i in batch):
                logits = _last_logits(
                    model, [ctx_ids[i] for i in batch], pad, device, min_shared, prefix
                )
                logp = torch.log_softmax(logits, dim=-1)
                results = [
                    [float(logp[r, whole[-1]]) for _, whole in conts[i]]
                    for r, i in enumerate(batch)
                ]
            else:
                results = [
                    [_sequence_logprob(model, whole, keep, device) for keep, whole in conts[i]]
                    for i in batch
                ]
        done(batch, results)


def _last_logits(
    model,
    rows: list[list[int]],
    pad: int,
    device: str,
    min_shared: int | None,
    prefix: tuple[int, Any] | None = None,
):
    """(rows, vocab) float logits after each row's last token, the shared prefix (when long
    enough, or ``prefix``'s copied cache) prefilled once; positions count real tokens only,
    as in an unpadded run."""
    import torch

    ids, mask, cache, shared = _batch_inputs(model, rows, pad, device, min_shared, prefix)
    with torch.inference_mode():
        if cache is None:
            out = model(input_ids=ids, attention_mask=mask, **last_position_only(model))
        else:
            out = model(
                input_ids=ids[:, shared:],
                attention_mask=mask,
                position_ids=(mask.cumsum(-1) - 1).clamp(min=0)[:, shared:],
                past_key_values=cache,
                **last_position_only(model),
            )
        return out.logits[:, -1, :].float()


def _sequence_logprob(model, whole: list[int], keep: int, device: str) -> float:
    """Sum of log-probabilities of ``whole[keep:]`` given ``whole[:keep]``."""
    import torch

    ids = torch.tensor([whole], device=device)
    with torch.inference_mode():
        logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
    start = max(keep, 1)
    targets = ids[0, start:]
    return float(logp[start - 1 :, :].gather(1, targets[:, None]).sum())
