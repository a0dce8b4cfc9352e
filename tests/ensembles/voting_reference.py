"""Plain per-item reference of precision-ensemble voting, written straight from Algorithm 1.

Slow on purpose: readable loops with no key arithmetic, so the vectorised ``voting`` and
``voting_cascade`` can be checked against it (tests) and timed against it (bench).
``reference_vote`` sums weights exactly; the ``*_subsets`` drivers first round them with the
same ``quantize_weights`` as the vectorised code, so both sides see identical integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from codesign.ensembles.vote import (
    INVALID_CODE,
    REFUSED_CODE,
    quantize_weights,
    resolve_subsets,
)

_UNSEEN = 10**9  # a label no member has given yet (a completion may still choose it)


def reference_vote(
    votes: Sequence[int],
    bits: Sequence[float],
    *,
    weights: Sequence[float] | None = None,
    refusal_as: int | None = None,
) -> int:
    """Algorithm 1 for one item: ``votes[j]`` is member ``j``'s code; weights summed exactly."""
    ballots = []  # (member, label)
    for member, code in enumerate(votes):
        if code == INVALID_CODE:
            continue  # unparseable output: no vote
        if code == REFUSED_CODE:
            if refusal_as is None:
                continue  # refusals are filtered out
            code = refusal_as  # refusal is itself an answer here
        ballots.append((member, int(code)))
    if not ballots:
        return REFUSED_CODE
    totals: dict[int, Fraction] = {}
    for member, label in ballots:
        weight = 1 if weights is None else _exact(weights[member])
        totals[label] = totals.get(label, 0) + weight
    most = max(totals.values())
    tied = {label for label, total in totals.items() if total == most}
    # Tie: the label of the highest-precision member voting for a tied label; equal bits →
    # the member listed first.
    candidates = [(member, label) for member, label in ballots if label in tied]
    member, label = min(candidates, key=lambda ml: (-float(bits[ml[0]]), ml[0]))
    return label


def reference_cascade_runs(
    votes: Sequence[int],
    bits: Sequence[float],
    order: Sequence[int],
    *,
    weights: Sequence[float] | None = None,
    refusal_as: int | None = None,
) -> int:
    """Members a lossless cascade runs for one item, visiting ``order`` (members of the subset)."""
    order = list(order)
    for t in range(1, len(order) + 1):
        if _settled(votes, bits, order[:t], order[t:], weights, refusal_as):
            return t
    return len(order)


def _settled(votes, bits, seen, remaining, weights, refusal_as) -> bool:
    """True if no completion of the remaining votes can change the vote of seen + remaining.

    The strongest challenge to the current winner is every remaining member voting for one
    other label (votes for the winner or abstentions only help it), so trying each other
    label, plus one nobody has given yet, covers every completion.
    """
    if not remaining:
        return True
    given = {_ballot_label(votes[j], refusal_as) for j in seen} - {None}
    if not given:
        return False  # nobody has voted yet: anything can still happen

    def completed(fill: int) -> int:
        """The vote with the seen members' votes and every remaining member voting ``fill``."""
        ballot = [INVALID_CODE] * len(votes)  # members outside the subset abstain
        for j in seen:
            ballot[j] = votes[j]
        for j in remaining:
            ballot[j] = fill
        return reference_vote(ballot, bits, weights=weights, refusal_as=refusal_as)

    current = completed(INVALID_CODE)
    return all(completed(other) == current for other in (given | {_UNSEEN}) - {current})


def _exact(weight: float) -> int | Fraction:
    """A weight as an exact number, so sums and ties are decided without rounding."""
    return int(weight) if float(weight).is_integer() else Fraction(float(weight))


def _ballot_label(code: int, refusal_as: int | None) -> int | None:
    if code == INVALID_CODE:
        return None
    return refusal_as if code == REFUSED_CODE else code


def reference_vote_subsets(
    codes: np.ndarray,
    bits: Sequence[float],
    subsets: np.ndarray | None = None,
    *,
    weights: Sequence[float] | None = None,
    refusal_as: int | None = None,
) -> np.ndarray:
    """``vote_subsets`` by loops: each subset, each item, :func:`reference_vote`."""
    codes = np.asarray(codes)
    masks = resolve_subsets(subsets, codes.shape[1])
    weights = None if weights is None else quantize_weights(weights, codes.shape[1]).tolist()
    out = np.empty((masks.shape[0], codes.shape[0]), dtype=np.int64)
    for s, mask in enumerate(masks):
        members = [j for j in range(codes.shape[1]) if mask[j]]
        sub_bits = [bits[j] for j in members]
        sub_weights = None if weights is None else [weights[j] for j in members]
        for i in range(codes.shape[0]):
            votes = [int(codes[i, j]) for j in members]
            out[s, i] = reference_vote(votes, sub_bits, weights=sub_weights, refusal_as=refusal_as)
    return out


def reference_cascade_runs_subsets(
    codes: np.ndarray,
    bits: Sequence[float],
    order: Sequence[int],
    subsets: np.ndarray | None = None,
    *,
    weights: Sequence[float] | None = None,
    refusal_as: int | None = None,
) -> np.ndarray:
    """``cascade_runs`` by loops: each subset's members in ``order``, item by item."""
    codes = np.asarray(codes)
    masks = resolve_subsets(subsets, codes.shape[1])
    weights = None if weights is None else quantize_weights(weights, codes.shape[1]).tolist()
    out = np.empty((masks.shape[0], codes.shape[0]), dtype=np.int64)
    for s, mask in enumerate(masks):
        sub_order = [j for j in order if mask[j]]
        for i in range(codes.shape[0]):
            votes = [int(v) for v in codes[i]]
            out[s, i] = reference_cascade_runs(
                votes, bits, sub_order, weights=weights, refusal_as=refusal_as
            )
    return out
