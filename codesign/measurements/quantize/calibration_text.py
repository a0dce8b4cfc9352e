"""Calibration text for GPTQ/AWQ: a hub dataset, a local text/jsonl file, or the offline default.

The offline default is English prose that ships with every Python: the docstrings of a fixed
list of standard-library modules, shuffled with the seed. It is drawn from no evaluation set
(no MMLU, AdvGLUE, ETHICS, Adult or OOD text), so calibration cannot leak into a score.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import random
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from codesign.errors import CodesignError

OFFLINE_DEFAULT = "python-docstrings"

_DOC_MODULES = [
    "abc",
    "argparse",
    "array",
    "ast",
    "asyncio",
    "base64",
    "bisect",
    "calendar",
    "cmd",
    "codecs",
    "collections",
    "colorsys",
    "concurrent.futures",
    "configparser",
    "contextlib",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "dis",
    "doctest",
    "email",
    "enum",
    "filecmp",
    "fnmatch",
    "fractions",
    "ftplib",
    "functools",
    "getopt",
    "gettext",
    "glob",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http.client",
    "http.server",
    "imaplib",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "locale",
    "logging",
    "lzma",
    "mailbox",
    "math",
    "mimetypes",
    "numbers",
    "operator",
    "optparse",
    "os",
    "pathlib",
    "pdb",
    "pickle",
    "pkgutil",
    "platform",
    "plistlib",
    "poplib",
    "pprint",
    "profile",
    "queue",
    "quopri",
    "random",
    "re",
    "sched",
    "secrets",
    "selectors",
    "shelve",
    "shlex",
    "shutil",
    "signal",
    "smtplib",
    "socket",
    "socketserver",
    "sqlite3",
    "ssl",
    "statistics",
    "string",
    "struct",
    "subprocess",
    "symtable",
    "tarfile",
    "tempfile",
    "textwrap",
    "threading",
    "time",
    "timeit",
    "tokenize",
    "trace",
    "traceback",
    "types",
    "typing",
    "unittest",
    "urllib.parse",
    "urllib.request",
    "uuid",
    "warnings",
    "wave",
    "weakref",
    "xml.dom.minidom",
    "zipfile",
    "zipimport",
    "zlib",
]


@dataclass(frozen=True)
class CalibrationSpec:
    """What calibration data a quantization used; part of every variant's cache key."""

    source: str = OFFLINE_DEFAULT
    n_samples: int = 8
    seq_len: int = 128
    seed: int = 0
    text_field: str = "text"

    def describe(self) -> str:
        return f"{self.source} ({self.n_samples} × {self.seq_len} tokens, seed {self.seed})"


def _docstring_paragraphs() -> list[str]:
    paragraphs: list[str] = []
    with warnings.catch_warnings():  # importing some modules warns of deprecations
        warnings.simplefilter("ignore")
        for name in _DOC_MODULES:
            paragraphs.extend(_module_paragraphs(name))
    return paragraphs


def _module_paragraphs(name: str) -> list[str]:
    try:
        module = importlib.import_module(name)
    except ImportError:
        return []
    docs = [inspect.getdoc(module) or ""]
    for attr in sorted(vars(module)):
        obj = getattr(module, attr)
        if attr.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            docs.append(inspect.getdoc(obj) or "")
    paragraphs = []
    for doc in docs:
        for para in doc.split("\n\n"):
            text = " ".join(para.split())
            if len(text) >= 80 and not text.startswith((">>>", "..")):
                paragraphs.append(text)
    return paragraphs


def _file_texts(path: Path, field: str) -> list[str]:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CodesignError(f"cannot read calibration file {path}: {exc}") from None
    if path.suffix == ".jsonl":
        texts = []
        for n, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                texts.append(str(json.loads(line)[field]))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise CodesignError(
                    f"calibration file {path} line {n}: not a JSON object with a {field!r} field"
                ) from None
        return texts
    return [p.strip() for p in raw.split("\n\n") if p.strip()]


def _hub_texts(dataset_id: str, field: str) -> list[str]:
    from codesign.hub import unreachable_reason

    name, _, config = dataset_id.partition(":")
    offline = unreachable_reason()
    if offline and not _in_datasets_cache(name):
        raise CodesignError(
            f"--calibration {dataset_id!r}: not a local file, not in the Hugging Face datasets "
            f"cache, and the hub is offline ({offline})"
        )
    if offline:  # read the cached copy without the hub client's retries
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    try:
        from datasets import load_dataset

        ds = load_dataset(name, config or None, split="train")
        return [str(t) for t in ds[field]]
    except Exception as exc:  # the hub client raises many types; all mean "not available"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CodesignError(
            f"calibration dataset {dataset_id!r} is not available: {first}"
        ) from None


def _in_datasets_cache(name: str) -> bool:
    """Whether the datasets library keeps a copy of hub dataset ``name`` (its cache folders
    are named ``owner___name``)."""
    root = os.environ.get("HF_DATASETS_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.expanduser("~/.cache/huggingface"), "datasets"
    )
    return Path(root, name.replace("/", "___")).exists()


def calibration_texts(spec: CalibrationSpec) -> list[str]:
    """The raw texts behind a spec, in a seeded order."""
    if spec.source == OFFLINE_DEFAULT:
        texts = _docstring_paragraphs()
    elif Path(spec.source).expanduser().exists() or spec.source.endswith((".txt", ".jsonl")):
        texts = _file_texts(Path(spec.source).expanduser(), spec.text_field)
    else:
        texts = _hub_texts(spec.source, spec.text_field)
    if not texts:
        raise CodesignError(f"calibration source {spec.source!r} holds no text")
    random.Random(spec.seed).shuffle(texts)
    return texts


def check_enough_text(spec: CalibrationSpec) -> None:
    """Refuse, before any store or model is touched, a source too short for its windows for
    any tokenizer: a token covers at least one byte (byte-level BPE, byte-fallback
    SentencePiece), so the texts' UTF-8 bytes plus one end-of-text token each bound the
    tokens from above. The exact count is checked once the tokenizer is loaded."""
    texts = calibration_texts(spec)
    most = sum(len(t.encode()) + 1 for t in texts)
    need = spec.n_samples * spec.seq_len
    if most < need:
        raise CodesignError(
            f"--calibration {spec.source!r}: its {most:,} bytes of text give at most {most:,} "
            f"tokens; --calib-samples {spec.n_samples} × --calib-seq-len {spec.seq_len} = "
            f"{need:,} are needed"
        )


def calibration_token_ids(spec: CalibrationSpec, tokenizer) -> list[list[int]]:
    """``n_samples`` windows of exactly ``seq_len`` tokens from the concatenated texts."""
    eos = tokenizer.eos_token or ""
    stream: list[int] = []
    need = spec.n_samples * spec.seq_len
    for text in calibration_texts(spec):
        stream.extend(tokenizer(text + eos, add_special_tokens=False)["input_ids"])
        if len(stream) >= need:
            break
    if len(stream) < need:
        raise CodesignError(
            f"calibration source {spec.source!r} gives {len(stream)} tokens; "
            f"{spec.n_samples} × {spec.seq_len} = {need} needed"
        )
    return [stream[i * spec.seq_len : (i + 1) * spec.seq_len] for i in range(spec.n_samples)]


def calibration_fingerprint(spec: CalibrationSpec, token_ids: list[list[int]]) -> str:
    """Hash of the exact token windows (so a changed file or Python version is a new key)."""
    digest = hashlib.sha256(json.dumps(token_ids).encode())
    digest.update(f"{spec.source}|{spec.seed}|{sys.version_info[:2]}".encode())
    return digest.hexdigest()
