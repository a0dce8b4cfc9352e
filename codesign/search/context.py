"""Everything a trial needs, built once per search run: trust table, space, units, workloads.

`Settings` is what the user asked for (the command line); `build_context` joins it with the
store (trust by voting over stored predictions, measured profiles) and the simulators (unit
specs, the cost shape, the workload) into a `SearchContext`, which is plain data, so worker
processes receive it whole and no trial opens the store.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codesign.ensembles.scores import VOTE_RULES
from codesign.errors import CodesignError
from codesign.scoring.profiles import DEFAULT_PROFILE
from codesign.scoring.stored import Member, StoredPredictions, load_predictions
from codesign.search import parameters as _parameters  # noqa: F401 - registers the groups
from codesign.search.parameters.unit import design, knobs_for
from codesign.search.space import DENSE, Space, options, resolve_choices
from codesign.search.trust import MMLU_SUITE, TrustTable, build_trust_table
from codesign.simulators import (
    DesignBatch,
    ModelShape,
    UnitSpec,
    Variant,
    Workload,
    evaluate,
    load_model,
    load_unit,
    model_presets,
)
from codesign.store import Store

AREA_NODE_NM = 45.0  # the bundled accelerators' node; classic scaling's trusted range
EACH_SCOPE = "each"


def scope_key(scope: str) -> str:
    """A unit's area scope as a short name: "array" (array + SRAM + DRAM PHY), "die"."""
    return scope.split()[0].lower() if scope else "unknown"


@dataclass(frozen=True)
class Settings:
    """What the search is asked: target, constraints, workload and which choices to search."""

    store: str
    model: str | None = None
    deploy_shape: str | None = None
    budget_gb: float = 24.0
    mmlu_tolerance: float = 5.0
    mmlu_floor: float | None = None
    max_area_mm2: float | None = None
    area_node_nm: float | None = AREA_NODE_NM  # every unit's area at this node (None: its own)
    area_scope: str = EACH_SCOPE  # compare area within each scope, or search one scope's units
    max_refusal: float = 0.5  # highest unanswered share of the trust items (1: no bound)
    prompt_tokens: int = 256
    new_tokens: int = 8
    batch: int = 1
    scoring: str = DEFAULT_PROFILE  # the scoring profile that parses and scores stored outputs
    # Every parameter group's options by name (e.g. vote_rules, units), as the groups declare
    # them; `Settings(store=..., choices={"units": ("stripes",)})` leaves the rest at default.
    choices: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", resolve_choices(self.choices))

    def choice(self, name: str) -> Any:
        return self.choices[name]


@dataclass
class SearchContext:
    settings: Settings
    trust: TrustTable
    space: Space
    shape: ModelShape
    shape_label: str
    prefill: Workload
    decode: Workload
    mmlu_suite: str | None
    mmlu_floor: float | None
    mmlu_note: str
    variants: dict[str, Variant]  # member key -> what the simulators model
    profiles: dict[str, dict[str, Any]]  # member key -> measured profile (batch 1), if any
    from_cache: bool = False
    preds: StoredPredictions | None = None  # the stored labels (for trust intervals)
    mmlu_reference_ci95: tuple[float, float] | None = None  # the floor's reference, Wilson
    _designs: dict = field(default_factory=dict, repr=False)

    @property
    def mmlu_items(self) -> int:
        """Questions every variant answered in the floor's suite."""
        return questions(self.preds, self.mmlu_suite)

    def mmlu_interval(self, score: float | None) -> tuple[float, float]:
        """A configuration's MMLU interval (Wilson 95%, over the stored questions)."""
        from codesign.ensembles.bootstrap import accuracy_interval  # scipy: after the checks

        return accuracy_interval(math.nan if score is None else score, self.mmlu_items)

    def mmlu_unresolved(self) -> str | None:
        """Why the MMLU floor cannot bind at its tolerance (None when it can): a reference
        interval wider than the tolerance tells a real drop from sampling noise no better
        than chance."""
        ci = self.mmlu_reference_ci95
        if self.mmlu_floor is None or self.settings.mmlu_floor is not None or ci is None:
            return None
        half = (ci[1] - ci[0]) / 2
        if half <= self.settings.mmlu_tolerance:
            return None
        return (
            f"is too coarse to bind at its tolerance: the reference's 95% interval is ±{half:.1f} "
            "points "
            f"on {self.mmlu_items} questions, wider than the {self.settings.mmlu_tolerance:g}-"
            f"point tolerance (measure more: `python -m codesign.measurements evaluate "
            f"--suites {self.mmlu_suite} --suite-limit {self.mmlu_suite}=N`)"
        )

    @property
    def model(self) -> str:
        return self.trust.model

    def statement(self, unit: str) -> str:
        """The sentence every output carries."""
        return f"trust measured on {self.model}, cost modelled for {self.shape_label} on {unit}"

    def workload_text(self) -> str:
        s = self.settings
        return (
            f"one request: prefill of {s.prompt_tokens} tokens + {s.new_tokens} decode steps, "
            f"batch {s.batch} ({self.shape_label} shape)"
        )

    def unit_design(self, unit: str, values: dict[str, Any]) -> UnitSpec:
        """The candidate unit with searched field values (checked once, then cached)."""
        key = (unit, tuple(sorted(values.items())))
        if key not in self._designs:
            try:
                self._designs[key] = design(self.space.units[unit], values)
            except CodesignError as exc:
                self._designs[key] = exc
        found = self._designs[key]
        if isinstance(found, CodesignError):
            raise found
        return found

    def signature(self) -> dict[str, Any]:
        """What makes two runs the same study: trials of different signatures don't mix."""
        s = self.settings
        return {
            "model": self.model,
            "scoring": self.trust.profile,
            "predictions": self.trust.fingerprint[:16],
            "cost_shape": self.shape_label,
            "budget_gb": s.budget_gb,
            "mmlu": [self.mmlu_suite, self.mmlu_floor],
            "max_area_mm2": s.max_area_mm2,
            "area": [s.area_node_nm, s.area_scope],
            "max_refusal": ["unanswered_rate", s.max_refusal],
            "workload": [s.prompt_tokens, s.new_tokens, s.batch],
            "space": self.space.describe(),
        }

    def digest(self) -> str:
        text = json.dumps(self.signature(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:6]


def check_settings(settings: Settings) -> None:
    """Read every unit spec and the deployment shape the settings name (one-line errors),
    before any store is opened or model measured."""
    _units(settings.choice("units"), settings.area_scope)
    if settings.deploy_shape:
        load_model(settings.deploy_shape)


def build_context(settings: Settings, store: Store) -> SearchContext:
    """Read the store, vote every reachable ensemble (or take the cached table), build units."""
    preds = load_predictions(store, settings.model, settings.scoring)
    trust, cached = build_trust_table(preds, settings.choice("vote_rules"))
    shape, label = _shape(settings, store, trust.model)
    context = settings.prompt_tokens + settings.new_tokens
    ctx = SearchContext(
        settings=settings,
        trust=trust,
        space=_space(settings, trust),
        shape=shape,
        shape_label=label,
        prefill=Workload.prefill(shape, settings.prompt_tokens, settings.batch),
        decode=Workload.decode(shape, context, settings.batch),
        mmlu_suite=None,
        mmlu_floor=None,
        mmlu_note="",
        variants={m.key: _variant(m) for m in trust.members},
        profiles=_profiles(store, trust),
        from_cache=cached,
        preds=preds,
    )
    ctx.mmlu_suite, ctx.mmlu_floor, ctx.mmlu_note, ctx.mmlu_reference_ci95 = _mmlu_floor(
        settings, trust, preds
    )
    _check_units(ctx)
    return ctx


def _variant(member: Member) -> Variant:
    if member.method == DENSE:
        return Variant.dense()
    return Variant(member.method, member.bits, member.group_size, member.seed)


def _space(settings: Settings, trust: TrustTable) -> Space:
    ladders, dense, dense_alone = _ladders(settings, trust)
    wanted = settings.choice("vote_rules")
    rules = tuple(r for r in wanted if any(k.endswith("|" + r) for k in trust.rows))
    if not rules:
        raise CodesignError(f"no stored ensemble can be voted by {', '.join(wanted)}")
    units = _units(settings.choice("units"), settings.area_scope)
    grid = settings.choice("unit_params") == "grid"
    choices = {opt.name: settings.choice(opt.name) for opt in options() if opt.in_space}
    return Space(
        ladders=ladders,
        dense=dense,
        dense_alone=dense_alone,
        units=units,
        knobs={name: knobs_for(spec) if grid else () for name, spec in units.items()},
        choices=choices | {"vote_rules": rules},
    )


def _ladders(settings: Settings, trust: TrustTable) -> tuple[dict, tuple[str, ...], bool]:
    """Per quantization method: its measured bits, highest first, each with its member keys
    (one per seed); the dense model's key; whether the dense model alone is a choice."""
    dense = tuple(m.key for m in trust.members if m.method == DENSE)
    wanted = settings.choice("methods")
    unknown = sorted(set(wanted or ()) - set(trust.groups) - {DENSE})
    if unknown:
        known = ", ".join(sorted(set(trust.groups) | ({DENSE} if dense else set())))
        raise CodesignError(f"--methods: {', '.join(unknown)} not measured (measured: {known})")
    ladders: dict[str, dict[int, tuple[str, ...]]] = {}
    for method, keys in trust.groups.items():
        if method == DENSE or (wanted is not None and method not in wanted):
            continue
        ladder: dict[int, list[str]] = {}
        members = sorted((trust.member(k) for k in keys), key=lambda m: (-m.bits, m.seed))
        for m in members:
            if m.method != DENSE:
                ladder.setdefault(m.bits, []).append(m.key)
        ladders[method] = {b: tuple(k) for b, k in ladder.items()}
    dense_alone = bool(dense) and (wanted is None or DENSE in wanted)
    if not ladders and not dense_alone:
        raise CodesignError(f"--methods {','.join(wanted or ())}: nothing measured to search")
    return ladders, dense, dense_alone


def _units(names: tuple[str, ...], scope: str = EACH_SCOPE) -> dict[str, UnitSpec]:
    """The candidate units; with one --area-scope, those whose area covers that scope."""
    units: dict[str, UnitSpec] = {}
    for name in names:
        spec = load_unit(name)
        if spec.name in units:
            raise CodesignError(f"two candidate units are named {spec.name!r}: rename one")
        units[spec.name] = spec
    if not units:
        raise CodesignError("--units names no compute unit")
    if scope == EACH_SCOPE:
        return units
    scopes = {name: unit_scope(spec) for name, spec in units.items()}
    kept = {name: spec for name, spec in units.items() if scopes[name] == scope}
    if not kept:
        have = ", ".join(sorted(set(scopes.values())))
        raise CodesignError(
            f"--area-scope {scope}: no candidate unit's area has that scope (theirs: {have})"
        )
    return kept


def unit_scope(spec: UnitSpec) -> str:
    """What the unit's modelled area covers, as `scope_key` names it."""
    return scope_key(DesignBatch.from_specs([spec]).rates().area_scope)


def _shape(settings: Settings, store: Store, model: str) -> tuple[ModelShape, str]:
    """The cost shape: a named deployment shape, or the measured model's own config."""
    if settings.deploy_shape:
        return load_model(settings.deploy_shape), settings.deploy_shape
    config = next((m.config for _, m in store.variants(model) if m.config), None)
    if config and "hidden_size" in (config.get("text_config") or config):
        return ModelShape.from_config(config, name=model, source=f"store config of {model}"), model
    if model in model_presets():
        return load_model(model), model
    raise CodesignError(
        f"the store keeps no config for {model!r}, so its shape is unknown: "
        f"pass --deploy-shape ({', '.join(model_presets())} or a config.json)"
    )


def questions(preds: StoredPredictions | None, suite: str | None) -> int:
    """How many items of ``suite`` every stored variant answered (0 when none)."""
    if preds is None or suite not in preds.suites:
        return 0
    return len(preds.suites[suite].items)


def _mmlu_floor(
    settings: Settings, trust: TrustTable, preds: StoredPredictions
) -> tuple[str | None, float | None, str, tuple[float, float] | None]:
    """(the floor's suite, the floor, how it was set, the reference's 95% interval)."""
    suite = MMLU_SUITE if MMLU_SUITE in trust.suites else None
    if suite is None and "mmlu_gen" in trust.suites:
        suite = "mmlu_gen"
    if settings.mmlu_floor is not None:
        if suite is None:
            raise CodesignError("--mmlu-floor given, but the store holds no MMLU predictions")
        note = f"{suite} ≥ {settings.mmlu_floor:g} (--mmlu-floor)"
        return suite, settings.mmlu_floor, note, None
    if suite is None:
        return None, None, "no MMLU predictions stored: no MMLU floor", None
    rule = next(
        r
        for r in (*VOTE_RULES, *settings.choice("vote_rules"))
        if any(k.endswith("|" + r) for k in trust.rows)
    )  # a single member scores the same under every rule
    singles = {m.key: trust.row([m.key], rule)[suite] for m in trust.members}
    dense = [m.key for m in trust.members if m.method == DENSE]
    if dense:
        ref, what = singles[dense[0]], "the dense model's"
    else:
        ref, what = max(v for v in singles.values() if not math.isnan(v)), "the best variant's"
    floor = ref - settings.mmlu_tolerance
    kind = "log-likelihood, cannot refuse" if suite == "mmlu_ll" else "generative, may refuse"
    from codesign.ensembles.bootstrap import accuracy_interval  # scipy: after the checks

    n = questions(preds, suite)
    ci = accuracy_interval(ref, n)
    note = (
        f"{suite} ≥ {floor:.4g}: {what} {suite} {ref:.1f} [{ci[0]:.1f}, {ci[1]:.1f}] ({n} "
        f"questions, Wilson 95%) minus the {settings.mmlu_tolerance:g}-point tolerance ({kind})"
    )
    return suite, floor, note, ci


def _profiles(store: Store, trust: TrustTable) -> dict[str, dict[str, Any]]:
    """Measured batch-1 decode latency and peak memory of each member, where profiled."""
    keys = {m.key for m in trust.members}
    out: dict[str, dict[str, Any]] = {}
    for p, v, _ in store.profiles():
        if v.key not in keys or p.batch_size != 1:
            continue
        out.setdefault(
            v.key,
            {
                "decode_ms_per_token": p.decode_ms_per_token,
                "peak_memory_gb": p.peak_memory_bytes / 1e9,
                "device": p.device,
                "kernel": ("real low-bit: " if p.real_low_bit else "dequantized: ") + p.kernel,
                "source": f"measured on {p.device}"
                + (" (synthetic weights)" if p.synthetic_weights else ""),
            },
        )
    return out


def _check_units(ctx: SearchContext) -> None:
    """Every candidate unit must give energy and area (a CPU roofline needs power and die)."""
    member = ctx.variants[ctx.trust.members[-1].key]
    for name, spec in ctx.space.units.items():
        out = evaluate(DesignBatch.from_specs([spec]), ctx.decode, [member])
        if math.isnan(float(out["area_mm2"][0])) or (
            bool(out["feasible"][0]) and math.isnan(float(out["energy_j"][0]))
        ):
            raise CodesignError(
                f"unit {name} has no modelled area or energy (set die_area_mm2 and power_w in its "
                "spec) and cannot be searched"
            )


def footprint_floor(settings: Settings, shape_name: str) -> float:
    """A lower bound (GB) on any deployment's memory for a named shape, known before anything is
    measured: the shape at 2 bits (the fewest any method stores) alone, on the candidate unit
    that needs least. A budget under it is refused before the measuring phases run."""
    shape = load_model(shape_name)
    decode = Workload.decode(shape, settings.prompt_tokens + settings.new_tokens, settings.batch)
    least = math.inf
    for spec in _units(settings.choice("units")).values():  # a design batch holds one family
        out = evaluate(DesignBatch.from_specs([spec]), decode, [Variant("gptq", 2, 128)])
        least = min(least, float(np.min(out["memory_bytes"])) / 1e9)
    return least


def smallest_footprint(ctx: SearchContext) -> tuple[float, str, str]:
    """Memory (GB) of the smallest deployment in the space: one member alone, on any unit."""
    best = (math.inf, "", "")
    for name, spec in ctx.space.units.items():
        designs = DesignBatch.from_specs([spec])
        ladders = ctx.space.ladders.values()
        keys = {k for lad in ladders for ks in lad.values() for k in ks} | set(ctx.space.dense)
        for key in sorted(keys):
            out = evaluate(designs, ctx.decode, [ctx.variants[key]])
            gb = float(out["memory_bytes"][0]) / 1e9
            if gb < best[0]:
                best = (gb, ctx.trust.member(key).label, name)
    return best
