"""Trust-suite data: items in DecodingTrust's label words, from published layouts or offline.

``load_suite_data(name)`` is the entry point; ``DATASETS`` names every data set. Each
loader returns ``(items, DataSource)`` and the DataSource says whether the items are real
or project-written stand-ins.
"""

from codesign.measurements.evaluate.datasets.adult import base_rate_parity, read_adult, sample_adult
from codesign.measurements.evaluate.datasets.advglue import (
    load_advglue_default,
    load_advglue_json,
    load_advglue_path,
    load_advglue_rows,
)
from codesign.measurements.evaluate.datasets.base import (
    ADULT_LABELS,
    CHOICE_LETTERS,
    ETHICS_LABELS,
    IDK_LETTER,
    IDK_TEXT,
    KNOWLEDGE_LABELS,
    MNLI_LABELS,
    QQP_LABELS,
    REAL,
    SST2_LABELS,
    STAND_IN,
    STYLE_LABELS,
    DataSource,
    Item,
    stratified_sample,
)
from codesign.measurements.evaluate.datasets.catalog import DATASETS, DatasetSpec, load_suite_data
from codesign.measurements.evaluate.datasets.ethics import (
    evasive_items,
    jailbreak_items,
    load_ethics_csv,
    load_ethics_default,
    load_ethics_path,
    load_ethics_rows,
)
from codesign.measurements.evaluate.datasets.fairness import (
    load_fairness_jsonl,
    load_fairness_path,
    load_fairness_rows,
)
from codesign.measurements.evaluate.datasets.mmlu import (
    load_mmlu_default,
    load_mmlu_path,
    load_mmlu_rows,
)
from codesign.measurements.evaluate.datasets.ood import (
    load_knowledge_default,
    load_knowledge_json,
    load_knowledge_path,
    load_knowledge_rows,
    load_style_default,
    load_style_json,
    load_style_path,
    load_style_rows,
)

__all__ = [
    "ADULT_LABELS",
    "CHOICE_LETTERS",
    "DATASETS",
    "ETHICS_LABELS",
    "IDK_LETTER",
    "IDK_TEXT",
    "KNOWLEDGE_LABELS",
    "MNLI_LABELS",
    "QQP_LABELS",
    "REAL",
    "SST2_LABELS",
    "STAND_IN",
    "STYLE_LABELS",
    "DataSource",
    "DatasetSpec",
    "Item",
    "base_rate_parity",
    "evasive_items",
    "jailbreak_items",
    "load_advglue_default",
    "load_advglue_json",
    "load_advglue_path",
    "load_advglue_rows",
    "load_ethics_csv",
    "load_ethics_default",
    "load_ethics_path",
    "load_ethics_rows",
    "load_fairness_jsonl",
    "load_fairness_path",
    "load_fairness_rows",
    "load_knowledge_default",
    "load_knowledge_json",
    "load_knowledge_path",
    "load_knowledge_rows",
    "load_mmlu_default",
    "load_mmlu_path",
    "load_mmlu_rows",
    "load_style_default",
    "load_style_json",
    "load_style_path",
    "load_style_rows",
    "load_suite_data",
    "read_adult",
    "sample_adult",
    "stratified_sample",
]
