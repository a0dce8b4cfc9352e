"""Each variant's score and refusal rate per suite, as a table: what a user reads after
measuring, before voting or searching."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from codesign.scoring.profiles import PROFILES
from codesign.scoring.stored import StoredPredictions
from codesign.scoring.variants import variant_scores


def print_variant_scores(console: Console, preds: StoredPredictions, profile: str) -> None:
    """The table (score / refusal rate per suite), how each variant ran, what was left out
    and each suite's data, for the stored predictions of one model under ``profile``."""
    scores = variant_scores(preds)
    suites = list(preds.suites)
    table = Table(
        title=f"{preds.model} — baseline: {preds.baseline}",
        caption=f"scoring: {PROFILES.get(profile).title}",
        caption_justify="left",
    )
    table.add_column("variant")
    for name in suites:
        table.add_column(f"{name}\nscore / refusal")
    for member in preds.members:
        cells = [member.label]
        for name in suites:
            sel = scores[(scores["variant"] == member.label) & (scores["suite"] == name)]
            val = dict(zip(sel["metric"], sel["value"], strict=True))
            score, rr = val.get("score", math.nan), val.get("refusal_rate", math.nan)
            cells.append(f"{score:.1f} / {rr:.0%}" if val else "–")
        table.add_row(*cells)
    console.print(table)
    for member in preds.members:  # how each variant ran: real kernels or float32 copies
        console.print(f"{member.label} ran as: {preds.runtimes.get(member.key) or 'not recorded'}")
    for label, old in preds.replaced.items():
        console.print(f"{label}: the latest stored variant is scored; {len(old)} older one(s) not")
    for name, n in preds.superseded.items():
        console.print(
            f"{name}: {n} stored outputs of another prompt protocol or template are not scored"
        )
    rules = PROFILES.get(profile)
    for name, sl in preds.suites.items():
        console.print(f"{name}: {sl.provenance}; {len(sl.items)} items answered by every variant")
        console.print(f"  {profile}: {rules.rule(sl.suite)}", highlight=False)
