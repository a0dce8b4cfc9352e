"""The work a transformer decoder does: its shape from a Hugging Face config, and its GEMMs.

A `Workload` is one phase (prefill of N tokens, or one decode step at context L) at batch B.
Its `GemmTable` lists, per layer kind, the matrix products (QKV, output, gate/up/down, LM head)
and the attention products over the KV cache, as numpy arrays so costs are computed for every
GEMM at once. Elementwise work (norms, RoPE, softmax, SiLU, residual adds) is counted apart as
operations for a vector unit (`Workload.elementwise_ops`); the embedding lookup is left out (one
row read per token).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from codesign.errors import CodesignError

LINEAR, HEAD, ATTENTION = 0, 1, 2  # GemmTable.kind values


Dim = Annotated[StrictInt, Field(gt=0, le=1_048_576)]  # a width, a count of heads or layers


class ShapeFields(BaseModel):
    """The config.json fields a cost shape is read from, each with its type and range, and the
    rules between them (heads divide the hidden size unless head_dim is given, KV heads divide
    heads). Other fields of the file are ignored."""

    model_config = ConfigDict(extra="ignore")

    hidden_size: Dim
    num_attention_heads: Dim
    num_hidden_layers: Annotated[StrictInt, Field(gt=0, le=10_000)]
    num_key_value_heads: Dim | None = None
    head_dim: Dim | None = None
    intermediate_size: Dim
    vocab_size: Annotated[StrictInt, Field(gt=0, le=16_777_216)]
    tie_word_embeddings: StrictBool = False
    attention_bias: StrictBool | None = None
    model_type: StrictStr = ""

    @model_validator(mode="after")
    def _heads_fit(self) -> ShapeFields:
        heads, kv = self.num_attention_heads, self.num_key_value_heads
        if self.head_dim is None and self.hidden_size % heads:
            raise ValueError(
                f"num_attention_heads ({heads}) must divide hidden_size ({self.hidden_size}) "
                "when head_dim is not given"
            )
        if kv is not None and heads % kv:
            raise ValueError(
                f"num_key_value_heads ({kv}) must divide num_attention_heads ({heads})"
            )
        return self

    @classmethod
    def read(cls, cfg: Mapping[str, Any], where: str) -> ShapeFields:
        """The fields of ``cfg``, or one line naming the file, the first bad field and why."""
        try:
            return cls.model_validate(dict(cfg))
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"])
            what = f"field {field!r} " if field else ""
            got = f" (got {error['input']!r})" if field and error["type"] != "missing" else ""
            raise CodesignError(
                f"{where}: {what}{_lower_first(error['msg'].removeprefix('Value error, '))}{got}"
            ) from None


@dataclass(frozen=True)
class ModelShape:
    """The dimensions of a decoder-only transformer that its cost depends on."""

    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied_embeddings: bool
    qkv_bias: bool = False
    source: str = ""

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], name: str | None = None, source: str = ""
    ) -> ModelShape:
        """Read a Hugging Face config.json dict (Llama, Qwen2, Mistral style keys), every field
        checked (ShapeFields): a bad one is one line naming the file and the field."""
        where = source or name or "model config"
        cfg = config.get("text_config", config) if isinstance(config, Mapping) else config
        if not isinstance(cfg, Mapping):
            bad = "text_config" if isinstance(config, Mapping) else "the file"
            raise CodesignError(f"{where}: {bad} must be a mapping of config fields, got {cfg!r}")
        fields = ShapeFields.read(cfg, where)
        model_type = fields.model_type
        return cls(
            name=name or str(cfg.get("_name") or cfg.get("_name_or_path") or model_type or "model"),
            hidden=fields.hidden_size,
            layers=fields.num_hidden_layers,
            heads=fields.num_attention_heads,
            kv_heads=fields.num_key_value_heads or fields.num_attention_heads,
            head_dim=fields.head_dim or fields.hidden_size // fields.num_attention_heads,
            intermediate=fields.intermediate_size,
            vocab=fields.vocab_size,
            tied_embeddings=fields.tie_word_embeddings,
            qkv_bias=(
                fields.attention_bias
                if fields.attention_bias is not None
                else model_type == "qwen2"
            ),
            source=source or str(cfg.get("_source", "")),
        )

    def linear_shapes(self) -> list[tuple[str, int, int]]:
        """(name, in_features K, out_features N) of the quantizable linears of one layer, with
        Q/K/V and gate/up fused as inference engines run them (same weights and MACs)."""
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        h, i = self.hidden, self.intermediate
        return [("qkv", h, q + 2 * kv), ("o", q, h), ("gate_up", h, 2 * i), ("down", i, h)]

    @property
    def linear_params(self) -> int:
        """Weights of every quantizable linear (all layers)."""
        return self.layers * sum(k * n for _, k, n in self.linear_shapes())

    @property
    def unquantized_params(self) -> int:
        """Weights kept at 16 bits: embeddings, untied LM head, norms, QKV biases."""
        embed = self.vocab * self.hidden
        head = 0 if self.tied_embeddings else embed
        norms = (2 * self.layers + 1) * self.hidden
        bias = (
            self.layers * (self.heads + 2 * self.kv_heads) * self.head_dim if self.qkv_bias else 0
        )
        return embed + head + norms + bias

    @property
    def params(self) -> int:
        return self.linear_params + self.unquantized_params


@dataclass(frozen=True, eq=False)
class GemmTable:
    """The GEMMs of one phase, one entry per layer kind; arrays of length G.

    m, k, n: the product (m x k) @ (k x n) of one layer; count: how many layers; kind: LINEAR
    (quantized weights), HEAD (16-bit LM head) or ATTENTION (activations x KV cache).
    macs: total multiply-accumulates of the entry (all layers). params: total weight elements
    (0 for attention). kv_read / kv_write: total KV-cache elements read / written (each K/V
    element read once: more when attention tiles do not fit on chip, see costs.py).
    queries: query tokens per sequence of an attention entry (1 in decode); q_width: elements
    of one query token's Q (heads x head dim); both 0 for the other entries.
    """

    names: tuple[str, ...]
    kind: np.ndarray
    m: np.ndarray
    k: np.ndarray
    n: np.ndarray
    count: np.ndarray
    macs: np.ndarray
    params: np.ndarray
    kv_read: np.ndarray
    kv_write: np.ndarray
    queries: np.ndarray
    q_width: np.ndarray

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class Workload:
    """One phase of inference: `prefill` of `tokens` prompt tokens or one `decode` step at
    `context` cached tokens (the new one included), for `batch` sequences; KV cache at
    `kv_bits`. Build with `Workload.decode(...)` or `Workload.prefill(...)`."""

    model: ModelShape
    phase: str
    tokens: int
    batch: int = 1
    kv_bits: int = 16

    def __post_init__(self) -> None:
        if self.phase not in ("decode", "prefill"):
            raise CodesignError(f"phase must be 'decode' or 'prefill', got {self.phase!r}")
        for field in ("tokens", "batch", "kv_bits"):
            if int(getattr(self, field)) <= 0:
                raise CodesignError(f"workload {field} must be positive")

    @classmethod
    def decode(cls, model: ModelShape, context: int, batch: int = 1, kv_bits: int = 16) -> Workload:
        return cls(model, "decode", context, batch, kv_bits)

    @classmethod
    def prefill(cls, model: ModelShape, tokens: int, batch: int = 1, kv_bits: int = 16) -> Workload:
        return cls(model, "prefill", tokens, batch, kv_bits)

    @property
    def context(self) -> int:
        """Tokens held in the KV cache at the end of this phase."""
        return self.tokens

    def gemms(self) -> GemmTable:
        return _gemm_table(self)

    def kv_cache_bytes(self) -> float:
        """KV-cache bytes of one sequence batch at this context (K and V, all layers)."""
        m = self.model
        per_token = 2 * m.layers * m.kv_heads * m.head_dim * self.kv_bits / 8
        return per_token * self.context * self.batch

    def elementwise_ops(self) -> float:
        """Vector-unit operations of this phase, all layers (a stated count, not measured):
        per token and layer two RMSNorms (4 ops per element), RoPE on Q and K (3 per element),
        SiLU-gate on the intermediate (5 per element), two residual adds; softmax over every
        query-key score (5 per score); the final norm before the LM head."""
        m = self.model
        rows = self.batch * (self.tokens if self.phase == "prefill" else 1)
        rope = (m.heads + m.kv_heads) * m.head_dim * 3
        per_token = 2 * 4 * m.hidden + rope + 5 * m.intermediate + 2 * m.hidden
        if self.phase == "decode":
            pairs = float(self.tokens)
        else:
            pairs = self.tokens * (self.tokens + 1) / 2
        softmax = 5.0 * m.heads * pairs * self.batch
        return float(rows * per_token * m.layers + softmax * m.layers + 4 * m.hidden * self.batch)

    def describe(self) -> str:
        if self.phase == "decode":
            return f"decode step at context {self.tokens}, batch {self.batch}"
        return f"prefill of {self.tokens} tokens, batch {self.batch}"


@cache
def _gemm_table(w: Workload) -> GemmTable:
    m, b = w.model, w.batch
    rows = b * w.tokens if w.phase == "prefill" else b
    entries: list[tuple] = []
    for name, k, n in m.linear_shapes():
        entries.append(
            (name, LINEAR, rows, k, n, m.layers, rows * k * n * m.layers, k * n * m.layers)
            + (0, 0, 0, 0)
        )
    # LM head: logits of the last position only (generate keeps one position).
    entries.append(
        ("lm_head", HEAD, b, m.hidden, m.vocab, 1, b * m.hidden * m.vocab, m.hidden * m.vocab)
        + (0, 0, 0, 0)
    )
    kv_elems = 2 * m.kv_heads * m.head_dim * m.layers * b  # K and V, per token
    if w.phase == "decode":
        pairs = float(w.tokens)  # one query against L keys, per head
        read, write = kv_elems * w.tokens, kv_elems
    else:
        pairs = w.tokens * (w.tokens + 1) / 2  # causal
        read, write = kv_elems * w.tokens, kv_elems * w.tokens
    # scores (q . k) and values (p . v): 2 MACs per head dimension per query-key pair
    attn_macs = 2 * b * m.heads * m.head_dim * pairs * m.layers
    queries = w.tokens if w.phase == "prefill" else 1
    entries.append(
        ("attention", ATTENTION, rows, m.head_dim, w.tokens, m.layers, attn_macs, 0, read, write)
        + (queries, m.heads * m.head_dim)
    )
    cols = list(zip(*entries, strict=True))
    arr = [np.asarray(c, dtype=float) for c in cols[2:]]
    return GemmTable(
        names=tuple(cols[0]),
        kind=np.asarray(cols[1], dtype=np.int64),
        m=arr[0],
        k=arr[1],
        n=arr[2],
        count=arr[3],
        macs=arr[4],
        params=arr[5],
        kv_read=arr[6],
        kv_write=arr[7],
        queries=arr[8],
        q_width=arr[9],
    )


# --- model presets -------------------------------------------------------------------------------
def _preset_files() -> dict[str, Path]:
    root = resources.files("codesign.simulators.model_presets")
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith(".json")}


@cache
def _preset_index() -> dict[str, tuple[str, Path]]:
    index: dict[str, tuple[str, Path]] = {}
    for key, path in _preset_files().items():
        data = json.loads(path.read_text())
        for alias in [key, data.get("_name", key), *data.get("_aliases", [])]:
            index[str(alias).lower()] = (key, path)
    return index


def model_presets() -> list[str]:
    """Names of the bundled model shapes."""
    return sorted(_preset_files())


def load_model(name_or_path: str) -> ModelShape:
    """A bundled preset by name or alias, a config.json path, or a directory holding one."""
    hit = _preset_index().get(name_or_path.lower())
    if hit is not None:
        key, path = hit
        data = json.loads(path.read_text())
        return ModelShape.from_config(data, name=data.get("_name", key), source=data["_source"])
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        known = ", ".join(model_presets())
        raise CodesignError(
            f"unknown model {name_or_path!r}: not a preset ({known}) nor a config.json path"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CodesignError(f"{path}: not a text file (a model shape is a config.json)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise CodesignError(f"{path}: not a readable JSON config ({exc})") from None
    if not isinstance(data, dict):
        raise CodesignError(f"{path}: a config.json must hold a JSON object")
    return ModelShape.from_config(data, name=path.parent.name or path.stem, source=str(path))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
