"""``python -m codesign.scoring``: each stored variant's scores under a scoring profile, from
the store alone (no model runs): the table to read after `evaluate`, before voting."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from codesign.commandline.interrupts import run_cli
from codesign.commandline.output import console, print_json
from codesign.commandline.parsers import add_store_option, make_parser
from codesign.scoring.profiles import DEFAULT_PROFILE, PROFILES

DESCRIPTION = """\
Score every stored variant's outputs per suite under a scoring profile: score, refusal rate,
and the share answered that each score rests on. The stored raw outputs are re-parsed, so any
profile scores them without a model run.

Example:
  python -m codesign.scoring --store sqlite:///codesign.db --scoring comptrust
"""


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("scoring", DESCRIPTION)
    add_store_option(p)
    p.add_argument("--model", help="stored model name (default: the only model in the store)")
    p.add_argument(
        "--scoring",
        default=DEFAULT_PROFILE,
        choices=PROFILES.names(),
        help="scoring profile: comptrust (the paper's configuration), decodingtrust (upstream) "
        "or strict (default: %(default)s)",
    )
    p.add_argument(
        "--json", action="store_true", help="print one row per (variant, suite, metric) as JSON"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from codesign.scoring.stored import load_predictions
    from codesign.scoring.summary import print_variant_scores
    from codesign.scoring.variants import variant_scores
    from codesign.store import Store

    preds = load_predictions(Store(args.store, read_only=True), args.model, args.scoring)
    if args.json:
        print_json(variant_scores(preds).to_dict(orient="records"))
    else:
        print_variant_scores(console, preds, args.scoring)
    return 0


def entry(argv: Sequence[str] | None = None) -> int:
    return run_cli(main, argv)
