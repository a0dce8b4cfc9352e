"""The openai engine against a real server: ``transformers serve`` on loopback, serving the tiny
test model's dense and AWQ variants (it loads each folder a request names).

Its answers must equal the local engine's item by item (raw text, label, token counts) on
every generative suite; an export → the same server → import round trip must give the same
store; a killed server, a wrong model name and a refused connection each end in one line.
transformers cannot load GPTQModel's GPTQ folders ("requires optimum"): that case is checked
to end in one line that says so.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tokenizers.processors import TemplateProcessing

from codesign.measurements.cli import entry
from codesign.measurements.evaluate.engines.base import Prompt
from codesign.measurements.evaluate.engines.openai_server import (
    continuation_logprob,
    parse_serve,
    server_text,
)
from codesign.testing.serving import TransformersServe, run_batch

SUITES = "ethics,fairness,adv_robustness,ood,mmlu_gen"  # every generative suite


def _args(model: Path, store: str, *extra: str, method: str = "awq", bits: str = "4") -> list[str]:
    return [
        "evaluate",
        "--model",
        str(model),
        "--method",
        method,
        "--bits",
        bits,
        "--calib-samples",
        "4",
        "--calib-seq-len",
        "32",
        "--suites",
        SUITES,
        "--limit",
        "2",
        "--store",
        store,
        *extra,
    ]


def _outputs(db: Path) -> dict[tuple, tuple]:
    with sqlite3.connect(db) as c:
        rows = c.execute(
            "select v.method, v.bits, p.suite, p.item_id, p.raw, p.label, p.prompt_tokens, "
            "p.generated_tokens from predictions p join variants v on v.id = p.variant_id"
        ).fetchall()
    return {r[:4]: r[4:] for r in rows}


def _differences(a: dict, b: dict) -> list[str]:
    """Each item whose output differs, with the first differing character (the engines'
    detokenised texts: a token boundary shows as the first differing character)."""
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x != y:
            pairs = zip(x[0], y[0], strict=False)
            first = next((i for i, (p, q) in enumerate(pairs) if p != q), None)
            out.append(f"{key}: local {x!r} / served {y!r} (first differing char {first})")
    return out


@pytest.fixture(scope="module")
def server():
    with TransformersServe() as s:
        yield s


@pytest.fixture(scope="module")
def local_db(tiny_llama, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("local") / "local.db"
    assert entry(_args(tiny_llama, f"sqlite:///{db}", bits="3,4,8")) == 0
    return db


def test_served_outputs_equal_the_local_engines(tiny_llama, server, local_db, tmp_path, capsys):
    """Every variant transformers loads: dense and llm-compressor's AWQ at 3, 4 and 8 bits
    (compressed-tensors, decompressed at load)."""
    db = tmp_path / "served.db"
    url = f"sqlite:///{db}"
    argv = _args(tiny_llama, url, "--engine", "openai", "--base-url", server.url, bits="3,4,8")
    assert entry(argv) == 0
    local, served = _outputs(local_db), _outputs(db)
    assert set(local) == set(served) and len(local) > 200
    assert {k[:2] for k in local} == {("dense", 16), ("awq", 3), ("awq", 4), ("awq", 8)}
    diffs = _differences(local, served)
    assert len(diffs) <= 0.01 * len(local), "\n".join(diffs)
    with sqlite3.connect(db) as c:
        extra = c.execute("select extra from predictions limit 1").fetchone()[0]
    assert f'"host": "127.0.0.1:{server.port}"' in extra and '"name": "openai"' in extra
    assert f"at 127.0.0.1:{server.port}: model" in capsys.readouterr().out


def test_batch_files_round_trip_to_the_local_engines_store(tiny_llama, server, local_db, tmp_path):
    db = f"sqlite:///{tmp_path / 'batch.db'}"
    opts = _args(tiny_llama, db)[1:]
    assert entry(["export", *opts, "--out", str(tmp_path / "out")]) == 0
    files = sorted((tmp_path / "out").glob("*.jsonl"))
    assert [f.name for f in files] == ["awq-w4.jsonl", "dense.jsonl"]
    answers = []
    for f in files:  # the dense file partly failed, as a batch may come back
        answers.append(f.with_suffix(".out.jsonl"))
        run_batch(f, answers[-1], server.url, fail_every=7 if f.stem == "dense" else 0)
    assert entry(["import", *map(str, answers), *opts]) == 0
    assert entry(["import", *map(str, answers), *opts]) == 0  # twice: each item stored once
    local = {k: v for k, v in _outputs(local_db).items() if k[:2] in {("dense", 16), ("awq", 4)}}
    partial = _outputs(tmp_path / "batch.db")
    assert 0 < len(local) - len(partial) < 20
    assert entry(["export", *opts, "--out", str(tmp_path / "rest")]) == 0  # what failed
    rest = tmp_path / "rest" / "dense.jsonl"
    run_batch(rest, rest.with_suffix(".out.jsonl"), server.url)
    assert entry(["import", str(rest.with_suffix(".out.jsonl")), *opts]) == 0
    diffs = _differences(local, _outputs(tmp_path / "batch.db"))
    assert len(diffs) <= 0.01 * len(local), "\n".join(diffs)


def test_import_refuses_a_file_of_other_options_and_changes_nothing(
    tiny_llama, server, tmp_path, capsys
):
    db = f"sqlite:///{tmp_path / 'b.db'}"
    opts = _args(tiny_llama, db)[1:]
    opts[opts.index("--suites") + 1] = "ethics"
    assert entry(["export", *opts, "--out", str(tmp_path / "out")]) == 0
    req = tmp_path / "out" / "dense.jsonl"
    req.write_text(req.read_text().splitlines()[0] + "\n")
    run_batch(req, tmp_path / "dense.out.jsonl", server.url)
    good = (tmp_path / "dense.out.jsonl").read_text()
    capsys.readouterr()
    seeded = [*opts, "--data-seed", "1"]
    assert entry(["import", str(tmp_path / "dense.out.jsonl"), *seeded]) == 2
    assert "is not an item of this command" in capsys.readouterr().err
    tampered = good.replace('\\"hash\\":\\"', '\\"hash\\":\\"0')
    (tmp_path / "tampered.jsonl").write_text(tampered)
    assert entry(["import", str(tmp_path / "tampered.jsonl"), *opts]) == 2
    assert "hash differs from the prompt this command renders" in capsys.readouterr().err
    assert _outputs(tmp_path / "b.db") == {}


def test_a_gptq_folder_the_server_cannot_load_is_one_line(tiny_llama, server, tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'g.db'}"
    argv = _args(tiny_llama, db, "--engine", "openai", "--base-url", server.url, method="gptq")
    assert entry(argv) == 2  # after quantizing (its progress on stderr): the folder is needed
    err = capsys.readouterr().err
    said = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert "Traceback" not in err and len(said) == 1, err
    assert "gptq-w4: the server at" in said[0] and "HTTP 500" in said[0], said


def test_a_model_name_the_server_does_not_serve_is_one_line(tiny_llama, tmp_path, capsys):
    with TransformersServe(tiny_llama) as pinned:  # serves the tiny model only
        argv = _args(tiny_llama, f"sqlite:///{tmp_path / 'w.db'}", "--engine", "openai")
        argv += ["--serve", f"dense=other@{pinned.url}", "--serve", f"awq-w4=x@{pinned.url}"]
        assert entry(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not serve it: HTTP 400: Server is pinned" in err[0], err
    assert not (tmp_path / "w.db").exists()


def test_a_server_killed_mid_run_is_one_line_and_a_rerun_resumes(tiny_llama, tmp_path):
    db = tmp_path / "k.db"
    server = TransformersServe().start()
    argv = _args(tiny_llama, f"sqlite:///{db}", "--engine", "openai", "--base-url", server.url)
    argv += ["--concurrency", "1"]
    cmd = [sys.executable, "-m", "codesign.measurements", *argv]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(_stored(db)) < 20 and proc.poll() is None:
            time.sleep(0.2)
        server.kill()
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and "the server at 127.0.0.1" in lines[0], err
        assert "every answer before it is stored" in lines[0]
        kept = _stored(db)
        assert len(kept) >= 20
        server.start()  # the same port again
        assert subprocess.run(cmd, capture_output=True, timeout=600).returncode == 0
        after = _stored(db)
        assert len(after) == len(set(after)) == 132 and set(kept) <= set(after)
    finally:
        server.stop()


def _stored(db: Path) -> list[tuple]:
    try:
        with sqlite3.connect(db) as c:
            return c.execute("select variant_id, suite, item_id from predictions").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []


# -- the parts that need no server


def test_prompt_log_probabilities_of_an_echoed_completion():
    """vLLM's echo+logprobs shape: the continuation is every prompt token reaching past the
    context (one straddling the boundary included), the generated token not counted."""

    class LP:
        text_offset = [0, 5, 9, 11, 13]  # "Hello" " wor" "ld" " A" + one generated
        token_logprobs = [None, -1.0, -2.0, -0.5, -9.0]

    assert continuation_logprob(LP, len("Hello wor"), len("Hello world A")) == -2.5
    assert continuation_logprob(LP, len("Hello world"), len("Hello world A")) == -0.5


def test_server_text_leaves_out_a_bos_the_server_adds(tiny_llama):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    chat = Prompt(f"{tok.bos_token}user\nhi", special=False)
    assert server_text(tok, chat) == chat.text  # this tokenizer adds no BOS of its own
    tok.backend_tokenizer.post_processor = TemplateProcessing(
        single=f"{tok.bos_token} $A", special_tokens=[(tok.bos_token, tok.bos_token_id)]
    )
    assert server_text(tok, chat) == "user\nhi"
    assert server_text(tok, Prompt("raw", special=True)) == "raw"


def test_serve_pairs():
    got = parse_serve(["dense=m1", "gptq-w4=org/m@2@http://h:1"], "http://b:8000/v1")
    assert got == {"dense": ("m1", "http://b:8000/v1"), "gptq-w4": ("org/m@2", "http://h:1/v1")}
