"""Scoring profiles, one file each, registered in PROFILES: ``comptrust`` (the default, the
paper's configuration), ``decodingtrust`` (upstream) and ``strict`` (this project's parser).
Every module here is imported and registers itself."""

from codesign.registry import import_all
from codesign.scoring.profiles.base import (
    DEFAULT_PROFILE,
    PROFILES,
    ScoringProfile,
)

import_all(__name__)

__all__ = ["DEFAULT_PROFILE", "PROFILES", "ScoringProfile"]
