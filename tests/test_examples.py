"""Every example command in the code blocks of the README and docs/, and in each command's
--help, runs as written: its options parse and pass the checks a command makes before any work,
the simulators' examples and those that read a store (list, status, scoring, report: on the
synthetic store) run to exit 0, and no search example would collide with the study
`make run` leaves (a study keeps its sampler, so an example that names another sampler names
its own --study)."""

from __future__ import annotations

import contextlib
import io
import shlex
from pathlib import Path

import pytest

from codesign.cli import main as codesign

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"", "sh", "bash", "console"}


def _shell_blocks(text: str) -> list[str]:
    """The bodies of fenced blocks in a shell language (or none), fences paired in order."""
    blocks, body, lang = [], None, ""
    for line in text.splitlines():
        if line.startswith("```"):
            if body is None:
                body, lang = [], line[3:].strip()
            else:
                if lang in SHELL:
                    blocks.append("\n".join(body))
                body = None
        elif body is not None:
            body.append(line)
    return blocks


def _readme_examples() -> list[str]:
    blocks = [b for page in PAGES for b in _shell_blocks(page.read_text())]
    lines = (ln.strip() for b in blocks for ln in b.replace("\\\n", " ").splitlines())
    return [
        shlex.join(shlex.split(ln, comments=True))
        for ln in lines
        if ln.startswith("python -m codesign")
    ]


def _help_examples() -> list[str]:
    from codesign.measurements.cli import DESCRIPTION as MEASUREMENTS
    from codesign.report.cli import build_parser as report
    from codesign.scoring.cli import DESCRIPTION as SCORING
    from codesign.search.cli import DESCRIPTION as SEARCH
    from codesign.simulators.cli import DESCRIPTION as SIMULATORS

    texts = [MEASUREMENTS, SCORING, SEARCH, SIMULATORS, report().description or ""]
    found = []
    for text in texts:
        for line in text.splitlines():
            line = line.strip().split("  (")[0].strip()
            if line.startswith("python -m codesign"):
                found.append(line)
    return found


EXAMPLES = sorted(set(_readme_examples() + _help_examples()))


def _argv(example: str) -> list[str]:
    words = shlex.split(example)
    return [words[2].removeprefix("codesign."), *words[3:]]


def test_there_are_examples_to_check():
    assert len(EXAMPLES) >= 15, EXAMPLES


def _parser(stage: str, argv: list[str]):
    if stage == "search":
        from codesign.search.cli import build_parser

        return build_parser(), argv
    if stage == "report":
        from codesign.report.cli import build_parser

        return build_parser(), argv
    if stage == "scoring":
        from codesign.scoring.cli import build_parser

        return build_parser(), argv
    if stage == "simulators" and argv[:1] == ["validate"]:
        from codesign.simulators.validate_cli import build_parser

        return build_parser(), argv[1:]
    if stage == "simulators":
        from codesign.simulators.cli import build_parser

        return build_parser(), argv
    from codesign.measurements.cli import _build_parser

    return _build_parser(), argv


@pytest.mark.parametrize("example", EXAMPLES)
def test_an_example_parses_and_passes_its_checks(example):
    stage, *argv = _argv(example)
    parser, rest = _parser(stage, argv)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            args = parser.parse_args(rest)
        except SystemExit as exc:
            pytest.fail(f"{example}: exit {exc.code}: {err.getvalue()}")
    if stage == "search":
        from codesign.search.cli import _settings
        from codesign.search.study import DEFAULT_SAMPLER

        _settings(args)  # every number, unit and shape file the example names
        if args.sampler not in (None, DEFAULT_SAMPLER):
            assert args.study, f"{example}: names --sampler {args.sampler} but no --study"


@pytest.mark.parametrize("example", [e for e in EXAMPLES if _argv(e)[0] == "simulators"])
def test_a_simulators_example_runs(example, tmp_path, monkeypatch):
    argv = _argv(example)
    if "--store" in argv:
        pytest.skip("reads a measured store (make run makes it; tests/simulators cover it)")
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert codesign(argv) == 0, example


def test_python_m_codesign_is_the_console_script():
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "codesign", "--help"], capture_output=True, text=True
    )
    assert run.returncode == 0 and "search" in run.stdout, run.stderr


READING = ("measurements list", "measurements status", "report", "scoring")


def _reads_a_store(example: str) -> bool:
    stage = " ".join(_argv(example)[:2])
    return any(stage.startswith(r) for r in READING) and "postgresql" not in example


@pytest.fixture(scope="module")
def store_here(tmp_path_factory):
    """A folder holding ``codesign.db`` (the default store): the synthetic store."""
    from codesign.testing.synthetic_store import build_synthetic_store

    folder = tmp_path_factory.mktemp("examples")
    build_synthetic_store(f"sqlite:///{folder / 'codesign.db'}").engine.dispose()
    return folder


@pytest.mark.parametrize("example", [e for e in EXAMPLES if _reads_a_store(e)])
def test_a_reading_example_runs_on_a_store(example, store_here, monkeypatch):
    """The examples that read a store (list, status, scoring, report) run to exit 0 on one."""
    monkeypatch.chdir(store_here)
    monkeypatch.delenv("CODESIGN_STORE", raising=False)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert codesign(_argv(example)) == 0, example
