"""Bad input, drawn rather than listed: for every command, hypothesis draws a value for every
option the command declares (numbers out of range, non-finite, huge, negative, of the wrong
type; comma lists with repeats; flags in conflicting combinations) and every field of the
files the commands read (unit specs, deploy shapes), and checks the promise of
tests/test_bad_input.py: exit 2 with one stderr line and no traceback, or, for input that is
valid, the command reaches its work. Either way nothing was created or changed before then.

"Reaches its work" is where the command opens the store (Store.__init__, replaced here by a
sentinel: every check must come before it) or, for the simulators, where they model (cheap, so
they run). The options are read from each command's own parser, so an option added later is
fuzzed without editing this file; argparse offers no public list of a parser's options, so its
``_actions`` (stable since Python 2.7) is read, and a test below fails if that changes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
from collections import Counter
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from codesign.cli import main as codesign
from codesign.errors import EXIT_BAD_INPUT, EXIT_INFEASIBLE
from codesign.store import Store
from codesign.validation import Number
from tests.search.conftest import synthetic_db  # noqa: F401 - the session's synthetic store
from tests.test_bad_input import _make_files, _snapshot

EXAMPLES = 100  # per command; each example runs the command's checks in this process
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# options that start network probes or hidden modes, fuzzed elsewhere (test_bad_input's engine
# rows, the openai engine's tests) or not user-facing
NOT_FUZZED = {
    "-h", "--help", "--worker", "--store", "--engine", "--base-url", "--serve", "--api-key-env",
    "--api", "--data", "--model", "--calibration", "--text-field", "--device", "--backend",
    "--real-kernels", "--list", "--unit", "--units", "--deploy-shape", "--trust-remote-code",
    "--out",
}  # fmt: skip

ENGINE_OPTIONS = {"--concurrency", "--request-timeout"}
NUMBERS = st.one_of(
    st.sampled_from(
        ["-1", "0", "-0", "1", "2", "3", "4", "8", "16", "0.5", "2.5", "1e3", "1e308", "-1e308",
         "nan", "inf", "-inf", "99999999999999999999", "4294967296", "0x10", "abc", "", " "]
    ),
    st.integers(-(10**25), 10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)  # fmt: skip
WORDS = st.sampled_from(
    ["gptq", "awq", "anyprec", "dense", "ethics", "fairness", "ood", "advglue", "mmlu_ll",
     "majority", "tpe", "nsga2", "sequential", "cascade", "3", "4", "8", "nosuch", "", "../x"]
)  # fmt: skip
STORES = st.sampled_from(
    ["sqlite:///good.db", "sqlite:///new.db", "sqlite:///random.bin", "sqlite:///foreign.db",
     "good.db", "sqlite:///absent-dir/x.db", "sqlite:///" + "s" * 300 + ".db"]
)  # fmt: skip


class WorkStarts(BaseException):
    """The command checked everything and went on to open its store."""


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a for a in parser._actions if a.option_strings and a.option_strings[-1] not in NOT_FUZZED
    ]


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise KeyError(name)


def _value(action: argparse.Action, valid: bool = False) -> st.SearchStrategy[list[str]]:
    """The words one option adds to argv: nothing, the flag alone, or the flag and a value;
    ``valid``: values from the option's own range and choices only (so the checks after the
    first option run, and the cross-option rules are met or broken by combination)."""
    flag = action.option_strings[-1]
    if valid and flag in ENGINE_OPTIONS:  # valid only with --engine openai and a server
        return st.just([])
    if action.nargs == 0:
        return st.sampled_from([[], [flag]])
    if action.choices:
        values = st.sampled_from([*map(str, action.choices), *([] if valid else ["nosuch"])])
    elif isinstance(action.type, Number):
        values = _in_range(action.type) if valid else st.one_of(NUMBERS, _in_range(action.type))
    elif valid:  # free-form text and lists: their words are the option's own (the table's)
        return st.just([])
    elif action.type is not None and action.type is not str:
        values = NUMBERS
    else:
        values = st.lists(st.one_of(WORDS, NUMBERS), min_size=1, max_size=4).map(",".join)
    absent = st.just([])
    return st.one_of(absent, absent, absent, values.map(lambda v: [f"{flag}={v}"]))


def _in_range(number: Number) -> st.SearchStrategy[str]:
    low = 0 if number.low is None else number.low
    high = low + 10**6 if number.high is None else number.high
    if number.kind is int:
        return (
            st.integers(int(low), int(high))
            .filter(lambda v: not number.even or v % 2 == 0)
            .map(str)
        )
    return st.floats(
        low, high, allow_nan=False, exclude_min=number.above, exclude_max=number.below
    ).map(repr)


def argv_for(parser: argparse.ArgumentParser) -> st.SearchStrategy[list[str]]:
    def draw(valid: bool) -> st.SearchStrategy[list[str]]:
        parts = [_value(a, valid) for a in _options(parser)]
        stores = st.sampled_from(["sqlite:///good.db", "sqlite:///new.db"]) if valid else STORES
        return st.tuples(stores, *parts).map(
            lambda drawn: ["--store", drawn[0], *(w for part in drawn[1:] for w in part)]
        )

    return st.one_of(draw(False), draw(True))


def _parser(command: str) -> argparse.ArgumentParser:
    if command == "search":
        from codesign.search.cli import build_parser
    elif command == "report":
        from codesign.report.cli import build_parser
    elif command == "scoring":
        from codesign.scoring.cli import build_parser
    elif command == "simulators validate":
        from codesign.simulators.validate_cli import build_parser
    else:
        from codesign.measurements.cli import _build_parser

        return _subparser(_build_parser(), command.split()[1])
    return build_parser()


@pytest.fixture(scope="module")
def folder(tmp_path_factory, synthetic_db) -> Path:  # noqa: F811 - the imported fixture
    path = tmp_path_factory.mktemp("fuzz")
    _make_files(path, synthetic_db)  # foreign.db among them
    return path


_REAL_OPEN = Store._open_schema


def _open_then_stop(self: Store, create: bool) -> None:
    """Where a command's store is opened: an existing file is checked as usual (a foreign or
    damaged one is refused; a current codesign store needs no write), then the work would
    start. A new file is never made."""
    database = make_url(self.url).database
    if database and Path(database).exists():
        _REAL_OPEN(self, create)
    raise WorkStarts


def run_checked(argv: list[str], folder: Path, *, work_ok: bool = True) -> str:
    """Run one command line in ``folder`` and hold it to the promise."""
    before = _snapshot(folder)
    err = io.StringIO()
    with (
        contextlib.chdir(folder),
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
        mock.patch.object(Store, "_open_schema", _open_then_stop),
    ):
        try:
            code = codesign(argv)
        except SystemExit as exc:
            code = exc.code
        except WorkStarts:
            code = None
    text = err.getvalue()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert "Traceback" not in text, (argv, text)
    assert _snapshot(folder) == before, (argv, "files created or changed before the work")
    if code is None:
        assert work_ok, argv
        return "reached its work"
    assert code in (0, EXIT_BAD_INPUT, EXIT_INFEASIBLE), (argv, code, text)
    if code:
        assert len(lines) == 1, (argv, text)
    return f"exit {code}"


def _both_paths(seen: Counter, command: str) -> None:
    """The draws exercised refusals and valid input both (a fuzz that only ever failed at the
    first option would check little), and say how often each came."""
    print(f"{command}: {dict(seen)}")
    assert seen["exit 2"] >= 2, seen
    assert seen["reached its work"] + seen["exit 0"] + seen["exit 3"] >= 2, seen


def _clean(folder: Path) -> None:
    for extra in ("results", "report"):
        shutil.rmtree(folder / extra, ignore_errors=True)


COMMANDS = [
    "search",
    "report",
    "scoring",
    "measurements quantize",
    "measurements evaluate",
    "measurements profile",
    "measurements list",
    "measurements status",
    "simulators validate",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_every_command(command, folder):
    parser = _parser(command)
    stage = command.split()

    seen: Counter = Counter()

    @FUZZ
    @given(argv_for(parser))
    def check(argv):
        seen[run_checked([*stage, *argv], folder)] += 1

    check()
    _both_paths(seen, command)


def test_the_simulators_options(folder):
    """The simulators have no store: valid options model (fast) and exit 0."""
    from codesign.simulators.cli import build_parser

    seen: Counter = Counter()

    @FUZZ
    def draw(valid: bool) -> st.SearchStrategy[tuple]:
        return st.tuples(*(_value(a, valid) for a in _options(build_parser())))

    @given(st.one_of(draw(False), draw(True)))
    def check(parts):
        seen[run_checked(["simulators", *(w for part in parts for w in part)], folder)] += 1

    check()
    _both_paths(seen, "simulators")


FIELD_VALUES = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["three", "", "1e308", ".inf", "measure", True, None, [], {}, "oops"]),
)


def test_every_field_of_a_unit_spec(folder):
    """One field of a bundled unit's spec replaced by a drawn value, as a YAML file."""
    from codesign.simulators.fields import flatten, set_dotted
    from codesign.simulators.spec import _read_yaml, _units, bundled_units

    specs = {n: _read_yaml(_units().get(n)) for n in bundled_units()}

    @FUZZ
    @given(st.sampled_from(sorted(specs)), st.data())
    def check(unit, data):
        raw = json.loads(json.dumps(specs[unit]))
        name = data.draw(st.sampled_from(sorted(flatten(raw))))
        set_dotted(raw, name, data.draw(FIELD_VALUES))
        path = folder / "fuzz-unit.yaml"
        path.write_text(yaml.safe_dump(raw))
        try:
            seen[run_checked(["simulators", "--unit", path.name], folder)] += 1
        finally:
            path.unlink()

    seen: Counter = Counter()
    check()
    _both_paths(seen, "unit spec fields")


def test_every_field_of_a_deploy_shape(folder):
    """One field of a bundled shape (config.json) replaced by a drawn value."""
    from importlib import resources

    presets = resources.files("codesign.simulators.model_presets")
    config = json.loads((presets / "llama-2-7b.json").read_text())
    keys = sorted(config) + ["text_config", "num_key_value_heads", "head_dim"]

    @FUZZ
    @given(st.sampled_from(keys), FIELD_VALUES)
    def check(key, value):
        raw = dict(config, **{key: value})
        path = folder / "fuzz-shape.json"
        path.write_text(json.dumps(raw))
        try:
            seen[run_checked(["simulators", "--model", path.name], folder)] += 1
            search = ["search", "--store", "sqlite:///good.db", "--deploy-shape", path.name]
            seen[run_checked(search, folder)] += 1
        finally:
            path.unlink()

    seen: Counter = Counter()
    check()
    _both_paths(seen, "deploy shape fields")


def test_argparse_still_lists_its_options():
    """The fuzzing above reads argparse's ``_actions``: if a Python release changes it, this
    fails instead of the fuzz tests silently drawing nothing."""
    from codesign.search.cli import build_parser

    flags = {a.option_strings[-1] for a in build_parser()._actions if a.option_strings}
    assert {"--budget-gb", "--seed", "--n-trials"} <= flags
    assert len(_options(build_parser())) > 20
