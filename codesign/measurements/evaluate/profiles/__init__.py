"""Scoring profiles, one file each, registered in PROFILES: ``comptrust`` (the default, the
paper's configuration), ``decodingtrust`` (upstream) and ``strict`` (this project's parser).
Every module here is imported and registers itself."""

from codesign.measurements.evaluate.profiles.base import (
    DEFAULT_PROFILE,
    PROFILES,
    ScoringProfile,
)
from codesign.registry import import_all

import_all(__name__)

__all__ = ["DEFAULT_PROFILE", "PROFILES", "ScoringProfile"]
