"""Trust suites and MMLU, one file each, registered by name in ``SUITES``.

Adding a suite is one module here with a ``Suite`` subclass and ``SUITES.add(...)`` (plus its
data-set loader when it brings new data): every module of this package is imported and
registers itself; the evaluate command, scoring, the search and the report read the rest from
the suite's own attributes.
"""

from codesign.measurements.evaluate.suites.base import (
    SUITES,
    Sources,
    Suite,
    SuiteData,
    SuiteItem,
    suite_order,
    trust_suites,
)
from codesign.registry import import_all

import_all(__name__)

__all__ = ["SUITES", "Sources", "Suite", "SuiteData", "SuiteItem", "suite_order", "trust_suites"]
