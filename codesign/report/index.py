"""The report folder's README.md: what was measured, the headline numbers, and which file
holds what."""

from __future__ import annotations

from codesign.report import fmt
from codesign.report.data import TRUST, ReportData
from codesign.report.markdown import HELD_OUT_HEAD, HELD_OUT_NOTE, SELECTION_NOTE, held_out_cell
from codesign.report.selection import Comparison, reference_single

FILES = {
    "fig1_variants.png": "per-variant score and refusal rate per trust perspective and MMLU "
    "mode, dense baseline as a dashed line (the paper's Fig. 1 view)",
    "fig3_ensembles.png": "best precision ensembles against dense and the best single variant "
    "of each method (the paper's Fig. 3 view)",
    "variants.md": "per-variant scores, refusal and no-valid-answer rates with gaps to dense, "
    "and every sub-metric",
    "variants.csv": "every variant metric, one row per (variant, suite, metric)",
    "ensembles.md": "the best ensembles per method and overall, with gaps to dense and to the "
    "best single variant",
    "ensembles.csv": "every ensemble subset and vote rule, every suite score, refusal, "
    "no-valid-answer and unanswered rates",
    "reference.md": "the measured model per precision (spread over seeds) beside Decoding "
    "Compressed Trust's published LLaMA-2-13b-chat numbers (published reference, not measured)",
}


def _headline(data: ReportData, cmp: Comparison) -> list[list[str]]:
    rows = []
    if cmp.dense:
        d = cmp.dense
        rows.append([d.title, d.name, fmt.score(d.get(TRUST)), "—", "—", "—"])
    for pick in cmp.singles.values():
        rows.append(
            [
                pick.title,
                pick.name,
                fmt.score(pick.get(TRUST)),
                fmt.delta(cmp.delta(pick, cmp.dense)),
                "—",
                held_out_cell(cmp, pick),
            ]
        )
    for group_picks in cmp.ensembles.values():
        pick = group_picks[0]
        ref = reference_single(cmp.singles, pick.group)
        rows.append(
            [
                pick.title,
                pick.name,
                fmt.score(pick.get(TRUST)),
                fmt.delta(cmp.delta(pick, cmp.dense)),
                f"{fmt.delta(cmp.delta(pick, ref))} vs {ref.members}" if ref else "—",
                held_out_cell(cmp, pick),
            ]
        )
    return rows


def index_markdown(data: ReportData, cmp: Comparison, files: dict[str, str]) -> str:
    """README.md of the report folder; ``files`` maps each written file name to its path."""
    listing = "\n".join(f"- [`{name}`]({name}): {FILES.get(name, '')}" for name in files)
    return (
        "\n\n".join(
            [
                f"# Trust report — {data.model}",
                "Written by `python -m codesign.report` from the measurement store; every "
                "number below is measured (stored per-item predictions), none modelled.",
                fmt.provenance_block(data),
                "## Headline (trust, 0–100)",
                fmt.md_table(
                    [
                        "configuration",
                        "members",
                        "trust",
                        "Δ dense",
                        "Δ best single",
                        HELD_OUT_HEAD,
                    ],
                    _headline(data, cmp),
                    right=[2, 3, 4, 5],
                ),
                HELD_OUT_NOTE,
                "## Files",
                listing,
                "## Notes",
                "- Single variants are scored from their own labels; ensembles by voting, "
                "where an unparseable (INVALID) output casts no vote and an item on which every "
                "member is INVALID becomes REFUSED (the paper's Algorithm 1). A one-member "
                "ensemble can therefore differ slightly from its variant, and an ensemble's "
                "refusals are compared with its members' on the share of outputs that are "
                "REFUSED or INVALID (*refused or no valid* in ensembles.md and fig3).\n"
                "- MMLU log-likelihood picks the likeliest option and cannot refuse; MMLU "
                "generative can, as in the paper.\n- " + SELECTION_NOTE,
            ]
        )
        + "\n"
    )
