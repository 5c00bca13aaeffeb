"""ragadapt system show DIR: what a saved system holds, where each component came from, its checksum."""

from __future__ import annotations

from pathlib import Path

HELP = "inspect a saved system (`ragadapt system show DIR`)"


def add_parser(sub) -> None:
    p = sub.add_parser("system", help=HELP, description="Inspect a saved RAG system.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="list the components, their provenance (run, method) and checksums")
    show.add_argument("system", help="a saved system directory")
    show.add_argument("--json", action="store_true", help="print the manifest's components as JSON")
    show.add_argument("--verify", action="store_true", help="also check every file against its checksum")
    merge = actions.add_parser(
        "merge", help="interpolate an adapted component with its base (WiSE-FT): keep most of a gain, lose less "
                      "elsewhere", description="Write a system whose COMPONENT is (1 - alpha) * base + alpha * adapted "
                      "and whose other components are ADAPTED's. --alpha auto tries 0, .25, .5, .75, 1 on the "
                      "hand-written dev-select questions and keeps the best.")
    merge.add_argument("base", help="the system before adaptation (e.g. the routine's input system)")
    merge.add_argument("adapted", help="the adapted system (e.g. OUTPUT_DIR/system of a routine)")
    merge.add_argument("--component", required=True, choices=["generator", "retriever", "reranker", "bridge"],
                       help="the component to merge")
    merge.add_argument("--alpha", default="auto", help="weight of the adapted weights in [0, 1], or auto (default)")
    merge.add_argument("--out", required=True, help="the merged system's directory")
    merge.add_argument("--dev", default="dev-select", help="questions that choose alpha with --alpha auto: dev-select "
                       "(default), dev-select:1 / :2, or a QA .jsonl")
    merge.add_argument("--limit", type=int, default=None, help="use the first N dev questions (faster)")
    merge.add_argument("--tolerance", type=float, default=None,
                       help="with --alpha auto: the largest alpha scoring at most this much (0.01 = 1 point) below "
                            "alpha 0, instead of the best-scoring one (a routine's merge_tolerance)")
    merge.add_argument("--overwrite", action="store_true", help="replace --out when it exists")


def run(args) -> int:
    if args.action == "merge":
        return run_merge(args)
    import json

    from ragadapt.manifest import read_manifest
    from ragadapt.system import KIND, describe

    manifest = read_manifest(args.system, KIND, verify_hashes=True if args.verify else False)
    if args.json:
        print(json.dumps({"config": manifest["config"], "components": manifest["components"]}, indent=2))
    else:
        print(describe(args.system))
        if args.verify:
            print(f"  all {len(manifest['files'])} files match their checksums")
    return 0


def run_merge(args) -> int:
    from ragadapt.cli.common import prepare_out
    from ragadapt.errors import DataFormatError
    from ragadapt.training.merge import merge_auto, merge_systems
    from ragadapt.training.retrieval.evaluation import dev_examples

    for name in ("base", "adapted"):
        if not (Path(getattr(args, name)) / "manifest.json").is_file():
            raise DataFormatError(f"{getattr(args, name)} is not a saved system (no manifest.json): give the "
                                  f"directory a routine wrote (OUTPUT_DIR/system) or `ragadapt build` made",
                                  field=name.upper())
    prepare_out(args.out, args.overwrite, "a system")
    if args.alpha == "auto":
        examples = dev_examples(args.dev)[: args.limit]
        out, alpha, scores = merge_auto(args.base, args.adapted, args.component, args.out, examples,
                                        tolerance=args.tolerance)
        print("alpha on " + args.dev + ": " + ", ".join(f"{a:g} -> {100 * s:.1f}" for a, s in scores.items()))
    else:
        try:
            alpha = float(args.alpha)
        except ValueError as e:
            raise DataFormatError(f"--alpha must be a number in [0, 1] or auto, got {args.alpha!r}") from e
        out = merge_systems(args.base, args.adapted, args.component, alpha, args.out)
    print(f"merged {args.component} at alpha {alpha:g}: {out}")
    return 0
