"""Figures and tables of what the store measured: each variant against the dense baseline
(the paper's Fig. 1 view) and the best precision ensembles against dense and the best single
variant per method (Fig. 3 view). Run it as ``python -m codesign.report``."""

from codesign.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "codesign.report.build": ("write_report",),
        "codesign.report.data": ("ReportData", "load_report_data"),
    },
)
