"""Published reference: comp-trust's own LLaMA-2-13b-chat numbers, beside the measured model.

Source: the Decoding Compressed Trust site's ``static/csv/num_sheet.csv``
(github.com/decoding-comp-trust/decoding-comp-trust.github.io, at 6ea4d6f), rows "LLAMA2 13b
Chat" with quantization (GPTQ/AWQ) or none, columns MMLU, AdvGLUE++, Fairness, Ethics, OOD and
their "Ref" (refusal, %) columns; the 3-seed rows of GPTQ-4, AWQ-3 and GPTQ-3 are the
``efficient-llm/...-randomseed``/``larger-caliset`` checkpoints. Scored there under the
configuration of the ``comptrust`` profile. These are published figures for reference, never
measured here; the report labels them so and shows the spread over seeds.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from codesign.report import fmt
from codesign.report.data import ReportData, short
from codesign.store import variant_label

SOURCE = (
    "Decoding Compressed Trust, LLaMA-2-13b-chat "
    "(decoding-comp-trust.github.io static/csv/num_sheet.csv @6ea4d6f), comp-trust scoring"
)
MODEL = "LLaMA-2-13b-chat"
SCORES = ("mmlu", "adv_robustness", "fairness", "ethics", "ood")
TRUST = ("adv_robustness", "fairness", "ethics", "ood")


def published_rows() -> pd.DataFrame:
    """One row per published checkpoint (several seeds for GPTQ-4, AWQ-3 and GPTQ-3)."""
    path = resources.files("codesign.report.reference_data") / "comptrust_llama2_13b_chat.csv"
    with resources.as_file(path) as file:
        return pd.read_csv(file)


def published_summary() -> pd.DataFrame:
    """Per (method, bits): the mean over seeds of each score, trust (mean of the four trust
    perspectives), and the min–max over seeds where there are several."""
    rows = published_rows()
    rows["trust"] = rows[list(TRUST)].mean(axis=1)
    out = []
    for (method, bits), g in rows.groupby(["method", "bits"], sort=False):
        rec = {"configuration": variant_label(method, bits), "seeds": len(g)}
        for col in ("trust", *SCORES):
            rec[col] = g[col].mean()
            rec[f"{col}_min"], rec[f"{col}_max"] = g[col].min(), g[col].max()
        out.append(rec)
    return pd.DataFrame(out)


def spread(mean: float, low: float, high: float, seeds: int) -> str:
    """'76.1 (71.3–80.0)' with the spread over seeds, or '62.3' for one checkpoint."""
    text = fmt.score(mean)
    return f"{text} ({fmt.score(low)}–{fmt.score(high)})" if seeds > 1 else text


def cell(row: pd.Series, col: str) -> str:
    """One published score with its spread over seeds."""
    return spread(row[col], row[f"{col}_min"], row[f"{col}_max"], row["seeds"])


def _measured_rows(wide: pd.DataFrame, cols: list[str], data: ReportData) -> list[list[str]]:
    """The measured model per (method, bits): mean over its seeds, with the min–max where the
    store holds several seeds of one precision."""
    groups: dict[tuple[str, int], list[str]] = {}
    for m in data.members:
        groups.setdefault((m.method, m.bits), []).append(m.label)
    rows = []
    for (method, bits), labels in groups.items():
        sub = wide.loc[labels, cols]
        cells = [spread(sub[c].mean(), sub[c].min(), sub[c].max(), len(labels)) for c in cols]
        rows.append([variant_label(method, bits), str(len(labels)), *cells])
    return rows


def published_markdown(data: ReportData) -> str:
    """reference.md: the measured model and comp-trust's published LLaMA-2-13b-chat numbers, in
    two separate tables (never mixed), each naming its source."""
    wide = data.wide("score")
    wide_cols = [c for c in ("trust", "mmlu_gen", *TRUST) if c in wide.columns]
    measured_heads = ["configuration", "seeds", *(short(c) for c in wide_cols)]
    pub = published_summary()
    pub_heads = ["configuration", "seeds", "trust", "mmlu", *(short(c) for c in TRUST)]
    pub_rows = [
        [r["configuration"], str(r["seeds"]), *(cell(r, c) for c in ("trust", *SCORES))]
        for _, r in pub.iterrows()
    ]
    return (
        "\n\n".join(
            [
                f"# Measured model beside the published reference — {data.model}",
                "Two separate tables: what this store measured, and what Decoding Compressed Trust "
                f"published for {MODEL}. Where a precision has several seeds, the cell is the mean "
                "over seeds with the min–max in brackets.",
                f"## Measured: {data.model} (baseline: {data.baseline})",
                f"Scoring profile: {data.scoring}. {data.data_summary()}.",
                fmt.md_table(
                    measured_heads,
                    _measured_rows(wide, wide_cols, data),
                    right=range(1, len(measured_heads)),
                ),
                f"## Published reference: {MODEL} (not measured here)",
                f"Source: {SOURCE}. MMLU is comp-trust's 5-shot generative protocol; trust is the "
                "mean of the four perspectives, computed here from the published columns.",
                fmt.md_table(pub_heads, pub_rows, right=range(1, len(pub_heads))),
            ]
        )
        + "\n"
    )
