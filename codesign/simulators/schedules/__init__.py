"""Ensemble schedules; importing this package registers every one of them in SCHEDULES."""

from codesign.simulators.schedules import (  # noqa: F401 - imported to register
    cascade,
    partitioned,
    sequential,
    shared_fetch,
)
from codesign.simulators.schedules.base import (
    SCHEDULES,
    Schedule,
    ScheduleParams,
    ScheduleResult,
)

__all__ = ["SCHEDULES", "Schedule", "ScheduleParams", "ScheduleResult"]
