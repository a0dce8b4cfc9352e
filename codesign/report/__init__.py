"""Figures and tables of what the store measured: each variant against the dense baseline
(the paper's Fig. 1 view) and the best precision ensembles against dense and the best single
variant per method (Fig. 3 view). Run it as ``python -m codesign.report``."""

from codesign.report.build import write_report
from codesign.report.data import ReportData, load_report_data

__all__ = ["ReportData", "load_report_data", "write_report"]
