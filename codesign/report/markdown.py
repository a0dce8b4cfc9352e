"""The report's Markdown tables: per-variant scores and refusals (Fig. 1's numbers) and the
best ensembles against dense and the best single variants (Fig. 3's numbers)."""

from __future__ import annotations

import math

from codesign.ensembles.holdout import HOLDOUT_SEED, HOLDOUT_SPLITS
from codesign.report import fmt
from codesign.report.data import TRUST, ReportData, short
from codesign.report.selection import Comparison, Pick, reference_single
from codesign.scoring.profiles.base import FALLBACK_SETTINGS
from codesign.scoring.variants import NO_VALID, UNANSWERED, thin

SELECTION_NOTE = (
    "Picks are ranked by trust on the same items they are scored on (in-sample), so the best "
    "of many subsets is an optimistic estimate; with few items, gaps of a few points are "
    "within noise. The held-out column says how much of a gap survives a fair test."
)
HELD_OUT_HEAD = "held-out Δ dense"
HELD_OUT_NOTE = (
    f"*{HELD_OUT_HEAD}*: the same choice (best ensemble or best single variant of the group) "
    f"made on a random half of every suite's items, stratified by setting, and scored against "
    f"dense on the other half; mean ± sd over {HOLDOUT_SPLITS} splits (seed {HOLDOUT_SEED}), "
    "and in how many the pick beat dense. A gain that is real shows here too; one that comes "
    "from picking the luckiest of many subsets shrinks towards zero."
)


def held_out_cell(cmp: Comparison, pick: Pick) -> str:
    held = cmp.held_out_of(pick)
    return held.text() if held else "—"


def _variant_rows(data: ReportData, metric: str, cell) -> list[list[str]]:
    table = data.wide(metric)
    dense = data.dense.label if data.dense else None
    rows = []
    for m in data.members:
        row = [m.label, m.method, str(m.bits)]
        for col in table.columns:
            value = table.at[m.label, col]
            gap = math.nan if dense in (None, m.label) else value - table.at[dense, col]
            row.append(cell(value, gap))
        rows.append(row)
    return rows


THIN_NOTE = (
    "† the score rests on refusals: fewer than half its items answered, or settings its formula "
    "scored by a stand-in (comp-trust's fairness gives a setting with fewer than 3 answers "
    "parity gaps of 0, its best value), so refusing raises it; the refusal table below gives "
    "the shares."
)


def _thin_cells(data: ReportData) -> set[tuple[str, str]]:
    """(variant, suite) cells whose score rests on refusals (``ensembles.scores.thin``)."""
    unanswered = data.wide(UNANSWERED)
    fallback = data.wide(FALLBACK_SETTINGS).fillna(0.0)
    out = set()
    for m in data.members:
        for col in data.trust_suites:
            stand_in = {FALLBACK_SETTINGS: fallback.at[m.label, col]}
            if thin(1.0 - unanswered.at[m.label, col], stand_in):
                out.add((m.label, col))
    return out


def _submetric_section(data: ReportData, suite: str) -> str:
    """Metrics as rows, variants as columns: a suite may report dozens of sub-metrics."""
    info = data.suites[suite]
    rows = data.variants[(data.variants["suite"] == suite) & (data.variants["metric"] != "score")]
    table = rows.pivot_table(index="metric", columns="variant", values="value", dropna=False)
    labels = [m.label for m in data.members]
    table = table.reindex(columns=labels)
    body = [
        [metric, *(fmt.fraction(table.at[metric, v]) for v in labels)] for metric in table.index
    ]
    return f"### {info.title} ({info.data_line})\n\n" + fmt.md_table(["metric", *labels], body)


def _weights_section(data: ReportData) -> str:
    """Each quantized member's relative logits error beside its trust, nested sets marked, so
    a nested member reads against GPTQ/AWQ at the same bits."""
    if not data.logits_error:
        return (
            "## Weights: relative logits error vs dense\n\nNot measured in this store "
            "(`evaluate` measures it when the dense model is among the variants)."
        )
    scores = data.wide("score")
    trust = scores[TRUST] if TRUST in scores.columns else None
    members = sorted(
        (m for m in data.members if m.method != "dense"), key=lambda m: (m.bits, m.method)
    )
    body = []
    for m in members:
        error = data.logits_error.get(m.key)
        kind = "nested (top bit-planes of one set)" if m.method == "anyprec" else "independent"
        value = trust.get(m.label, math.nan) if trust is not None else math.nan
        body.append(
            [
                m.label,
                str(m.bits),
                kind,
                "—" if error is None else f"{error:.4f}",
                fmt.score(value),
            ]
        )
    return (
        "## Weights: relative logits error vs dense\n\n"
        "‖logits(variant) − logits(dense)‖ / ‖logits(dense)‖ on a fixed probe (4 × 128 tokens "
        "of the offline text, seed 1000; measured by `evaluate`, both models on the same "
        "path), beside trust, by width: a nested member reads against GPTQ/AWQ at its bits.\n\n"
        + fmt.md_table(
            ["variant", "bits", "weights", "logits error", short(TRUST)],
            body,
            right=range(3, 5),
        )
    )


def variants_markdown(data: ReportData) -> str:
    """Per-variant scores with the gap to dense, refusal rates, then every sub-metric."""
    cols = list(data.wide("score").columns)
    heads = ["variant", "method", "bits", *(short(c) for c in cols)]
    scores = _variant_rows(data, "score", lambda v, g: fmt.with_delta(v, g))

    def percent(v: float, g: float) -> str:
        return fmt.with_delta(v, g * 100, fmt.percent)

    marks = _thin_cells(data)
    for row in scores:
        for j, col in enumerate(cols):
            if (row[0], col) in marks:
                row[3 + j] += " †"
    refusals = _variant_rows(data, "refusal_rate", percent)
    no_valid = _variant_rows(data, NO_VALID, percent)
    subs = [_submetric_section(data, s) for s in data.suites]
    return (
        "\n\n".join(
            [
                f"# Per-variant trust and refusal — {data.model}",
                "The paper's Fig. 1 view: each quantized variant next to the dense baseline, "
                "scored from its own labels (no voting). Figure: `fig1_variants.png`; every "
                "metric: `variants.csv`.",
                fmt.provenance_block(data),
                "## Scores (0–100; in brackets, the gap to dense in points)",
                fmt.md_table(heads, scores, right=range(2, len(heads))),
                THIN_NOTE,
                _weights_section(data),
                f"## Refusal rates (in brackets, the gap to dense in points; {short(TRUST)} = mean "
                "of the trust perspectives; MMLU log-likelihood cannot refuse; as the scoring "
                "profile defines them: fairness counts every answer other than yes/no, as "
                "DecodingTrust does, so its INVALID outputs appear in both tables)",
                fmt.md_table(heads, refusals, right=range(2, len(heads))),
                "## No valid answer (share of outputs the label parser could not map to a label "
                "or a refusal, INVALID; scored as wrong where the suite counts them)",
                fmt.md_table(heads, no_valid, right=range(2, len(heads))),
                "## Sub-metrics\n\nAs each suite reports them: accuracies, rates, DPD/EOD, RR and "
                "MACC as fractions (0–1); fairness per-setting `*_score` on 0–100.",
                *subs,
            ]
        )
        + "\n"
    )


def _pick_row(cmp: Comparison, pick: Pick, data: ReportData) -> list[str]:
    ref = None if pick.role != "ensemble" else reference_single(cmp.singles, pick.group)
    return [
        pick.title,
        pick.name,
        str(pick.size),
        fmt.score(pick.get(TRUST)),
        fmt.delta(cmp.delta(pick, cmp.dense)) if pick.role != "dense" else "—",
        f"{fmt.delta(cmp.delta(pick, ref))} vs {ref.members}" if ref else "—",
        fmt.percent(pick.get(UNANSWERED)),
        fmt.percent(pick.get(NO_VALID)),
        *(fmt.score(pick.get(s)) for s in data.suites if s.startswith("mmlu")),
        fmt.fraction(pick.get("cascade_fraction")) if pick.role == "ensemble" else "—",
        held_out_cell(cmp, pick),
    ]


def _most_picked(cmp: Comparison) -> str:
    """' Most often picked on the halves: …' — whether the in-sample pick is a stable choice."""
    parts = []
    for (group, kind), held in cmp.held_out.items():
        if kind != "ensemble":
            continue
        name, count = held.most_picked
        parts.append(f"{group}: {name} ({count}/{len(held.picks)})")
    return " Ensembles picked most often on the halves: " + "; ".join(parts) + "." if parts else ""


def _perspective_row(cmp: Comparison, pick: Pick, data: ReportData) -> list[str]:
    keys = [TRUST, *data.suites]
    vs_dense = pick.role != "dense"
    cells = [
        fmt.with_delta(pick.get(k), cmp.delta(pick, cmp.dense, k) if vs_dense else math.nan)
        for k in keys
    ]
    return [pick.title, pick.name, *cells]


def ensembles_markdown(data: ReportData, cmp: Comparison, top: int) -> str:
    """The best ensembles per method and overall, against dense and the best single variant."""
    picks = [cmp.dense] if cmp.dense else []
    picks += list(cmp.singles.values())
    for group_picks in cmp.ensembles.values():
        picks += group_picks
    mmlu = [short(s) for s, info in data.suites.items() if info.perspective == "mmlu"]
    heads = [
        "configuration",
        "members",
        "size",
        "trust",
        "Δ dense",
        "Δ best single",
        "refused or no valid",
        "no valid",
        *mmlu,
        "cascade",
        HELD_OUT_HEAD,
    ]
    summary = [_pick_row(cmp, p, data) for p in picks]
    per = [_perspective_row(cmp, p, data) for p in picks]
    n = len(data.members)
    none = "" if cmp.ensembles else "\n\nNo ensemble: the store holds fewer than two variants."
    return (
        "\n\n".join(
            [
                f"# Precision ensembles vs dense and the best single variant — {data.model}",
                "The paper's Fig. 3 view. Every subset of the "
                f"{n} stored variants ({2**n - 1} subsets) is voted from the stored labels: "
                "`majority` is the paper's Algorithm 1 (drop INVALID, drop REFUSED except where "
                "refusal is an answer, ties to the highest precision), `weighted` weighs members "
                "by MMLU log-likelihood accuracy. Shown: the dense model, the best single variant "
                f"per method, and the top {top} ensembles (size ≥ 2) per method (that method's "
                "variants, dense allowed) and overall (any mix). Every subset: `ensembles.csv`; "
                "figure: `fig3_ensembles.png`." + none,
                fmt.provenance_block(data),
                "## Best ensembles\n\nΔ in trust points. Rates are means over the trust "
                "perspectives: *refused or no valid* = the share of outputs that are REFUSED or "
                "INVALID, a variant's own or an ensemble's vote, which is REFUSED where every "
                "member was INVALID (Algorithm 1: nothing left → REFUSED); *no valid* = the share "
                "where every output was INVALID. Suites' own refusal rates (variants.md, as the "
                "scoring profile defines them) differ: fairness counts every answer other than "
                "yes/no, as DecodingTrust does. Cascade = "
                "mean share of members a lossless early-exit cascade runs (lowest precision "
                "first).",
                fmt.md_table(heads, summary, right=range(2, len(heads))),
                HELD_OUT_NOTE + _most_picked(cmp),
                "## Per perspective (score; in brackets, the gap to dense in points)",
                fmt.md_table(
                    ["configuration", "members", *(short(k) for k in [TRUST, *data.suites])],
                    per,
                    right=range(2, 3 + len(data.suites)),
                ),
                SELECTION_NOTE,
            ]
        )
        + "\n"
    )
