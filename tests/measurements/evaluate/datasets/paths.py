"""Paths of the data-set fixtures, written in the layouts the loaders read."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "datasets"
DT_DATA = FIXTURES / "decodingtrust" / "data"
HUB = FIXTURES / "hub"
MMLU = FIXTURES / "mmlu"
ADULT = FIXTURES / "adult"
