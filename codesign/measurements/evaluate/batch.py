"""``export`` and ``import``: the evaluate prompts as OpenAI batch files, for clusters where a
live connection to a server is not the way.

``export`` writes, per variant, one OpenAI batch-request JSONL file (the format ``vllm
run-batch`` and the OpenAI Batch API read): one request per item not yet stored, rendered as
the ``openai`` engine sends it. Each ``custom_id`` names the variant, suite, setting, item,
prompt protocol and a hash of the request body. ``import`` reads batch output files back: the
same command options render the same prompts, so every line is checked against them (id,
protocol, hash); a file that does not match is refused in one line before anything is
written. Partial files are fine, and importing twice stores each item once.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesign.commandline.interrupts import on_interrupt
from codesign.commandline.output import console
from codesign.commandline.parsers import HelpFormatter
from codesign.errors import CodesignError
from codesign.measurements.evaluate.engines.openai_server import generation_from
from codesign.store import variant_label

ID_TAG = "codesign"


def add_batch_parsers(sub) -> None:
    from codesign.measurements.evaluate.cli import add_item_options

    ex = sub.add_parser(
        "export",
        help="write evaluate's prompts as OpenAI batch-request files (vllm run-batch)",
        description="One JSONL file per variant in --out, one request per item not yet "
        "stored: run each through `vllm run-batch` (or the OpenAI Batch API), then `import` "
        "the outputs with the same options.",
        formatter_class=HelpFormatter,
    )
    add_item_options(ex)
    ex.add_argument("--out", type=Path, required=True, help="folder for the request files")
    ex.add_argument(
        "--serve",
        action="append",
        default=[],
        metavar="VARIANT=MODEL_NAME",
        help="the model name a request carries for a variant (default: the variant's "
        "folder, as `vllm run-batch --model FOLDER` serves it)",
    )
    ex.add_argument(
        "--api",
        choices=("completions", "chat"),
        default="completions",
        help="completions: the prompt rendered here; chat: the messages (default: completions)",
    )
    im = sub.add_parser(
        "import",
        help="store the outputs of batch files made by export",
        description="Checks every line against the prompts the same options render, then "
        "stores the answers; a file that does not match is refused and the store unchanged.",
        formatter_class=HelpFormatter,
    )
    im.add_argument("files", nargs="+", type=Path, metavar="FILE", help="batch output JSONL")
    add_item_options(im)


@dataclass(frozen=True)
class Request:
    """One exported request and what its answer becomes."""

    custom_id: str
    variant: Any  # VariantRow
    suite: Any
    item: Any  # SuiteItem
    body: dict
    url: str


def _digest(body: dict) -> str:
    """A hash of what the server is asked (model name left out: it may be renamed)."""
    asked = {k: v for k, v in body.items() if k != "model"}
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()[:16]


def custom_id(variant, suite, it, body: dict) -> str:
    return json.dumps(
        {
            "tag": ID_TAG,
            "variant": variant_label(variant.method, variant.bits, variant.seed),
            "vkey": variant.key[:16],
            "suite": suite.name,
            "setting": it.setting,
            "item": suite.stored_key(it),
            "protocol": suite.protocol,
            "hash": _digest(body),
        },
        separators=(",", ":"),
    )


def requests(rows, suites, data, names: dict[str, str], apis: Sequence[str]) -> Iterator[Request]:
    """Every request of the command's items on each variant, one per API of ``apis`` (each
    prompt rendered once; ``names``: model per label)."""
    from codesign.measurements.evaluate.engines.openai_server import ENDPOINTS, request_body
    from codesign.measurements.evaluate.runner import render_prompts
    from codesign.measurements.quantize.backends.dense import load_tokenizer

    for v in rows:
        label = variant_label(v.method, v.bits, v.seed)
        model = names.get(label) or str(Path(v.path).resolve())
        tokenizer = load_tokenizer(Path(v.path))
        for s in suites:
            if s.kind == "loglik":
                raise CodesignError(
                    f"export: {s.name} needs prompt log-probabilities, which batch files do not "
                    "carry here; export the generative MMLU setting (mmlu_gen)"
                )
            items = data[s.name].items
            for it, prompt in zip(items, render_prompts(tokenizer, s, items), strict=True):
                for api in apis:
                    body = request_body(model, tokenizer, prompt, s.max_new_tokens, api)
                    yield Request(custom_id(v, s, it, body), v, s, it, body, ENDPOINTS[api])


def _command_items(args):
    from codesign.measurements.evaluate.cli import items_from_args, trim_long_settings
    from codesign.measurements.quantize.cli import variants_from_args

    suites, data = items_from_args(args)
    if args.workers > 1:
        raise CodesignError(f"--workers {args.workers}: {args.command} runs in one process")
    store, _device, rows = variants_from_args(args)
    return store, rows, suites, trim_long_settings(args, suites, data, rows, quiet=False)


def _check_chat_api(args: argparse.Namespace) -> None:
    """A chat request lets the server apply its own template: refused, before any work, for
    suites prompted as raw text and for a prompt template other than the model's own."""
    from codesign.measurements.evaluate.cli import suites_from_args
    from codesign.measurements.evaluate.templates import check_chat_api

    check_chat_api(suites_from_args(args))


def cmd_export(args: argparse.Namespace) -> int:
    from codesign.measurements.evaluate.engines.openai_server import parse_serve
    from codesign.paths import writable_folder

    writable_folder(args.out, "--out")
    names = {k: m for k, (m, _) in parse_serve(args.serve, "http://unused").items()}
    if args.api == "chat":
        _check_chat_api(args)
    store, rows, suites, data = _command_items(args)
    lines: dict[str, list[str]] = {}
    models: dict[str, str] = {}
    done: dict[tuple[int, str], set[str]] = {}
    for req in requests(rows, suites, data, names, [args.api]):
        key = (req.variant.id, req.suite.name)
        if key not in done:
            done[key] = store.predicted_item_ids(*key)
        if req.suite.stored_key(req.item) in done[key]:
            continue
        label = variant_label(req.variant.method, req.variant.bits, req.variant.seed)
        record = {"custom_id": req.custom_id, "method": "POST", "url": req.url, "body": req.body}
        lines.setdefault(label, []).append(json.dumps(record))
        models[label] = req.body["model"]
    if not lines:
        console.print("every item of this command is stored already: nothing to export")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for label, rows_ in lines.items():
        path = args.out / f"{label}.jsonl"
        path.write_text("\n".join(rows_) + "\n")
        out = args.out / f"{label}.out.jsonl"
        console.print(f"{label}: {len(rows_)} requests in {path}", highlight=False)
        console.print(
            f"  vllm run-batch -i {path} -o {out} --model {models[label]}", highlight=False
        )
    console.print(
        "then: python -m codesign.measurements import OUTPUT_FILES... with the same options",
        highlight=False,
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from codesign.measurements.evaluate.runner import make_prediction

    records = list(_records(args.files))  # every line readable, before anything is opened
    store, rows, suites, data = _command_items(args)
    rendered = requests(rows, suites, data, {}, ["completions", "chat"])
    expected = {_key(r.custom_id): r for r in rendered}
    answers, failed = _answers(records, expected)  # every line checked before any is stored
    on_interrupt("nothing is half-stored: each variant's answers are stored in one transaction")
    provenance = {n: d.provenance() for n, d in data.items()}
    by_variant: dict[int, list] = {}
    for req, out, runtime, engine in answers.values():
        prompt = req.body.get("prompt")  # the text a completions request sent
        pred = make_prediction(
            req.suite, req.item, out, provenance[req.suite.name], runtime, engine, prompt
        )
        by_variant.setdefault(req.variant.id, []).append(pred)
    added = sum(store.add_predictions(v, preds) for v, preds in by_variant.items())
    wanted = sum(len(d.items) for d in data.values()) * len(rows)
    have = sum(len(store.predicted_item_ids(v.id, s.name)) for v in rows for s in suites)
    missing = max(wanted - have, 0)
    console.print(
        f"imported {added} new predictions from {len(answers)} answers "
        f"({len(answers) - added} stored before; {failed} failed requests skipped); "
        f"{missing} items of this command are not stored yet"
        + (" (export again for them)" if missing else ""),
        highlight=False,
    )
    return 0


def _key(cid: str) -> tuple:
    """What identifies a request, its hash included (the model name is not in it)."""
    return _parse_id(cid, "export")


def _records(files: list[Path]) -> Iterator[tuple[Path, str, dict, tuple]]:
    """Each line of the files as (file, where, record, request key): JSON, with an id that
    codesign's export wrote."""
    for path in files:
        if not path.is_file():
            raise CodesignError(f"{path}: no such file")
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                where = f"{path} line {n}"
                record = _json(line, where)
                yield path, where, record, _parse_id(record.get("custom_id"), where)


def _answers(records: list, expected: dict) -> tuple[dict, int]:
    """Every line's answer, checked against the requests the options render; the first line
    that does not match stops the import before anything is stored."""
    by_item = {(k[0], k[1], k[2]): k for k in expected}
    answers: dict[tuple, tuple] = {}
    failed = 0
    for path, where, record, key in records:
        _check_key(key, where, expected, by_item)
        response = record.get("response") or {}
        if record.get("error") or response.get("status_code", 200) != 200:
            failed += 1
            continue
        body = response.get("body")
        if not isinstance(body, dict) or not body.get("choices"):
            raise CodesignError(f"{where}: no answer in its response body")
        model = body.get("model", "")
        runtime = f"openai batch output {path.name}: model {model}"
        engine = {"name": "batch", "file": path.name, "model": model}
        answers[key] = (expected[key], generation_from(body), runtime, engine)
    return answers, failed


def _json(line: str, where: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        raise CodesignError(
            f"{where}: not JSON (a batch output file has one object per line)"
        ) from None
    if not isinstance(record, dict):
        raise CodesignError(f"{where}: not a batch output record")
    return record


def _parse_id(cid: Any, where: str) -> tuple:
    try:
        d = json.loads(cid)
        if d["tag"] != ID_TAG:
            raise ValueError(d["tag"])
        return (d["vkey"], d["suite"], d["item"], d["protocol"], d["hash"], d["variant"])
    except (TypeError, ValueError, KeyError):
        raise CodesignError(
            f"{where}: custom_id {cid!r} was not written by codesign export"
        ) from None


def _check_key(key: tuple, where: str, expected: dict, by_item: dict) -> None:
    if key in expected:
        return
    label, suite, item = key[5], key[1], key[2]
    known = by_item.get(key[:3])
    if known is None:
        raise CodesignError(
            f"{where}: {label} {suite} item {item} is not an item of this command (another "
            "store, variant, --limit, --data-seed or --data?)"
        )
    if known[3] != key[3]:
        raise CodesignError(f"{where}: prompt protocol {key[3]!r}, this command's is {known[3]!r}")
    raise CodesignError(
        f"{where}: the request's hash differs from the prompt this command renders for "
        f"{label} {suite} item {item} (other options or another tokenizer)"
    )
