"""Precision-ensemble voting: Algorithm 1's rules, vectorised == per-item reference, cascades."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.ensembles.early_exit import (
    ascending_precision_order,
    cascade_cost,
    cascade_runs,
)
from codesign.ensembles.vote import (
    INVALID_CODE,
    REFUSED_CODE,
    accuracy,
    decode_labels,
    encode_labels,
    member_priority,
    quantize_weights,
    refusal_rate,
    subset_masks,
    vote,
    vote_subsets,
)
from codesign.measurements.evaluate.labels import INVALID, REFUSED
from tests.ensembles.voting_reference import (
    reference_cascade_runs,
    reference_cascade_runs_subsets,
    reference_vote,
    reference_vote_subsets,
)

R, X = REFUSED_CODE, INVALID_CODE


def one(votes, bits, **kw) -> int:
    return int(vote(np.array([votes]), bits, **kw)[0])


# --- Algorithm 1 rules --------------------------------------------------------------------


def test_majority_wins():
    assert one([1, 1, 0], [3, 4, 8]) == 1


def test_tie_goes_to_label_of_highest_precision_member():
    assert one([0, 1], [4, 8]) == 1
    assert one([2, 0, 1, 1, 0], [3, 16, 4, 8, 3]) == 0  # 0 and 1 tied; 16-bit voted 0


def test_tie_between_equal_bits_goes_to_member_listed_first():
    assert one([1, 0], [4, 4]) == 1
    assert list(member_priority([4, 8, 4, 16])) == [2, 1, 3, 0]


def test_invalid_and_refused_are_dropped():
    assert one([X, R, R, 0], [16, 8, 8, 3]) == 0


def test_nothing_left_is_refused():
    assert one([X, R, X], [3, 4, 8]) == REFUSED_CODE


def test_refusal_counts_as_a_vote_for_the_refusal_label():
    assert one([R, R, 0], [3, 4, 8], refusal_as=4) == 4
    assert one([R, R, 0], [3, 4, 8], refusal_as=REFUSED_CODE) == REFUSED_CODE
    assert one([R, 0], [3, 8], refusal_as=REFUSED_CODE) == 0  # tie → 8-bit member


def test_weighted_vote_overrides_headcount_and_ties_use_precision():
    assert one([0, 0, 1], [3, 4, 8], weights=[0.25, 0.25, 0.75]) == 1
    assert one([0, 0, 1], [3, 4, 8], weights=[0.25, 0.5, 0.75]) == 1  # 0.75 vs 0.75
    assert one([0, 1], [8, 4], weights=[0.0, 0.0]) == 0


def test_weights_are_rounded_to_exact_integers_by_a_power_of_two():
    assert list(quantize_weights([0.75, 0.5, 0.0], 3)) == [786432, 524288, 0]
    assert list(quantize_weights(None, 2)) == [1, 1]
    with pytest.raises(ValueError):
        quantize_weights([1.0, -0.1], 2)


def test_single_vote_is_the_all_member_subset():
    rng = np.random.default_rng(1)
    codes = rng.integers(-2, 3, (50, 4))
    bits = [8, 4, 4, 3]
    assert np.array_equal(vote(codes, bits), vote_subsets(codes, bits)[-1])


# --- encoding, subsets, scores ------------------------------------------------------------


def test_encode_decode_round_trip():
    labels = ["A", "B", "C", "D", "E"]
    parsed = np.array([["A", REFUSED], [INVALID, "E"]])
    codes = encode_labels(parsed, labels)
    assert codes.tolist() == [[0, REFUSED_CODE], [INVALID_CODE, 4]]
    assert decode_labels(codes, labels).tolist() == parsed.tolist()
    with pytest.raises(ValueError):
        encode_labels(["F"], labels)


def test_subset_rows_follow_bitmasks():
    masks = subset_masks(3)
    assert masks.shape == (7, 3)
    for row, mask in enumerate(masks):
        assert sum(1 << j for j in range(3) if mask[j]) == row + 1


def test_accuracy_and_refusal_rate_per_subset():
    pred = np.array([[0, 1, R, 2], [0, 0, 0, R]])
    gold = np.array([0, 1, 2, 2])
    assert accuracy(pred, gold).tolist() == [0.75, 0.25]
    assert refusal_rate(pred).tolist() == [0.25, 0.25]
    assert refusal_rate(pred, (R, 2)).tolist() == [0.5, 0.25]


@pytest.mark.parametrize(
    "call",
    [
        lambda: vote_subsets(np.zeros((3, 2), int), [4]),
        lambda: vote_subsets(np.full((3, 2), -3), [4, 8]),
        lambda: vote_subsets(np.zeros((3, 2), float), [4, 8]),
        lambda: vote_subsets(np.zeros((3, 2), int), [4, 8], np.zeros((1, 2), bool)),
        lambda: vote_subsets(np.zeros((3, 2), int), [4, 8], refusal_as=-1),
        lambda: cascade_runs(np.zeros((3, 2), int), [4, 8], order=[0, 0]),
    ],
)
def test_bad_inputs_are_rejected(call):
    with pytest.raises(ValueError):
        call()


# --- vectorised == reference --------------------------------------------------------------


def random_case(rng: np.random.Generator):
    m = int(rng.integers(1, 7))
    n = int(rng.integers(1, 25))
    n_labels = int(rng.integers(1, 4))
    codes = rng.integers(-2, n_labels, (n, m))
    bits = rng.choice([3, 4, 8, 16], m)  # repeats: equal-bit ties
    weights = [None, rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], m), rng.random(m)][rng.integers(3)]
    refusal_as = [None, None, REFUSED_CODE, 0, n_labels][int(rng.integers(5))]
    return codes, bits, weights, refusal_as, rng.permutation(m)


@pytest.mark.parametrize("seed", range(40))
def test_vectorised_vote_and_cascade_equal_reference(seed):
    rng = np.random.default_rng(seed)
    for _ in range(10):
        codes, bits, weights, refusal_as, order = random_case(rng)
        kw = {"weights": weights, "refusal_as": refusal_as}
        assert np.array_equal(
            vote_subsets(codes, bits, **kw), reference_vote_subsets(codes, bits, **kw)
        )
        assert np.array_equal(
            cascade_runs(codes, bits, order, **kw),
            reference_cascade_runs_subsets(codes, bits, order, **kw),
        )


@st.composite
def voting_case(draw):
    m = draw(st.integers(1, 5))
    n = draw(st.integers(1, 8))
    n_labels = draw(st.integers(1, 3))
    row = st.lists(st.integers(-2, n_labels - 1), min_size=m, max_size=m)
    codes = np.array(draw(st.lists(row, min_size=n, max_size=n)), dtype=np.int64)
    bits = draw(st.lists(st.sampled_from([3, 4, 8]), min_size=m, max_size=m))
    dyadic = st.sampled_from([0.0, 0.125, 0.25, 0.5, 0.75, 1.0, 1.5])
    weights = draw(st.none() | st.lists(dyadic, min_size=m, max_size=m))
    refusal_as = draw(st.sampled_from([None, REFUSED_CODE, 0]))
    order = draw(st.permutations(range(m)))
    return codes, bits, weights, refusal_as, order


@settings(max_examples=150, deadline=None)
@given(voting_case())
def test_vectorised_vote_equals_exact_per_item_algorithm(case):
    codes, bits, weights, refusal_as, _ = case
    got = vote_subsets(codes, bits, weights=weights, refusal_as=refusal_as)
    for row, mask in enumerate(subset_masks(codes.shape[1])):
        members = np.flatnonzero(mask)
        sub_w = None if weights is None else [weights[j] for j in members]
        for i in range(codes.shape[0]):
            votes = codes[i, members].tolist()
            sub_bits = [bits[j] for j in members]
            expected = reference_vote(votes, sub_bits, weights=sub_w, refusal_as=refusal_as)
            assert got[row, i] == expected


# --- cascades -----------------------------------------------------------------------------


def test_cascade_stops_when_first_two_of_three_agree():
    codes = np.array([[1, 1, 0], [1, 0, 0], [X, 1, 1]])
    runs = cascade_runs(codes, [3, 4, 8], order=[0, 1, 2], subsets=np.ones((1, 3), bool))
    assert runs.tolist() == [[2, 3, 3]]


def test_cascade_does_not_stop_while_a_tie_break_could_flip_the_result():
    # 3-bit and 4-bit say 0, 8-bit and 16-bit still to run: 2-2 with 16-bit voting 1 → 1.
    codes = np.array([[0, 0, 1, 1]])
    runs = cascade_runs(codes, [3, 4, 8, 16], order=[0, 1, 2, 3], subsets=np.ones((1, 4), bool))
    assert runs.tolist() == [[4]]
    # High precision first: 16-bit and 8-bit agree, the two low members can only tie → stop.
    runs = cascade_runs(codes, [3, 4, 8, 16], order=[3, 2, 1, 0], subsets=np.ones((1, 4), bool))
    assert runs.tolist() == [[2]]


def _brute_force_runs(votes, bits, order, weights, refusal_as, n_labels) -> int:
    """Smallest t where every completion of the rest (any output at all) keeps the result."""
    options = [INVALID_CODE, REFUSED_CODE, *range(n_labels + 1)]  # one label beyond those seen
    for t in range(1, len(order) + 1):
        outcomes = set()
        for fill in itertools.product(options, repeat=len(order) - t):
            ballot = [INVALID_CODE] * len(votes)
            for j in order[:t]:
                ballot[j] = votes[j]
            for j, code in zip(order[t:], fill, strict=True):
                ballot[j] = code
            outcomes.add(reference_vote(ballot, bits, weights=weights, refusal_as=refusal_as))
        if len(outcomes) == 1:
            return t
    return len(order)


@settings(max_examples=120, deadline=None)
@given(voting_case())
def test_cascade_stops_at_the_first_point_no_completion_can_change(case):
    codes, bits, weights, refusal_as, order = case
    codes = codes[:, :4]  # keep the enumeration small
    m = codes.shape[1]
    bits, order = bits[:m], [j for j in order if j < m]
    weights = None if weights is None else quantize_weights(weights[:m], m).tolist()
    n_labels = max(int(codes.max()) + 1, 1)
    everyone = np.ones((1, m), bool)
    runs = cascade_runs(codes, bits, order, everyone, weights=weights, refusal_as=refusal_as)
    for i, votes in enumerate(codes.tolist()):
        expected = _brute_force_runs(votes, bits, order, weights, refusal_as, n_labels)
        assert runs[0, i] == expected


@pytest.mark.parametrize("seed", range(10))
def test_cascade_labels_equal_full_vote_and_cost_is_at_most_one(seed):
    rng = np.random.default_rng(100 + seed)
    codes, bits, weights, refusal_as, order = random_case(rng)
    kw = {"weights": weights, "refusal_as": refusal_as}
    masks = subset_masks(codes.shape[1])
    runs = cascade_runs(codes, bits, order, **kw)
    full = vote_subsets(codes, bits, **kw)
    for row, mask in enumerate(masks):
        sub_order = [j for j in order if mask[j]]
        for i in range(codes.shape[0]):
            ran = sub_order[: runs[row, i]]
            early = reference_cascade_runs(codes[i].tolist(), bits, sub_order, **kw)
            assert runs[row, i] == early
            prefix = np.zeros((1, codes.shape[1]), bool)
            prefix[0, ran] = True
            # Stopped with votes in: the partial vote already is the full vote.
            if runs[row, i] < len(sub_order):
                assert vote_subsets(codes[i : i + 1], bits, prefix, **kw)[0, 0] == full[row, i]
    cost = cascade_cost(codes, bits, order, **kw)
    assert np.all((cost > 0) & (cost <= 1))
    assert np.allclose(cost, runs.mean(axis=1) / masks.sum(axis=1))


def test_default_cascade_order_is_ascending_precision():
    assert ascending_precision_order([8, 3, 16, 3]).tolist() == [1, 3, 0, 2]
    codes = np.array([[0, 0, 1, 0]])
    assert np.array_equal(
        cascade_runs(codes, [8, 3, 16, 3]), cascade_runs(codes, [8, 3, 16, 3], [1, 3, 0, 2])
    )
