"""Every search parameter group declares what the rest of the search needs of it (order,
suggest function, command-line options), and a new parameter is one file: registered here
inside the test, it gets its option, is enumerated by --exhaustive, sampled by trials, and
reaches pareto.json and the deploy files, with no other file edited."""

from __future__ import annotations

import json

import pytest
import yaml

from codesign.search.cli import build_parser, entry
from codesign.search.context import Settings
from codesign.search.space import (
    PARAMETERS,
    Config,
    Option,
    ParameterGroup,
    Space,
    TrialLike,
    options,
    parameter_group,
)
from tests.search.conftest import SMALL_SPACE, SMALL_SPACE_SIZE, search_args


def group_problems(group: ParameterGroup, key: str) -> list[str]:
    """What a registered group lacks of what the CLI, Settings and the space read from it."""
    problems = []
    if group.name != key:
        problems.append(f"registered as {key!r} but named {group.name!r}")
    if not isinstance(group.order, int) or not group.help or not callable(group.suggest):
        problems.append("needs an integer order, a help line and a suggest function")
    for opt in group.options:
        if not isinstance(opt, Option) or not opt.name.isidentifier() or not opt.help:
            problems.append(f"option {opt!r} needs an identifier name and a help line")
        elif opt.single and opt.known is None:
            problems.append(f"single-valued option {opt.flag} needs its known values")
    return problems


@pytest.mark.parametrize("name", PARAMETERS.names())
def test_every_registered_group_declares_what_the_rest_needs(name):
    assert group_problems(PARAMETERS.get(name), name) == []


def test_option_names_are_unique_and_every_option_is_on_the_command_line():
    names = [opt.name for opt in options()]
    assert len(names) == len(set(names))
    help_text = build_parser().format_help()
    assert all(opt.flag in help_text for opt in options())
    assert set(Settings(store="sqlite://").choices) == set(names)


def test_a_group_with_a_bad_option_is_caught():
    def nothing(trial, space, config):
        return None

    bad = ParameterGroup("bad", 99, "", nothing, (Option("two words", "h", single=True),))
    assert len(group_problems(bad, "bad")) == 2


KV = Option(
    "kv_formats", help="KV-cache formats to try (test parameter)", known=lambda: ("fp16", "int8")
)


@pytest.fixture
def kv_parameter():
    @parameter_group("kv_format", order=50, help="KV-cache format (test group)", options=(KV,))
    def kv_format(trial: TrialLike, space: Space, config: Config) -> None:
        formats = space.choices["kv_formats"]
        config.extra["kv_format"] = trial.suggest_categorical("kv_format", formats)

    yield
    PARAMETERS.remove("kv_format")


def test_a_new_search_parameter_is_one_file(kv_parameter, search_store, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [*search_args(search_store, out), *SMALL_SPACE, "--exhaustive"]
    code = entry([*argv, "--kv-formats", "fp16,int8"])
    text = capsys.readouterr()
    assert code == 0, text.err
    assert f"{2 * SMALL_SPACE_SIZE} configurations to run" in text.out
    pareto = json.loads((out / "pareto.json").read_text())["pareto"]
    assert pareto and {row["parameters"]["kv_format"] for row in pareto} <= {"fp16", "int8"}
    deploy = yaml.safe_load((out / "deploy-1.yaml").read_text())
    assert deploy["parameters"]["kv_format"] == pareto[0]["parameters"]["kv_format"]
    assert entry([*argv, "--kv-formats", "fp8"]) == 2  # checked against its known values
    assert "--kv-formats: want some of fp16, int8" in capsys.readouterr().err
