"""Members: the quantization method and the bit-set drawn from its measured precisions.

`method` is GPTQ, AWQ, anyprec (each measured method; anyprec's members are one nested set) or
`dense` (the unquantized baseline alone).
For a quantization method, `<method>.top_bits` is its highest quantized precision in the
ensemble; each lower measured precision then joins or not (`<method>.w<bits>`: how many of its
stored seeds join, 0 = none); where the top precision was measured with several seeds,
`<method>.w<top>.seeds` says how many join; `<method>.w16` says whether the dense model joins
too. Every ensemble is reached exactly once, and its size follows from the bit-set.
"""

from __future__ import annotations

from codesign.search.space import DENSE, Config, Option, Space, TrialLike, parameter_group
from codesign.simulators.variants import METHODS as COST_METHODS

METHODS = Option(
    "methods",
    help="gptq, awq, anyprec (ensembles of their precisions, the dense model joining or not; "
    "only anyprec's nested members share bit-plane storage and shared fetch) and dense (the "
    "dense model alone) (default: every measured method, and dense)",
    known=lambda: COST_METHODS,  # what the cost model prices; the store decides what exists
    default=lambda: None,
    in_space=False,  # the measured ladders of these methods are the space
)


@parameter_group(
    "members",
    order=10,
    help="quantization method and bit-set (ensemble size)",
    options=(METHODS,),
)
def members(trial: TrialLike, space: Space, config: Config) -> None:
    config.method = trial.suggest_categorical("method", space.methods)
    if config.method == DENSE:
        config.members = space.dense[:1]
        return
    ladder = space.ladders[config.method]  # quantized bits (highest first) -> keys by seed
    top = trial.suggest_categorical(f"{config.method}.top_bits", list(ladder))
    chosen: list[str] = []
    if space.dense and trial.suggest_int(f"{config.method}.w16", 0, 1):
        chosen.append(space.dense[0])
    for bits, seeds in ladder.items():
        if bits > top:
            continue
        name = f"{config.method}.w{bits}"
        if bits == top:
            count = trial.suggest_int(f"{name}.seeds", 1, len(seeds)) if len(seeds) > 1 else 1
        else:
            count = trial.suggest_int(name, 0, len(seeds))
        chosen.extend(seeds[:count])
    config.members = tuple(chosen)
