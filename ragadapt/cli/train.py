"""ragadapt train METHOD --config FILE [key=value ...]: every training routine from the command line.

The methods, their config classes and their summaries come from `ragadapt.training.METHODS`; `--help` of a
method lists every config field with its help and default (from the dataclass field metadata).
"""

from __future__ import annotations

import argparse
import dataclasses
import typing

HELP = "train a component: `ragadapt train METHOD --help` lists a method's fields"


def _type_name(tp) -> str:
    name = getattr(tp, "__name__", None) or str(tp).replace("typing.", "")
    return name.replace("NoneType", "None")


def field_lines(cls, prefix: str = "") -> list[str]:
    """`name (type, default): help` for every field, nested dataclasses dotted (trainer fields go to TRL)."""
    hints = typing.get_type_hints(cls)
    lines = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "required")
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        nested = tp if dataclasses.is_dataclass(tp) else next((a for a in args if dataclasses.is_dataclass(a)), None)
        lines.append(f"  {prefix}{f.name} ({_type_name(tp)}, default {default!r}): {f.metadata.get('help', '')}")
        if nested is not None and not typing.get_origin(tp) is list:
            lines += field_lines(nested, f"{prefix}{f.name}.")
    return lines


def add_parser(sub) -> None:
    from ragadapt.training import METHODS

    p = sub.add_parser("train", help=HELP, description="Train one component of a RAG system (the others stay "
                       "frozen) or a language model. Methods:\n" + "\n".join(
                           f"  {name:<22} {spec[3]} (adapts: {spec[2]})" for name, spec in METHODS.items()),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    methods = p.add_subparsers(dest="method", metavar="METHOD", required=True)
    for name, (cls, _, adapts, summary) in METHODS.items():
        m = methods.add_parser(
            name, help=summary, description=f"{summary}. Adapts: {adapts}.\n{(cls.__doc__ or '').strip()}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog="config fields (YAML keys; override with key=value, dotted for nesting, e.g. "
                   "trainer.learning_rate=1e-5; `trainer` takes any field of the method's TRL / "
                   "sentence-transformers config):\n" + "\n".join(field_lines(cls)) +
                   "\n\nMulti-GPU: accelerate launch -m ragadapt.cli.main train METHOD --config ...")
        m.add_argument("--config", default=None, help="YAML config file (see configs/train/)")
        m.add_argument("overrides", nargs="*", metavar="key=value",
                       help="override config fields, dotted for nesting: trainer.learning_rate=1e-5 lora.r=8")
        m.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
        m.add_argument("--allow-code", action="store_true",
                       help="allow `module:function` entries (rewards, tools) to import and run that code; a config "
                            "from someone else that names functions is code")


def run(args) -> int:
    import yaml

    from ragadapt.training import METHODS, routine
    from ragadapt.training.config import load_config, to_dict

    import os

    if args.allow_code:
        os.environ["RAGADAPT_ALLOW_CODE"] = "1"
    from ragadapt.training.validate import check_config

    cfg = load_config(METHODS[args.method][0], args.config, args.overrides)
    check_config(args.method, cfg)  # trainer fields and integrations, before any model loads
    if args.print_config:
        print(yaml.safe_dump(to_dict(cfg), sort_keys=False))
        return 0
    result = routine(args.method)(cfg)
    print(result.summary(args.method))
    return 0
