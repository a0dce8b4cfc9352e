"""`python -m codesign.simulators`: model an ensemble on a unit and print a table, list the
bundled units and schedules, or `validate` the model against stored profiles.

Every printed number is labelled as modelled (analytical, <unit> spec). A user error is one
line on stderr (`error: ...`) and exit status 2, never a traceback; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console

from codesign.commandline.interrupts import on_interrupt, run_cli
from codesign.commandline.output import print_json
from codesign.commandline.parsers import make_parser
from codesign.errors import CodesignError
from codesign.simulators import table as fmt
from codesign.simulators.design import DesignBatch
from codesign.simulators.families import FAMILIES
from codesign.simulators.normalise import RULE as NODE_RULE
from codesign.simulators.normalise import normalise_node
from codesign.simulators.ppa import evaluate
from codesign.simulators.schedules import SCHEDULES
from codesign.simulators.spec import UnitSpec, bundled_units, load_unit, parse_overrides
from codesign.simulators.variants import (
    STORAGE_RULE,
    Variant,
    one_nested_set,
    variants_from_bits,
)
from codesign.simulators.workload import Workload, load_model, model_presets
from codesign.validation import BATCH, FRACTION, TOKENS, Number

GROUP = Number(int, 1, 65_536)
# --normalise-node: classic scaling between the nodes of published silicon (3 nm to 250 nm)
NODE_NM = Number(float, 3, 250)


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"want comma-separated integers, got {text!r}") from None


def _all_fields() -> list[str]:
    """Every field name any registered family declares (for --set's help)."""
    return sorted({f.name for name in FAMILIES.names() for f in FAMILIES.get(name).fields})


def _float_list(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"want comma-separated numbers, got {text!r}") from None


def _group(text: str) -> int | None:
    if text.lower() in ("none", "channel", "-1"):
        return None
    try:
        return GROUP(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"want 'none' or {GROUP.describe()}, got {text!r}"
        ) from None


DESCRIPTION = """\
Analytical PPA model of multi-precision compute units and ensemble schedules (modelled, not
measured): each member alone and the ensemble under each schedule, decode and prefill.

  python -m codesign.simulators --unit bitfusion --bits 3,4,8 --schedule all
  python -m codesign.simulators --list
  python -m codesign.simulators validate --published     (or --store URL: measured profiles)
"""


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("simulators", DESCRIPTION)
    p.add_argument("--list", action="store_true", help="show bundled units, schedules, models")
    p.add_argument(
        "--unit",
        default="bitfusion",
        help=f"bundled unit ({', '.join(bundled_units())}) or a YAML spec path",
    )
    p.add_argument(
        "--model",
        default="smollm2-135m",
        help=f"model shape: a preset ({', '.join(model_presets())}) or a HF config.json path",
    )
    p.add_argument(
        "--bits",
        type=_int_list,
        default=[3, 4, 8],
        help="bit-widths of the ensemble's members, comma list (16 = the dense model) "
        "(default: 3,4,8)",
    )
    p.add_argument(
        "--method",
        default="gptq",
        choices=("gptq", "awq", "anyprec"),
        help="weight format of the members: independent GPTQ/AWQ quantizations, or one nested "
        "any-precision set (its members share bit-planes)",
    )
    p.add_argument("--group-size", type=_group, default=128, help="group size or 'none'")
    _workload_options(p)
    _unit_options(p)
    return p


def _workload_options(p: argparse.ArgumentParser) -> None:
    """How the ensemble runs: schedule, batch, lengths, KV width, cascade measurements."""
    p.add_argument(
        "--schedule",
        default="sequential",
        help=f"schedule(s): a comma list of {', '.join(SCHEDULES.names())}, or 'all'",
    )
    p.add_argument("--batch", type=BATCH, default=1, help="sequences decoded together")
    p.add_argument("--context", type=TOKENS, default=512, help="decode context length (tokens)")
    p.add_argument("--prompt-tokens", type=TOKENS, default=128, help="prefill length (tokens)")
    p.add_argument(
        "--kv-bits", type=Number(int, 1, 32), default=16, help="bits per stored K/V element"
    )
    p.add_argument("--agreement", type=FRACTION, default=None, help="cascade: measured agreement")
    p.add_argument(
        "--run-probability",
        type=_float_list,
        default=None,
        help="cascade: measured probability that each member runs, comma list (0-1)",
    )


def _unit_options(p: argparse.ArgumentParser) -> None:
    """How the unit is reported and changed: node normalisation, spec overrides, JSON."""
    p.add_argument(
        "--normalise-node",
        type=NODE_NM,
        default=None,
        metavar="NM",
        help="scale area and energy to this node (classic scaling, stated in the output)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a field of the unit's spec, e.g. --set dram.bandwidth_gbs=51.2 (a field "
        "of the unit's family, checked against its declared range; fields of any family: "
        f"{', '.join(_all_fields())})",
    )
    p.add_argument(
        "--json", action="store_true", help="print the rows as JSON (numbers in SI units)"
    )


def check_args(args: argparse.Namespace) -> None:
    """Every numeric option in range, each error naming its flag (before any modelling)."""
    if not args.bits:
        raise CodesignError("--bits: give at least one bit-width")
    bad = [b for b in args.bits if not 1 <= b <= 16]
    if bad:
        raise CodesignError(f"--bits: {bad[0]} is not a bit-width between 1 and 16")
    for p in args.run_probability or ():
        FRACTION.check(p, "--run-probability values")


def _schedules(text: str) -> list[str]:
    if text == "all":
        return SCHEDULES.names()
    names = [s.strip() for s in text.split(",") if s.strip()]
    for name in names:
        SCHEDULES.get(name)
    return names


def _record(label: str, decode: dict, prefill: dict) -> dict[str, object]:
    """One configuration's modelled numbers (SI units) for the table or --json."""
    feasible = bool(decode["feasible"][0])
    bound = "memory" if bool(decode["memory_bound"][0]) else "compute"
    return {
        "configuration": label,
        "decode_latency_s": float(decode["latency_s"][0]),
        "decode_energy_per_token_j": float(decode["energy_per_token_j"][0]),
        "decode_power_w": float(decode["average_power_w"][0]),
        "prefill_latency_s": float(prefill["latency_s"][0]),
        "prefill_energy_j": float(prefill["energy_j"][0]),
        "area_mm2": float(decode["area_mm2"][0]),
        "memory_bytes": float(decode["memory_bytes"][0]),
        "decode_bound": bound if feasible else "cannot run",
    }


def _row(r: dict) -> list[str]:
    return [
        str(r["configuration"]),
        fmt.seconds(r["decode_latency_s"]),
        fmt.joules(r["decode_energy_per_token_j"]),
        fmt.watts(r["decode_power_w"]),
        fmt.seconds(r["prefill_latency_s"]),
        fmt.joules(r["prefill_energy_j"]),
        fmt.area(r["area_mm2"]),
        fmt.nbytes(r["memory_bytes"]),
        str(r["decode_bound"]),
    ]


def run_model(args: argparse.Namespace, out: Console) -> None:
    spec = load_unit(args.unit, parse_overrides(args.overrides))
    shape = load_model(args.model)
    variants = variants_from_bits(args.bits, args.method, args.group_size)
    schedules = _schedules(args.schedule)
    decode = Workload.decode(shape, args.context, args.batch, args.kv_bits)
    prefill = Workload.prefill(shape, args.prompt_tokens, args.batch, args.kv_bits)
    designs = DesignBatch.from_specs([spec])
    cascade = {"agreement": args.agreement, "run_probability": args.run_probability}
    node = args.normalise_node

    def run(members: Sequence[Variant], schedule: str, **extra: object) -> list[dict]:
        outs = [evaluate(designs, w, members, schedule, **extra) for w in (decode, prefill)]
        return [normalise_node(o, node) if node else o for o in outs]

    records = []
    for v in variants:
        records.append(_record(f"{v.key} alone", *run([v], "sequential")))
    for name in schedules:
        extra = cascade if name == "cascade" else {}
        records.append(_record(f"ensemble, {name}", *run(variants, name, **extra)))
    rates = designs.rates()
    where = _node_text(float(rates.tech_nm[0]), node)
    columns = [
        "configuration",
        f"decode latency / step (ctx {args.context})",
        "decode energy / token",
        "decode power",
        f"prefill latency ({args.prompt_tokens} tok)",
        "prefill energy / request",
        f"area ({rates.area_scope}, {where})",
        "memory (weights + KV)",
        "decode bound",
    ]
    title = f"{spec.label()}: {shape.name}, batch {args.batch}, {spec.family} unit"
    caption = _caption(spec, variants, schedules, args)
    if node:
        caption += f"\nArea and energy normalised to {node:g} nm: {NODE_RULE}."
    if args.json:
        head = {"title": title, "origin": "modelled (analytical), not measured"}
        head |= {"area_scope": rates.area_scope, "node": where, "notes": caption.splitlines()}
        print_json(head | {"rows": records})
        return
    rows = [_row(r) for r in records]
    out.print(fmt.table(title, columns, rows, caption, numeric=True))


def _node_text(tech_nm: float, node: float | None) -> str:
    if node:
        return f"at {node:g} nm" + (f" from {tech_nm:g} nm" if tech_nm == tech_nm else "")
    return f"{tech_nm:g} nm" if tech_nm == tech_nm else "node unknown"


def _caption(
    spec: UnitSpec, variants: Sequence[Variant], schedules: list[str], args: argparse.Namespace
) -> str:
    dense = spec.params.get("dense_weight_bits", 16)
    group = f"group size {args.group_size}" if args.group_size else "per-channel scales"
    lines = [
        "All numbers modelled (analytical roofline per GEMM), not measured. Energy / token: one"
        " decode step's energy over the batch; power: that energy over the step's latency.",
        f"Weights: {args.method}, {group} (scales fp16, zeros packed); "
        f"embeddings and LM head stay {dense}-bit. KV cache "
        f"{args.kv_bits}-bit; memory = stored weights + KV caches of members held at once.",
        f"Sub-byte storage: {STORAGE_RULE}.",
    ]
    if "cascade" in schedules and args.agreement is None and args.run_probability is None:
        lines.append("cascade: no measured agreement given, so every member runs (worst case).")
    planes = "shared-fetch" in schedules or spec.params.get("weight_storage") == "bitplane"
    if planes and len(variants) > 1 and not one_nested_set(variants):
        lines.append(
            f"bit-plane storage: {args.method} members are independent quantizations, so each "
            "member's planes are stored and fetched apart (a nested set shares them: --method "
            "anyprec)."
        )
    elif "shared-fetch" in schedules:
        lines.append("shared-fetch stores the nested set once, as the widest member's planes.")
    unsupported = [v.key for v in variants if not _runs(spec, v)]
    if unsupported:
        lines.append(f"{spec.name} cannot run {', '.join(unsupported)} (width not supported).")
    lines.extend(spec.notes)
    if spec.source:
        lines.append(f"Spec source: {spec.source}")
    return "\n".join(lines)


def _runs(spec: UnitSpec, variant: Variant) -> bool:
    rates = DesignBatch.from_specs([spec]).rates()
    return bool(rates.macs_per_s[0, :, variant.bits].max() > 0)


def list_all(out: Console) -> None:
    units = []
    for name in bundled_units():
        spec = load_unit(name, resolve=False)
        units.append([name, spec.family, spec.description])
    out.print(fmt.table("Bundled compute units", ["unit", "family", "description"], units, ""))
    fams = [[n, FAMILIES.get(n).description] for n in FAMILIES.names()]
    out.print(fmt.table("Unit families", ["family", "description"], fams, ""))
    scheds = [[n, SCHEDULES.get(n).description] for n in SCHEDULES.names()]
    out.print(fmt.table("Ensemble schedules", ["schedule", "description"], scheds, ""))
    models = [[n, load_model(n).name, load_model(n).source] for n in model_presets()]
    out.print(fmt.table("Model presets", ["model", "name", "config source"], models, ""))


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out = fmt.console()
    on_interrupt("nothing to keep (the simulators store nothing); run the command again")
    if argv[:1] == ["validate"]:
        from codesign.simulators.validate_cli import main as validate_main

        return validate_main(argv[1:], out)
    args = build_parser().parse_args(argv)
    if args.list:
        list_all(out)
        return 0
    check_args(args)
    run_model(args, out)
    return 0


def entry(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (errors.py: 0 done, 2 bad input, 130 Ctrl-C)."""
    return run_cli(_main, argv)


main = entry  # the name the tests and older scripts call
