"""Write the whole report folder from scored data: two figures, CSV and Markdown tables and a
README tying them together."""

from __future__ import annotations

import shutil
from pathlib import Path

from codesign.ensembles.holdout import held_out_gains
from codesign.errors import CodesignError
from codesign.report.data import ReportData
from codesign.report.fig_ensembles import figure_ensembles
from codesign.report.fig_variants import figure_variants
from codesign.report.index import index_markdown
from codesign.report.markdown import ensembles_markdown, variants_markdown
from codesign.report.published import published_markdown
from codesign.report.selection import Comparison, compare
from codesign.report.tables import ensembles_frame, variants_frame, write_csv


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _out_dir(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CodesignError(f"cannot write the report to {str(out)!r}: {exc.strerror}") from None
    return out


def write_report(data: ReportData, out: Path, top: int = 3) -> tuple[Comparison, dict[str, Path]]:
    """Every report file under ``out``; returns the comparison and {file name: path}. The
    comparison (the slow part) runs before the folder is made, and a folder this call made is
    removed again if writing stops part-way (Ctrl-C, a full disk): no empty or half report."""
    cmp = compare(data, top, held_out_gains(data.preds))
    out = Path(out)
    made = not out.exists()
    try:
        return cmp, _write_files(data, cmp, _out_dir(out), top)
    except BaseException:
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _write_files(data: ReportData, cmp: Comparison, out: Path, top: int) -> dict[str, Path]:
    files = {
        "fig1_variants.png": figure_variants(data, out / "fig1_variants.png"),
        "fig3_ensembles.png": figure_ensembles(data, cmp, out / "fig3_ensembles.png"),
        "variants.md": _write_text(out / "variants.md", variants_markdown(data)),
        "variants.csv": write_csv(variants_frame(data), out / "variants.csv"),
        "ensembles.md": _write_text(out / "ensembles.md", ensembles_markdown(data, cmp, top)),
        "ensembles.csv": write_csv(ensembles_frame(data, cmp), out / "ensembles.csv"),
        "reference.md": _write_text(out / "reference.md", published_markdown(data)),
    }
    files["README.md"] = _write_text(out / "README.md", index_markdown(data, cmp, files))
    return files
