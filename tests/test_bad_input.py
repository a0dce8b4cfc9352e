"""Every command × every class of bad input: one line on stderr naming what is wrong, the
documented exit code (errors.py), no traceback, no file created and the store unchanged.

The table is the contract: a new command or a new class of bad input gets a row here. Each row
runs the ``codesign`` console script's ``main`` in this process (the same code path as
``python -m codesign.<stage>``), from a folder holding the files the rows name.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from codesign.cli import main as codesign
from codesign.errors import EXIT_BAD_INPUT, EXIT_INFEASIBLE
from tests.search.conftest import synthetic_db  # noqa: F401 - the session's synthetic store

GOOD = "sqlite:///good.db"  # a synthetic store with predictions (search-ready)


@dataclass(frozen=True)
class Case:
    """One bad invocation: the argv (``{tmp}`` is the working folder), what stderr must say,
    the exit code, and environment variables to set."""

    argv: tuple[str, ...]
    says: str
    code: int = EXIT_BAD_INPUT
    env: dict[str, str] = field(default_factory=dict)


def case(*argv: str, says: str, code: int = EXIT_BAD_INPUT, **env: str):
    return pytest.param(Case(argv, says, code, env), id=" ".join(argv)[:90])


SEARCH = ("search", "--store", GOOD, "--no-measure")
EVALUATE = ("measurements", "evaluate", "--store", "sqlite:///new.db")
QUANTIZE = ("measurements", "quantize", "--store", "sqlite:///new.db")
OPENAI = (*EVALUATE, "--engine", "openai", "--base-url", "http://127.0.0.1:1")

CASES = [
    # -- the store: a path instead of a URL, a file that is not a store, a damaged schema,
    #    a missing file on a read-only command (never created)
    *(
        case(*cmd, "--store", "codesign.db", says="did you mean sqlite:///codesign.db?")
        for cmd in (
            ("measurements", "list"),
            ("measurements", "profile"),
            ("measurements", "evaluate"),
            ("measurements", "quantize"),
            ("report",),
            ("search",),
            ("simulators", "validate"),
        )
    ),
    *(
        case(*cmd, "--store", "sqlite:///random.bin", says="file is not a database")
        for cmd in (
            ("measurements", "list"),
            ("measurements", "profile"),
            ("measurements", "evaluate", "--suites", "ethics"),
            ("measurements", "quantize"),
            ("report",),
            ("search", "--no-measure"),
            ("search",),
            ("simulators", "validate"),
        )
    ),
    *(
        case(*cmd, "--store", "sqlite:///schema_two.db", says="schema version is 'two'")
        for cmd in (
            ("measurements", "list"),
            ("measurements", "quantize"),
            ("report",),
            ("search",),
        )
    ),
    *(
        case(*cmd, "--store", "sqlite:///typo.db", says="no store file at typo.db")
        for cmd in (
            ("measurements", "list"),
            ("measurements", "profile"),
            ("report",),
            ("search", "--no-measure"),
            ("simulators", "validate"),
        )
    ),
    case("simulators", "validate", says="or give --published"),  # default store absent
    # -- the model: unknown, or a hub id with the hub offline and nothing cached
    case(*QUANTIZE, "--model", "nosuch", says="unknown model 'nosuch'"),
    case(*EVALUATE, "--model", "nosuch", "--suites", "ethics", says="unknown model 'nosuch'"),
    case("measurements", "profile", "--store", GOOD, "--model", "nosuch", says="unknown model"),
    case(*QUANTIZE, "--model", "no-org/no-model", says="hub is offline", HF_HUB_OFFLINE="1"),
    case(*EVALUATE, "--model", "no-org/no-model", says="hub is offline", HF_HUB_OFFLINE="1"),
    case(*QUANTIZE, "--model", "binary.yaml", says="not a Hugging Face model directory"),
    case(*SEARCH, "--model", "nosuch", says="models with predictions: synthetic-smollm2"),
    case("report", "--store", GOOD, "--model", "nosuch", says="nosuch"),
    # -- calibration: a hub id offline, an empty file
    case(*QUANTIZE, "--calibration", "no-org/no-data", says="hub is offline", HF_HUB_OFFLINE="1"),
    case(*QUANTIZE, "--calibration", "empty.jsonl", says="holds no text"),
    # -- methods, bits, suites, devices, numbers of the measuring commands
    case(*QUANTIZE, "--method", "foo", says="foo"),
    case(*QUANTIZE, "--bits", "5", says="5"),
    case(*QUANTIZE, "--bits", "four", says="bad bits list"),
    case(*QUANTIZE, "--group-size", "abc", says="--group-size: must be auto, none or a power"),
    case(*QUANTIZE, "--calib-samples", "0", says="--calib-samples"),
    case(*QUANTIZE, "--device", "tpu", says="--device 'tpu'"),
    case(*EVALUATE, "--suites", "nosuch", says="unknown suite 'nosuch'"),
    case(*EVALUATE, "--limit", "0", says="--limit"),
    case(*EVALUATE, "--limit", "some", says="--limit: must be an integer from 1 to 1,000,000 or"),
    case(*EVALUATE, "--suite-limit", "mmlu_ll", says="--suite-limit takes SUITE=N"),
    case(*EVALUATE, "--suite-limit", "mmlu_ll=0", says="--suite-limit mmlu_ll must be"),
    case(*EVALUATE, "--suites", "ethics", "--suite-limit", "ood=3", says="not a chosen suite"),
    case(*EVALUATE, "--suite-limit", "ood=3", "--suite-limit", "ood=4", says="ood given twice"),
    case(*EVALUATE, "--limit", "1", says="--limit 1: the fairness suite"),
    case("measurements", "profile", "--store", GOOD, "--repeats", "0", says="--repeats"),
    case("measurements", "profile", "--store", GOOD, "--batch-sizes", "0", says="--batch-sizes"),
    case("measurements", "profile", "--store", GOOD, "--workers", "0", says="--workers"),
    case(
        "measurements",
        "profile",
        "--store",
        GOOD,
        "--device",
        "cpu",
        "--workers",
        "2",
        says="would time each other",
    ),
    case("measurements", "frobnicate", says="invalid choice"),
    case("measurements", "list", "--store", GOOD, "--colour", says="unrecognized arguments"),
    # -- --data: wrong layouts, binary files, empty files, unknown or unread data sets
    case(*EVALUATE, "--suites", "mmlu_ll", "--data", "mmlu=wrong.csv", says="expected layout"),
    case(*EVALUATE, "--suites", "mmlu_ll", "--data", "mmlu=random.parquet", says="Parquet"),
    case(*EVALUATE, "--suites", "mmlu_ll", "--data", "mmlu=empty.csv", says="holds no items"),
    case(*EVALUATE, "--suites", "fairness", "--data", "adult=random.bin", says="expected layout"),
    case(*EVALUATE, "--suites", "fairness", "--data", "adult=wrong.jsonl", says="KeyError"),
    case(*EVALUATE, "--suites", "fairness", "--data", "adult=empty.jsonl", says="holds no items"),
    case(*EVALUATE, "--data", "nosuch=wrong.csv", says="unknown data set 'nosuch'"),
    case(*EVALUATE, "--suites", "fairness", "--data", "mmlu=wrong.csv", says="no chosen suite"),
    case(*EVALUATE, "--suites", "mmlu_ll", "--data", "mmlu=absent.csv", says="does not exist"),
    case(*EVALUATE, "--data", "mmlu", says="DATASET=PATH"),
    # -- engines: another engine's option, no server, a server that cannot be reached
    case(*EVALUATE, "--base-url", "http://127.0.0.1:1", says="an option of --engine openai"),
    case(*EVALUATE, "--engine", "openai", says="needs --base-url URL or --serve"),
    case(*EVALUATE, "--engine", "openai", "--base-url", "ftp://x", says="http(s) URL"),
    case(*OPENAI, says="cannot reach the server at http://127.0.0.1:1/v1"),
    case(*OPENAI, "--concurrency", "0", says="--concurrency: must be an integer from 1 to 1,024"),
    case(*OPENAI, "--api-key-env", "CODESIGN_NO_SUCH_KEY", says="variable is not set"),
    case(*OPENAI, "--serve", "gptq-w9=m", says="gptq-w9: not a variant of this command"),
    case(*OPENAI, "--serve", "dense", says="VARIANT=MODEL_NAME[@URL]"),
    case(*OPENAI, "--api", "chat", "--suites", "mmlu_gen", says="--api chat: mmlu_gen"),
    *(
        case(*cmd, "--api", "chat", "--suites", "ethics", "--template", "comptrust", says=says)
        for cmd in (OPENAI, ("measurements", "export", "--store", "sqlite:///new.db", "--out", "o"))
        for says in ("--template comptrust cannot be sent that way",)
    ),
    case(*EVALUATE, "--template", "fastchat", says="--template: invalid choice: 'fastchat'"),
    case(*SEARCH, "--base-url", "http://127.0.0.1:1", says="an option of --engine openai"),
    case(
        "search",
        "--store",
        "sqlite:///new.db",
        "--engine",
        "openai",
        "--base-url",
        "http://127.0.0.1:1",
        says="cannot reach the server",
    ),
    case("measurements", "import", "absent.jsonl", "--store", "sqlite:///new.db", says="no such"),
    case("measurements", "import", "wrong.csv", "--store", "sqlite:///new.db", says="not JSON"),
    case("measurements", "export", "--store", "sqlite:///new.db", says="--out"),
    # -- unit and shape files: binary, unknown
    case("simulators", "--unit", "binary.yaml", says="not a text file"),
    case("simulators", "--model", "binary.yaml", says="not a text file"),
    case("simulators", "--unit", "nosuch", says="unknown compute unit 'nosuch'"),
    case(*SEARCH, "--units", "binary.yaml", says="not a text file"),
    case(*SEARCH, "--deploy-shape", "binary.yaml", says="not a text file"),
    case(*SEARCH, "--deploy-shape", "nosuch", says="unknown model 'nosuch'"),
    # -- the simulators' numbers, each error naming its flag
    case("simulators", "--batch", "0", says="--batch"),
    case("simulators", "--context", "-5", says="--context"),
    case("simulators", "--prompt-tokens", "0", says="--prompt-tokens"),
    case("simulators", "--kv-bits", "0", says="--kv-bits"),
    case("simulators", "--bits", "0", says="--bits"),
    case("simulators", "--bits", "x", says="--bits"),
    case("simulators", "--agreement", "2", says="--agreement"),
    case("simulators", "--run-probability", "0.5,1.5", says="--run-probability"),
    case("simulators", "--normalise-node", "0", says="--normalise-node"),
    case("simulators", "--schedule", "nosuch", says="nosuch"),
    case("simulators", "--set", "nonsense", says="--set"),
    case("simulators", "validate", "--published", "--cpu-bandwidth-gbs", "-1", says="--cpu"),
    # -- the search: every number, the output folder, checked before any store is opened
    case(*SEARCH, "--budget-gb", "inf", says="--budget-gb"),
    case(*SEARCH, "--budget-gb", "nan", says="--budget-gb"),
    case(*SEARCH, "--budget-gb", "-1", says="--budget-gb"),
    case(*SEARCH, "--n-trials", "0", says="--n-trials"),
    case(*SEARCH, "--workers", "0", says="--workers"),
    case(*SEARCH, "--limit", "0", says="--limit"),
    case(*SEARCH, "--limit", "3", says="--limit: must be an even integer"),
    case(*SEARCH, "--max-area-mm2", "0", says="--max-area-mm2"),
    case(*SEARCH, "--mmlu-floor", "150", says="--mmlu-floor"),
    case(*SEARCH, "--mmlu-tolerance", "-1", says="--mmlu-tolerance"),
    case(*SEARCH, "--max-refusal", "1.5", says="--max-refusal"),
    case(*SEARCH, "--max-refusal", "nan", says="--max-refusal"),
    case(*SEARCH, "--out", "/proc/codesign-out", says="--out /proc/codesign-out"),
    case(*SEARCH, "--out", "random.bin/x", says="is a file, not a folder"),
    case(*SEARCH, "--methods", "nosuch", says="nosuch"),
    case(*SEARCH, "--sampler", "nosuch", says="invalid choice"),
    case("search", "--store", "sqlite:///absent.db", "--budget-gb", "0", says="--budget-gb"),
    # -- the search ran, and nothing met a constraint: exit 3 naming the constraint
    case(
        *SEARCH,
        "--max-area-mm2",
        "0.5",
        "--n-trials",
        "6",
        says="--max-area-mm2 0.5 excluded",
        code=EXIT_INFEASIBLE,
    ),  # fmt: skip
    case(*SEARCH, "--budget-gb", "0.01", says="smallest footprint", code=EXIT_INFEASIBLE),
    # -- the report
    case("report", "--store", GOOD, "--top", "0", says="--top"),
    case("report", "--store", GOOD, "--out", "random.bin", says="is a file, not a folder"),
    case("report", "--store", GOOD, "--scoring", "nosuch", says="invalid choice"),
    # -- the console script itself
    case("nosuch-stage", says="unknown stage"),
    # -- issue 35, each case its report named: numbers out of range or not finite
    case(*SEARCH, "--seed", "-1", says="--seed: must be an integer from 0 to 4,294,967,295"),
    case(*SEARCH, "--seed", "99999999999", "--sampler", "nsga2", says="--seed: must be"),
    case(*SEARCH, "--batch", "99999999999999999999", says="--batch: must be an integer"),
    case(*QUANTIZE, "--group-size", "0", says="--group-size: must be auto, none or a power"),
    case(*QUANTIZE, "--group-size", "3", says="--group-size: must be auto, none or a power"),
    case(*QUANTIZE, "--workers", "0", says="--workers: must be an integer from 1"),
    case(*QUANTIZE, "--calib-seq-len", "100000000", says="--calib-seq-len: must be"),
    case(*EVALUATE, "--max-batch-tokens", "-5", says="--max-batch-tokens: must be"),
    case("simulators", "--normalise-node", "1e308", says="--normalise-node: must be a number"),
    # -- unit specs and deploy shapes: non-finite, huge, wrong type, broken cross-field rules
    case("simulators", "--unit", "rows_inf.yaml", says="'array.rows' must be an integer"),
    case("simulators", "--unit", "rows_nan.yaml", says="'array.rows' must be an integer"),
    case("simulators", "--unit", "rows_1e308.yaml", says="'array.rows' must be <= 1e+12"),
    case("simulators", "--unit", "clock_nan.yaml", says="'clock_mhz' must be a finite number"),
    case("simulators", "--unit", "bw_nan.yaml", says="'dram.bandwidth_gbs' must be a finite"),
    case("simulators", "--unit", "bw_inf.yaml", says="'dram.bandwidth_gbs' must be a finite"),
    case("simulators", "--set", "array.rows=.inf", says="'array.rows' must be an integer"),
    case("simulators", "--set", "clock_mhz=.nan", says="'clock_mhz' must be a finite number"),
    case("simulators", "--set", "array.rows=1e30", says="'array.rows' must be <= 1e+12"),
    case(*SEARCH, "--units", "clock_nan.yaml", says="'clock_mhz' must be a finite number"),
    case("simulators", "--model", "shape_text_config.json", says="text_config must be a mapping"),
    case("simulators", "--model", "shape_kv_three.json", says="'num_key_value_heads' input"),
    case("simulators", "--model", "shape_kv_negative.json", says="greater than 0"),
    case("simulators", "--model", "shape_heads.json", says="must divide hidden_size"),
    case(*SEARCH, "--deploy-shape", "shape_kv_three.json", says="'num_key_value_heads' input"),
    # -- names too long for the file system, a cache path that is a file, repeated suites
    case(*SEARCH, "--out", "o" * 300, says="--out: the name"),
    case("report", "--store", GOOD, "--out", "o" * 300, says="--out: the name"),
    case(*QUANTIZE, "--model", "m" * 300, says="--model: the name"),
    case(*EVALUATE, "--model", "m" * 300, "--suites", "ethics", says="--model: the name"),
    case(*QUANTIZE, says="is a file, not a folder", CODESIGN_CACHE="random.bin"),
    case(*EVALUATE, "--suites", "ethics,ethics", says="--suites names 'ethics' twice"),
    case(*QUANTIZE, "--bits", "4,4", says="--bits names 4 twice"),
    # -- another application's SQLite file: refused, never written (read-only commands too)
    *(
        case(*cmd, "--store", "sqlite:///foreign.db", says="is not a codesign store")
        for cmd in (
            ("measurements", "list"),
            ("measurements", "status"),
            ("measurements", "quantize"),
            ("measurements", "evaluate", "--suites", "ethics"),
            ("report",),
            ("search",),
            ("simulators", "validate"),
        )
    ),
    case("measurements", "list", "--store", "sqlite:///foreign_meta.db", says="not a codesign"),
    # -- checked before any measuring on a fresh store
    case("search", "--store", "sqlite:///new.db", "--methods", "nosuch", says="--methods"),
    case("search", "--store", "sqlite:///new.db", "--limit", "3", says="--limit: must be an even"),
    case(
        "search",
        "--store",
        "sqlite:///new.db",
        "--budget-gb",
        "0.001",
        says="nothing was measured",
        code=EXIT_INFEASIBLE,
    ),
    case(*QUANTIZE, "--calibration", "short.txt", says="give at most"),
    case(*QUANTIZE, "--backend", "llmcompressor", "--method", "gptq", "--bits", "2", says="2 bits"),
    # -- conflicting options, unsafe study names
    case(*SEARCH, "--exhaustive", "--sampler", "nsga2", says="--exhaustive or --sampler"),
    case(*SEARCH, "--mmlu-floor", "40", "--mmlu-tolerance", "2", says="--mmlu-floor or"),
    case(*SEARCH, "--study", "../../escape", says="--study: must be 1-120 letters"),
    case(*SEARCH, "--study", "a/b", says="--study: must be 1-120 letters"),
]


def _make_files(folder: Path, store: Path) -> None:
    """The inputs the rows name: a good store, a random-bytes file, a damaged store, data
    files in the wrong layout or empty."""
    shutil.copy(store, folder / "good.db")
    (folder / "random.bin").write_bytes(bytes(range(256)) * 12)
    shutil.copy(folder / "random.bin", folder / "binary.yaml")
    shutil.copy(folder / "random.bin", folder / "random.parquet")
    (folder / "wrong.csv").write_text("a,b\n1,2\n")
    (folder / "empty.csv").write_text("")
    (folder / "empty.jsonl").write_text("")
    (folder / "wrong.jsonl").write_text('{"foo": 1}\n')
    _unit_files(folder)
    _shape_files(folder)
    (folder / "short.txt").write_text("A calibration text far too short for its windows.\n")
    with sqlite3.connect(folder / "foreign.db") as db:
        db.execute("create table users (id integer, name text)")
    with sqlite3.connect(folder / "foreign_meta.db") as db:
        db.execute("create table meta (key text primary key, value text)")
        db.execute("insert into meta values ('owner', 'another application')")
    with sqlite3.connect(folder / "schema_two.db") as db:
        db.execute("create table meta (key varchar(64) primary key, value text)")
        db.execute("insert into meta values ('schema_version', 'two')")


def _unit_files(folder: Path) -> None:
    """The bundled bitfusion spec with one field made non-finite or huge."""
    from codesign.simulators.spec import _read_yaml, _units

    base = _read_yaml(_units().get("bitfusion"))
    changes = {
        "rows_inf": ("array", "rows", float("inf")),
        "rows_nan": ("array", "rows", float("nan")),
        "rows_1e308": ("array", "rows", "1e308"),
        "clock_nan": (None, "clock_mhz", float("nan")),
        "bw_nan": ("dram", "bandwidth_gbs", float("nan")),
        "bw_inf": ("dram", "bandwidth_gbs", float("inf")),
    }
    for name, (group, key, value) in changes.items():
        spec = json.loads(json.dumps(base))
        (spec[group] if group else spec)[key] = value
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec))


def _shape_files(folder: Path) -> None:
    """The bundled llama-2-7b config.json with one field broken."""
    from importlib import resources

    presets = resources.files("codesign.simulators.model_presets")
    base = json.loads((presets / "llama-2-7b.json").read_text())
    changes = {
        "text_config": {"text_config": "oops"},
        "kv_three": {"num_key_value_heads": "three"},
        "kv_negative": {"num_key_value_heads": -3},
        "heads": {"num_attention_heads": 8192},
    }
    for name, change in changes.items():
        (folder / f"shape_{name}.json").write_text(json.dumps({**base, **change}))


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under the folder with its content hash (SQLite's -wal/-shm side files, which
    a reader may open, aside)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, synthetic_db) -> Path:  # noqa: F811 - the imported fixture
    folder = tmp_path_factory.mktemp("bad-inputs")
    _make_files(folder, synthetic_db)
    return folder


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_one_line_and_touches_nothing(
    bad: Case, inputs, tmp_path, monkeypatch, capsys
):
    work = tmp_path / "work"
    shutil.copytree(inputs, work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CODESIGN_STORE", raising=False)
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value)
    from codesign import hub

    hub.unreachable_reason.cache_clear()
    before = _snapshot(work)
    capsys.readouterr()
    try:
        code = codesign(list(bad.argv))
    except SystemExit as exc:  # argparse's own exit (its errors are one line too)
        code = exc.code
    out = capsys.readouterr()
    lines = [ln for ln in out.err.splitlines() if ln.strip()]
    assert "Traceback" not in out.err, out.err
    assert code == bad.code, out.err
    assert len(lines) == 1, out.err
    assert bad.says in lines[0], lines[0]
    after = _snapshot(work)
    if bad.code == EXIT_INFEASIBLE:  # the search ran: its study is stored, nothing else
        after = {k: v for k, v in after.items() if k != "good.db"} | {"good.db": before["good.db"]}
        assert not (work / "results").exists()
    assert after == before, "a bad input changed or created files"


def test_a_bug_is_exit_1_with_its_traceback_and_where_to_report_it(monkeypatch, capsys):
    """The one case with a traceback: an unexpected exception inside a command."""
    from codesign.simulators import cli as simulators

    def broken(args, out):
        raise RuntimeError("an unexpected state")

    monkeypatch.setattr(simulators, "run_model", broken)
    assert codesign(["simulators", "--bits", "4"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: an unexpected state" in err
    assert "bug in codesign" in err.splitlines()[-1]
