"""Ensemble schedules, one file each; every module here is imported and registers itself in
SCHEDULES."""

from codesign.registry import import_all
from codesign.simulators.schedules.base import (
    SCHEDULES,
    Schedule,
    ScheduleParams,
    ScheduleResult,
)

import_all(__name__)

__all__ = ["SCHEDULES", "Schedule", "ScheduleParams", "ScheduleResult"]
