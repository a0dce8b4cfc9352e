"""Trust suites and MMLU, one file each, registered by name in ``SUITES``.

Adding a suite: write one module with a ``Suite`` subclass and ``SUITES.add(...)``, then
import it here.
"""

from codesign.measurements.suites import adv_robustness as _adv  # noqa: F401
from codesign.measurements.suites import ethics as _ethics  # noqa: F401
from codesign.measurements.suites import fairness as _fairness  # noqa: F401
from codesign.measurements.suites import mmlu as _mmlu  # noqa: F401
from codesign.measurements.suites import ood as _ood  # noqa: F401
from codesign.measurements.suites.base import (
    SUITES,
    TRUST_PERSPECTIVES,
    Suite,
    SuiteData,
    SuiteItem,
)

__all__ = ["SUITES", "TRUST_PERSPECTIVES", "Suite", "SuiteData", "SuiteItem"]
