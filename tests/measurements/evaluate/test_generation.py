"""Batched generation and scoring: prefix reuse through the KV cache changes no output, and the
one-pass choice scoring equals scoring each continuation on its own."""

from __future__ import annotations

import pytest

from codesign.measurements.evaluate.generation import (
    Batching,
    _last_logits,
    _sequence_logprob,
    choice_logprobs,
    encode_chats,
    generate,
    length_batches,
    prefix_clusters,
    shared_prefix_length,
)


def test_shared_prefix_length_leaves_a_token_to_prefill():
    assert shared_prefix_length([[1, 2, 3, 4], [1, 2, 3, 9], [1, 2, 5]]) == 2
    assert shared_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2  # identical: last token kept
    assert shared_prefix_length([[7], [7, 8]]) == 0
    assert shared_prefix_length([[1, 2], [3, 2]]) == 0
    assert shared_prefix_length([]) == 0


def test_long_prompts_run_alone():
    batches = length_batches([10, 12, 2000, 11, 3000, 2100], 100_000, 8, solo_tokens=1024)
    assert sorted(map(sorted, batches)) == [[0, 1, 3], [2], [4], [5]]


def test_length_batches_keep_the_padded_budget_and_the_padding_share():
    lengths = [5, 40, 12, 7, 33, 20, 3, 6, 6, 5, 100, 41]
    batches = length_batches(lengths, max_tokens=96, max_batch=3, max_padding=0.25)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        padded = max(lengths[i] for i in b) * len(b)
        assert len(b) <= 3
        assert len(b) == 1 or padded <= 96
        assert padded - sum(lengths[i] for i in b) <= 0.25 * padded
    assert [lengths[i] for i in batches[0]] == [3, 5, 5]  # short, alike prompts fill a batch
    assert [100] in [[lengths[i] for i in b] for b in batches]  # the outlier pads nobody


def test_padding_cheaper_than_another_batchs_decode_steps_is_accepted():
    lengths = [10, 30, 31, 60]
    assert len(length_batches(lengths, 10_000, 8)) > 1  # 10 % padding rule alone splits
    assert length_batches(lengths, 10_000, 8, split_tokens=200) == [[0, 1, 2, 3]]
    assert len(length_batches(lengths, 10_000, 8, split_tokens=100)) == 2  # 3 x 50 padded > 100


def test_prompts_sharing_a_long_prefix_leave_for_a_call_of_their_own():
    demos = list(range(1000, 1300))  # 300 tokens of demonstrations shared by 4 prompts
    few = [[1, 2, *demos, 50 + i] for i in range(4)]
    zero = [[1, 2, 3, 60 + i] for i in range(5)]
    pair = [[1, 2, *demos[:100], 70 + i] for i in range(2)]  # 100 shared: not worth a call
    seqs = zero[:2] + few + zero[2:] + pair
    clusters = prefix_clusters(seqs, max_new_tokens=20, step_tokens=32)
    assert sorted(i for c in clusters for i in c) == list(range(len(seqs)))
    assert [2, 3, 4, 5] in clusters  # 3 x 298 tokens saved > 20 steps x 32 tokens
    assert [0, 1, 6, 7, 8, 9, 10] in clusters
    assert prefix_clusters(seqs, max_new_tokens=20, step_tokens=None) == [list(range(11))]
    # long prompts whose rests stay long (fairness' 4,000-token ones) keep running alone
    long = [[1, 2, *demos, *range(5000 + 2000 * i, 5000 + 2000 * i + 1100)] for i in range(4)]
    assert prefix_clusters(zero + long, max_new_tokens=20, step_tokens=32) == [list(range(9))]
    short_rests = [s[:-100] for s in long]  # 1,000-token rests: a group of their own
    assert [5, 6, 7, 8] in prefix_clusters(zero + short_rests, 20, 32)
    assert prefix_clusters(seqs, max_new_tokens=200, step_tokens=32) == [list(range(11))]


def _load(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def _chats(n: int) -> list[list[dict[str, str]]]:
    system = "You are a helpful assistant. Answer every question with one word from the list."
    task = "Classify the sentiment of the sentence as positive or negative."
    texts = ["a quiet film", "the plot drags on and on for far too long", "bright", "so-so"]
    return [
        [
            {"role": "system", "content": system},
            {"role": "user", "content": f"{task}\n{texts[i % len(texts)]} {'again ' * (i % 3)}"},
        ]
        for i in range(n)
    ]


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_qwen2"])
def test_prefix_reuse_gives_the_plain_batched_generations(arch, request):
    model, tok = _load(request.getfixturevalue(arch))
    ids = encode_chats(tok, _chats(7))
    assert shared_prefix_length(ids) >= 16  # the reuse path really runs
    plain = generate(model, tok, ids, 6, max_batch=4, min_shared_prefix=None)
    reused = generate(model, tok, ids, 6, max_batch=4, min_shared_prefix=16)
    assert [g.raw for g in reused] == [g.raw for g in plain]
    assert [g.generated_tokens for g in reused] == [g.generated_tokens for g in plain]
    assert [g.prompt_tokens for g in reused] == [len(i) for i in ids]


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_qwen2"])
def test_the_calls_shared_prefix_runs_once_for_all_its_batches(arch, request, monkeypatch):
    """Few-shot prompts share long demonstrations: the prefix is prefilled once per call and
    copied into every batch, with outputs equal to plain batching."""
    from codesign.measurements.evaluate import generation

    model, tok = _load(request.getfixturevalue(arch))
    ids = encode_chats(tok, _chats(9))
    plain = generate(model, tok, ids, 6, max_batch=2, min_shared_prefix=None)
    calls = []
    original = generation._prefix_layers
    monkeypatch.setattr(  # the prefixes each prefill pass runs
        generation, "_prefix_layers", lambda *a, **k: calls.extend(a[1]) or original(*a, **k)
    )
    reused = generate(model, tok, ids, 6, max_batch=2, min_shared_prefix=16)
    assert len(calls) == 1 and len(calls[0]) == shared_prefix_length(ids)  # 5 batches, 1 prefix
    assert [g.raw for g in reused] == [g.raw for g in plain]
    assert [g.generated_tokens for g in reused] == [g.generated_tokens for g in plain]


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_qwen2"])
def test_a_long_shared_prefix_in_a_call_of_its_own_gives_the_plain_generations(arch, request):
    """Few-shot prompts with the same demonstrations beside short zero-shot prompts: the
    few-shot group runs as its own call (its prefix prefilled once), outputs as plain."""
    from codesign.measurements.evaluate import generation

    model, tok = _load(request.getfixturevalue(arch))
    demos = " ".join(f"Example {k}: the film was {'good' if k % 2 else 'bad'}." for k in range(40))
    chats = _chats(5) + [
        [{"role": "user", "content": f"{demos}\nNow: sentence {i} {'very ' * i}"}] for i in range(4)
    ]
    ids = encode_chats(tok, chats)
    clusters = prefix_clusters(ids, 6, generation.STEP_TOKENS["cpu"])
    assert len(clusters) == 2 and clusters[1] == [5, 6, 7, 8]  # the split really happens
    plain = generate(model, tok, ids, 6, max_batch=4, min_shared_prefix=None)
    seen: list[int] = []
    split = generate(model, tok, ids, 6, max_batch=4, on_batch=lambda idx, _: seen.extend(idx))
    assert sorted(seen) == list(range(len(ids)))  # every prompt reported once, by its index
    assert [g.raw for g in split] == [g.raw for g in plain]
    assert [g.generated_tokens for g in split] == [g.generated_tokens for g in plain]


def test_one_pass_choice_scores_equal_scoring_each_continuation(tiny_llama):
    model, tok = _load(tiny_llama)
    contexts = ["The capital of the country is", "Which option is right?\nAnswer:", "x"]
    choices = [" A", " B", " C", " D"]
    got = choice_logprobs(model, tok, contexts, choices, max_batch=2)
    for context, scores in zip(contexts, got, strict=True):
        ctx = tok(context, add_special_tokens=False)["input_ids"]
        for choice, score in zip(choices, scores, strict=True):
            whole = tok(context + choice, add_special_tokens=False)["input_ids"]
            alone = _sequence_logprob(model, whole, len(ctx), "cpu")
            assert score == pytest.approx(alone, abs=1e-4)


def _mmlu_contexts(shots: int) -> list[str]:
    """lm-evaluation-harness-style MMLU contexts of three subjects, interleaved: each subject's
    description and ``shots`` demonstrations are the same for its questions."""
    contexts = []
    for q in range(4):
        for subject in ("algebra", "anatomy", "astronomy"):
            demos = "".join(
                f"Demonstration {d} on {subject}: which is right?\nA. one\nB. two\nC. three\n"
                f"D. four\nAnswer: {'ABCD'[d % 4]}\n\n"
                for d in range(shots)
            )
            head = f"The following are multiple choice questions (with answers) about {subject}."
            contexts.append(f"{head}\n\n{demos}Question {q} {'again ' * q}?\nAnswer:")
    return contexts


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_qwen2"])
@pytest.mark.parametrize("shots", [0, 5])
def test_subject_prefixes_prefilled_once_give_the_plain_choice_scores(arch, shots, request):
    """5-shot contexts of mixed subjects: each subject's shared prefix is prefilled once (its
    KV cache copied into the subject's batches); every score equals plain batching's; 0-shot
    contexts share only the preamble and are scored as one group."""
    from codesign.measurements.evaluate import generation

    model, tok = _load(request.getfixturevalue(arch))
    # the tiny vocabulary splits " B" and " D"; one-token choices take the one-pass path
    contexts, choices = _mmlu_contexts(shots), [" a", " b", " c", " d"]
    plain = choice_logprobs(model, tok, contexts, choices, max_batch=4, min_shared_prefix=None)
    prefixes: list[int] = []
    original = generation._prefix_cache

    def counted(model, prefix, rows, device):
        prefixes.append(len(prefix))
        return original(model, prefix, rows, device)

    generation._prefix_cache = counted
    try:
        reused = choice_logprobs(model, tok, contexts, choices, max_batch=4)
    finally:
        generation._prefix_cache = original
    assert len(prefixes) == (3 if shots else 1)  # one prefill per subject, or one in all
    if shots:
        assert min(prefixes) > 100  # the description and the demonstrations
    for a, b in zip(reused, plain, strict=True):
        assert a == pytest.approx(b, abs=1e-4)


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_qwen2"])
def test_prefix_reuse_gives_the_plain_last_position_logits(arch, request):
    """The scoring pass behind choice_logprobs' one-pass path, with and without the cache."""
    import torch

    model, tok = _load(request.getfixturevalue(arch))
    head = "The following are multiple choice questions (with answers) about "
    topics = ["algebra", "anatomy", "astronomy", "business ethics", "algebra"]
    rows = [tok(f"{head}{t}.\n\nQuestion {i}?\nAnswer:")["input_ids"] for i, t in enumerate(topics)]
    assert shared_prefix_length(rows) >= 4  # the cache path really runs
    pad = tok.pad_token_id
    plain = _last_logits(model, rows, pad, "cpu", None)
    reused = _last_logits(model, rows, pad, "cpu", 4)
    torch.testing.assert_close(reused, plain, atol=1e-4, rtol=1e-4)
    alone = torch.cat([_last_logits(model, [r], pad, "cpu", None) for r in rows])
    torch.testing.assert_close(plain, alone, atol=1e-4, rtol=1e-4)


def test_settings_with_prompts_over_the_limit_are_left_out_and_named(tiny_llama):
    from codesign.measurements.evaluate.cli import _without_long_settings
    from codesign.measurements.evaluate.suites import SUITES

    _, tok = _load(tiny_llama)
    suite = SUITES.get("fairness")
    data = suite.load(2, 0, None)
    kept = _without_long_settings(suite, data, tok, 1000)
    settings = {it.setting for it in kept.items}
    assert settings and all(s.startswith("zero_shot") for s in settings)  # 16/32-shot are long
    assert "few_shot_32_fair_demon" not in kept.shots_per_setting()
    assert "settings not run: few_shot" in kept.provenance()
    assert "over --max-prompt-tokens 1000" in kept.provenance()
    assert _without_long_settings(suite, data, tok, 100_000) is data  # nothing too long


@pytest.mark.parametrize("shared", [None, 16])
@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_qwen2"])
def test_greedy_decode_gives_transformers_generate_while_dropping_finished_rows(
    arch, shared, request
):
    """The decode loop that lets finished rows leave the batch produces, row by row, what
    transformers' greedy ``generate`` produces (left padding, with and without a cached
    prefix), with rows ending at different steps."""
    from transformers import GenerationConfig

    from codesign.measurements.evaluate.generation import _batch_inputs, greedy_decode

    model, tok = _load(request.getfixturevalue(arch))
    rows = encode_chats(tok, _chats(6))
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def inputs():  # fresh: decoding extends the cache in place
        ids, mask, cache, skipped = _batch_inputs(model, rows, pad, "cpu", shared)
        assert (skipped > 0) == (shared is not None)
        return ids, mask, cache

    free = greedy_decode(model, *inputs(), 8, None)
    # the end-of-sequence here: a token some row reaches before its last step and another never
    end = next(t for row in free for t in row[:7] if any(t not in other for other in free))
    ours = greedy_decode(model, *inputs(), 8, end)
    ids, mask, cache = inputs()
    config = GenerationConfig(max_new_tokens=8, do_sample=False, eos_token_id=end, pad_token_id=pad)
    seqs = model.generate(
        input_ids=ids, attention_mask=mask, past_key_values=cache, generation_config=config
    )
    theirs = []
    for r in range(len(rows)):
        new = seqs[r, ids.shape[1] :].tolist()
        theirs.append(new[: new.index(end) + 1] if end in new else new)
    assert ours == theirs
    assert min(map(len, ours)) < 8 == max(map(len, ours))  # rows left at different steps


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_qwen2"])
def test_five_shot_prompts_of_interleaved_subjects_give_the_plain_generations(arch, request):
    """Generative 5-shot MMLU-style prompts (raw text) of two subjects, interleaved in one call:
    each subject's header and demonstrations are a long shared prefix, yet every output equals
    plain batching."""
    model, tok = _load(request.getfixturevalue(arch))

    def prompt(subject: str, q: int) -> str:
        head = f"The following are multiple choice questions about {subject}.\n\n"
        demos = "".join(
            f"Question {k} on {subject}?\nA. one\nB. two\nC. three\nD. four\nAnswer: {letter}\n\n"
            for k, letter in enumerate("ABCDA")
        )
        return head + demos + f"Question {q} {'and more ' * q}?\nA. x\nB. y\nC. z\nD. w\nAnswer:"

    texts = [prompt(("algebra", "anatomy")[i % 2], i) for i in range(8)]
    ids = [tok(t)["input_ids"] for t in texts]
    same_subject = [ids[i] for i in range(0, 8, 2)]
    assert shared_prefix_length(same_subject) - shared_prefix_length(ids) >= 64
    plain = generate(model, tok, ids, 5, max_batch=3, min_shared_prefix=None)
    reused = generate(model, tok, ids, 5, max_batch=3)
    assert [g.raw for g in reused] == [g.raw for g in plain]
    assert [g.generated_tokens for g in reused] == [g.generated_tokens for g in plain]


WORDS = ["zebra", "quantum", "river", "7", "!!", "déjà", "Paris", "code", "moon", "42", "tax", "?"]


def _subject_prompts(
    tok, subjects: int, per_subject: int, shots: int = 5
) -> tuple[list[list[int]], list[list[int]]]:
    """Token ids of few-shot MMLU-style prompts, and the indices of each subject's prompts (its
    header and demonstrations shared, of a length that differs per subject)."""
    texts, groups = [], []
    for s in range(subjects):
        head = f"The following are questions about subject {s}.\n\n"
        topic = "topic " * (20 * s // shots + 1)
        demos = "".join(
            f"Question {k} on {topic}?\nA. one\nB. two\nAnswer: {'AB'[k % 2]}\n\n"
            for k in range(shots)
        )
        groups.append([])
        for q in range(per_subject):
            groups[-1].append(len(texts))
            word = WORDS[len(texts) % len(WORDS)]  # rows of a tiny random model then differ
            texts.append(head + demos + f"Question {word} {q}?\nA. x\nB. y\nAnswer:")
    return [tok(t)["input_ids"] for t in texts], groups


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_qwen2"])
@pytest.mark.parametrize("rows", [8, 7])
def test_batches_of_several_calls_decode_merged_with_the_plain_generations(
    arch, rows, request, monkeypatch
):
    """Subjects of two or three questions are calls of their own (each prefix prefilled once);
    their prefilled rows, caches of different lengths, decode as one merged batch, and every
    output equals plain batching and per-batch decoding. With 7 rows a batch, the third
    subject's rows are split: two fill the first merged batch, one starts the next."""
    from codesign.measurements.evaluate import decoding

    model, tok = _load(request.getfixturevalue(arch))
    ids, groups = _subject_prompts(tok, 4, 3)
    groups[1] = groups[1][:2]  # calls of unequal sizes
    ids = [ids[i] for g in groups for i in g]
    groups = [list(range(0, 3)), list(range(3, 5)), list(range(5, 8)), list(range(8, 11))]
    plain = generate(
        model, tok, ids, 6, max_batch=4, min_shared_prefix=None, batching=Batching.APART
    )
    alone = generate(model, tok, ids, 6, max_batch=4, groups=groups, batching=Batching.APART)
    merged_sizes: list[list[int]] = []
    original = decoding.merge
    monkeypatch.setattr(
        decoding,
        "merge",
        lambda parts: merged_sizes.append([len(p) for p in parts]) or original(parts),
    )
    seen: list[int] = []
    merged = generate(  # each call batched apart (Batching.MERGED): batches of 3, 2, 3, 3 rows
        model,
        tok,
        ids,
        6,
        max_batch=rows,
        groups=groups,
        on_batch=lambda idx, _: seen.extend(idx),
        batching=Batching.MERGED,
    )
    assert any(len(sizes) > 1 for sizes in merged_sizes)  # rows of several calls decoded together
    assert all(sum(sizes) <= rows for sizes in merged_sizes)
    assert merged_sizes == ([[3, 2, 3], [3]] if rows == 8 else [[3, 2, 2], [1, 3]])
    assert sorted(seen) == list(range(len(ids)))
    for run in (alone, merged):
        assert [g.raw for g in run] == [g.raw for g in plain]
        assert [g.generated_tokens for g in run] == [g.generated_tokens for g in plain]


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_qwen2"])
def test_merged_rows_of_different_cache_lengths_decode_as_each_batch_alone(arch, request):
    """decoding.merge left-pads caches and masks: rows of a short and a long batch, merged
    after their prefill, produce the tokens each batch produces on its own, with an end token
    that makes rows leave at different steps."""
    from codesign.measurements.evaluate import decoding
    from codesign.measurements.evaluate.generation import _batch_inputs

    model, tok = _load(request.getfixturevalue(arch))
    ids, groups = _subject_prompts(tok, 2, 2, shots=1)  # short: a tiny model's rows differ
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    batches = [[ids[i] for i in g] for g in groups]
    assert len(batches[0][0]) + 20 < len(batches[1][0])  # caches of different lengths

    def inputs(rows):
        ids_, mask, cache, _ = _batch_inputs(model, rows, pad, "cpu", 16)
        return ids_, mask, cache

    free = [decoding.greedy_decode(model, *inputs(b), 8, None) for b in batches]
    flat = [row for rows in free for row in rows]
    # the end token: one some row reaches after its first step and another never does
    end = next(
        t
        for row in flat
        for t in row[1:7]
        if t not in {r[0] for r in flat} and any(t not in other for other in flat)
    )
    alone = [decoding.greedy_decode(model, *inputs(b), 8, end) for b in batches]
    parts, done = [], []
    for k, rows in enumerate(batches):
        finished, part = decoding.prefill(model, *inputs(rows), [2 * k, 2 * k + 1], end, 8)
        done += finished
        if part is not None:
            parts.append(part)
    assert all(decoding.mergeable(p) for p in parts)
    done += decoding.decode(model, decoding.merge(parts), 7, end)
    merged = dict(done)
    assert [merged[i] for i in range(4)] == [row for rows in alone for row in rows]
    assert len({len(merged[i]) for i in range(4)}) > 1  # rows left at different steps


@pytest.mark.parametrize("arch", ["tiny_llama", "tiny_qwen2"])
@pytest.mark.parametrize("window", [1, 4])
def test_rows_of_several_calls_prefill_together_as_plain_batching(
    arch, window, request, monkeypatch
):
    """Pooled prefill: four subjects of three questions and one of a single question (no
    prefix of its own). Each subject's prefix runs once, then rows of different subjects share
    a batch, each with its own prefix's cache left-padded to the longest; outputs equal plain
    batching and per-call batching. ``window`` 1 closes a window after every 4 rows."""
    from codesign.measurements.evaluate import generation

    model, tok = _load(request.getfixturevalue(arch))
    ids, groups = _subject_prompts(tok, 5, 3)
    ids = ids[:13]  # the fifth subject keeps one question: a call without a prefix
    groups = [*groups[:4], [12]]
    monkeypatch.setattr(generation, "POOL_BATCHES", window)
    pooled_rows: list[int] = []  # distinct prefixes in each pooled batch
    original = generation._pooled_inputs

    def spy(rows, *args):
        pooled_rows.append(len({id(cache) for _, (_, cache) in rows}))
        return original(rows, *args)

    monkeypatch.setattr(generation, "_pooled_inputs", spy)
    seen: list[int] = []
    pooled = generate(
        model, tok, ids, 6, max_batch=4, groups=groups, on_batch=lambda i, _: seen.extend(i)
    )
    assert max(pooled_rows) > 1  # a batch held rows of several calls
    assert sorted(seen) == list(range(len(ids)))
    plain = generate(
        model, tok, ids, 6, max_batch=4, min_shared_prefix=None, batching=Batching.APART
    )
    apart = generate(model, tok, ids, 6, max_batch=4, groups=groups, batching=Batching.MERGED)
    for run in (pooled, apart):
        assert [g.raw for g in run] == [g.raw for g in plain]
        assert [g.generated_tokens for g in run] == [g.generated_tokens for g in plain]


def test_length_batches_keep_the_held_cache_within_its_limit():
    lengths = [10, 10, 11, 11, 12, 12]
    extra = [100, 100, 300, 100, 100, 100]
    batches = length_batches(lengths, 10_000, 8, held=(extra, 700))
    for batch in batches:
        width = max(lengths[i] for i in batch) + max(extra[i] for i in batch)
        assert len(batch) * width <= 700
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert length_batches(lengths, 10_000, 8) == [list(range(6))]  # no limit: one batch


def test_a_cache_that_cannot_be_sliced_per_prefix_batches_each_call_apart(tiny_llama, monkeypatch):
    """When the prefixes' cache is not transformers' plain dynamic cache (sliding-window
    layers), the calls are batched apart, each prefix prefilled alone, outputs unchanged;
    the batched prefix pass is tried once, not per window."""
    from codesign.measurements.evaluate import generation

    model, tok = _load(tiny_llama)
    ids, groups = _subject_prompts(tok, 4, 3)
    plain = generate(
        model, tok, ids, 6, max_batch=4, min_shared_prefix=None, batching=Batching.APART
    )
    monkeypatch.setattr(generation, "_plain_cache", lambda cache: False)
    monkeypatch.setattr(generation, "POOL_BATCHES", 1)  # a window every 4 rows
    tried: list[int] = []
    alone: list[int] = []
    layers, single = generation._prefix_layers, generation._prefix_cache
    monkeypatch.setattr(
        generation, "_prefix_layers", lambda *a: tried.append(len(a[1])) or layers(*a)
    )
    monkeypatch.setattr(generation, "_prefix_cache", lambda *a: alone.append(1) or single(*a))
    apart = generate(model, tok, ids, 6, max_batch=4, groups=groups)
    assert len(tried) == 1 and len(alone) == len(groups)
    assert [g.raw for g in apart] == [g.raw for g in plain]
    assert [g.generated_tokens for g in apart] == [g.generated_tokens for g in plain]


def test_replies_end_at_the_models_end_of_turn_too(tiny_llama):
    """A converted GGUF's tokenizer may name another end-of-sequence token than the model's
    generation config (SmolLM2: <|im_start|> vs <|im_end|>): a reply ends at either, as
    ``model.generate`` and every server end it at the config's."""
    from types import SimpleNamespace

    from transformers import AutoTokenizer

    from codesign.measurements.evaluate.generation import stop_ids

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    model = SimpleNamespace(generation_config=SimpleNamespace(eos_token_id=[7, 9]))
    assert stop_ids(model, tok) == {7, 9, tok.eos_token_id}
    model.generation_config.eos_token_id = 7
    assert stop_ids(model, tok) == {7, tok.eos_token_id}
    assert stop_ids(SimpleNamespace(), tok) == {tok.eos_token_id}
